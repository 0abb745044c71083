"""An operator's timed "keep open" and "lock down" of this gate's door, on the gate loop.

* Keep open: a hold on the door controller (`DoorController.hold`), withdrawn at its end time by a timer
  that posts to the loop, when an operator ends it, and when the service stops. The controller's own
  rules stay in charge: a lost link is reasserted locked when it comes back, a restart reads the output
  back and only ever drives it locked, so no fault leaves the door released.
* Lock down: every card, PIN and face decision at this gate is refused (`Reason.LOCKDOWN`) before the
  pipeline runs -- no camera opens -- until its end time. The exit button still opens (people must be
  able to leave) and the fire alarm still releases the door: the controller puts fire first.

Both are audited before they take effect (`RemoteOpener.audited`); starting one ends the other. Neither
is stored: a restart ends them, leaving the door locked and the gate taking credentials as usual.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from drivers.door import DoorDevice
from gate.clock import Clock
from gate.service.controls import Override, OverrideEnds
from gate.service.remote_open import RemoteOpener

log = logging.getLogger("gate.service")

KEEP_OPEN = "keep_open"
LOCK_DOWN = "lock_down"
END = "end"
#: The shortest and longest keep open or lock down an operator may set in one go (a minute, a night shift).
MIN_SECONDS = 60
MAX_SECONDS = 12 * 3600
AUDIT_ACTIONS = {KEEP_OPEN: "door.keep_open", LOCK_DOWN: "door.lock_down", END: "door.override_end"}


@runtime_checkable
class HoldableDoor(Protocol):
    """A door that can be held released (drivers.door.DoorController and the simulator's door are)."""

    def hold(self, reason: str) -> None: ...

    def unhold(self, reason: str) -> None: ...


@dataclass(frozen=True)
class ActiveOverride:
    action: str
    actor: str
    reason: str
    until: datetime
    serial: int

    def as_dict(self) -> dict[str, object]:
        return {"action": self.action, "actor": self.actor, "reason": self.reason, "until": self.until.isoformat()}


class DoorOverride:
    """`apply(Override)` and `ended(OverrideEnds)` from the loop; `current()` from any thread."""

    def __init__(self, door: DoorDevice | None, remote: RemoteOpener, post: Callable[[OverrideEnds], None],
                 clock: Clock, record: Callable[[str, str], None]) -> None:
        self.door = door
        self.remote = remote
        self._post = post
        self.clock = clock
        self._record = record
        self._lock = threading.Lock()
        self._active: ActiveOverride | None = None
        self._timer: threading.Timer | None = None
        self._serial = 0
        self.min_seconds: float = MIN_SECONDS  # tests shorten it to see an override end by itself

    def current(self) -> ActiveOverride | None:
        with self._lock:
            return self._active

    def locked_down(self) -> bool:
        active = self.current()
        return active is not None and active.action == LOCK_DOWN

    def apply(self, command: Override) -> str | None:
        """Carry out the command; None when done, else the sentence that says why not. Replies too."""
        refusal = self._apply(command)
        if command.reply is not None:
            command.reply.put(refusal)
        return refusal

    def _apply(self, command: Override) -> str | None:
        if command.action not in AUDIT_ACTIONS:
            return f"Unknown door command {command.action!r}: use keep_open, lock_down or end."
        if not command.reason.strip():
            return "Give a reason: it goes into the audit log with your name."
        if command.action != END and not self.min_seconds <= command.seconds <= MAX_SECONDS:
            return f"Choose a duration between 1 minute and {MAX_SECONDS // 3600} hours."
        if command.action == KEEP_OPEN and not isinstance(self.door, HoldableDoor):
            return "This gate's door cannot be held open from here."
        if command.action == END:
            if self.current() is None:
                return "Nothing to end: the door is neither kept open nor locked down."
        else:
            refusal = self.remote.refusal(command.actor)
            if refusal is not None:
                return refusal
        refusal = self.remote.audited(command.actor, AUDIT_ACTIONS[command.action], reason=command.reason,
                                      minutes=round(command.seconds / 60))
        if refusal is not None:
            return refusal
        self._end(f"{command.actor}: {command.reason}" if command.action == END else "replaced")
        if command.action == END:
            return None
        self._serial += 1
        until = self.clock() + timedelta(seconds=command.seconds)
        active = ActiveOverride(command.action, command.actor, command.reason, until, self._serial)
        if command.action == KEEP_OPEN:
            assert isinstance(self.door, HoldableDoor)
            try:
                self.door.hold(self._hold_name(active))
            except Exception as err:  # noqa: BLE001 - a stopped or broken door: nothing is held
                log.warning("keep open by %s failed: %s", command.actor, err)
                return "The door controller is not running, so the door could not be kept open."
        with self._lock:
            self._active = active
        self._timer = threading.Timer(command.seconds, self._post, args=(OverrideEnds(active.serial),))
        self._timer.daemon = True
        self._timer.start()
        self._record(command.action, f"{command.actor}: {command.reason} (until {until.isoformat(timespec='seconds')})")
        return None

    def ended(self, event: OverrideEnds) -> None:
        """Its timer fired: end it unless an operator already replaced it."""
        active = self.current()
        if active is not None and active.serial == event.serial:
            self._end("time is up")

    def stop(self) -> None:
        """The service stops: withdraw the hold before the door controller lets go of the board."""
        self._end("service stopping")

    def _end(self, why: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        with self._lock:
            active, self._active = self._active, None
        if active is None:
            return
        if active.action == KEEP_OPEN and isinstance(self.door, HoldableDoor):
            try:
                self.door.unhold(self._hold_name(active))
            except Exception as err:  # noqa: BLE001 - a stopped controller holds nothing any more
                log.warning("ending keep open: %s", err)
        self._record(f"{active.action}_ended", why)

    @staticmethod
    def _hold_name(active: ActiveOverride) -> str:
        return f"keep open by {active.actor} #{active.serial}"
