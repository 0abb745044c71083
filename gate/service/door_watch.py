"""Door events -> alarms, the turnstile's passage, what gets recorded; and the held-open timer.

Door events carry a `drivers.door.DoorEventKind`; the held-open timer's own input uses the same kind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from drivers.door import DoorEventKind as K
from gate.service.controls import DoorInput


@dataclass(frozen=True)
class DoorReaction:
    raise_alarms: frozenset[str] = frozenset()
    clear_alarms: frozenset[str] = frozenset()
    passage: bool = False
    record: str | None = None  # the event kind to record; None: not recorded
    arm_held_open: bool = False
    cancel_held_open: bool = False


def door_reaction(kind: str) -> DoorReaction:
    """What one door event means for the gate. Pure. `kind` is a DoorEventKind (a StrEnum, so the
    plain word matches too)."""
    match kind:
        case K.FIRE_ALARM:
            return DoorReaction(raise_alarms=frozenset({"fire_alarm"}), record=kind)
        case K.FIRE_ALARM_CLEARED:
            return DoorReaction(clear_alarms=frozenset({"fire_alarm"}), record=kind)
        case K.LINK_LOST:
            return DoorReaction(raise_alarms=frozenset({"relay_offline"}), record=kind)
        case K.LINK_RESTORED:
            return DoorReaction(clear_alarms=frozenset({"relay_offline"}), record=kind)
        case K.DOOR_FORCED:
            return DoorReaction(raise_alarms=frozenset({"door_forced"}), record=kind, arm_held_open=True)
        case K.DOOR_OPENED:
            return DoorReaction(record=kind, arm_held_open=True)
        case K.DOOR_CLOSED:
            return DoorReaction(clear_alarms=frozenset({"door_held_open", "door_forced"}), record=kind,
                                cancel_held_open=True)
        case K.HELD_OPEN:
            return DoorReaction(raise_alarms=frozenset({"door_held_open"}), record=kind)
        case K.PASSAGE:
            return DoorReaction(passage=True, record=kind)
        case K.PASSAGE_TIMEOUT:
            return DoorReaction(record="granted_not_used")
        case K.GRANTED:
            # The decision that caused it is already recorded.
            return DoorReaction()
        case _:
            return DoorReaction(record=kind)


class DoorWatch:
    """Turns door events into reactions and keeps the held-open timer (it posts a `held_open` door input)."""

    def __init__(self, held_open_seconds: float, post: Callable[[DoorInput], None]) -> None:
        self.held_open_seconds = held_open_seconds
        self._post = post
        self._timer: threading.Timer | None = None

    def react(self, kind: str) -> DoorReaction:
        reaction = door_reaction(kind)
        if reaction.arm_held_open or reaction.cancel_held_open:
            self.stop()
        if reaction.arm_held_open:
            note = DoorInput("held_open", f"door open longer than {self.held_open_seconds:g} s")
            self._timer = threading.Timer(self.held_open_seconds, self._post, args=(note,))
            self._timer.daemon = True
            self._timer.start()
        return reaction

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
