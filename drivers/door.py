"""DoorController: one door (or turnstile) on one relay board.

Rules it enforces, in order of precedence:

1. The fire-alarm input is normally closed; open (alarm or cut wire) holds the door released.
2. Maintenance holds keep the door released until every hold is withdrawn.
3. A grant pulses the release output; a turnstile additionally opens a passage window.
4. Starting and stopping never release anything.  At start the output is read back and only
   ever driven to the *locked* level, and only if it is not already there.
5. A lost link is reported (event + snapshot) and retried with back-off by the board; a
   grant while the link is down fails and the door stays locked.
6. The snapshot says "locked" only when this process knows it: never while the link is down
   ("unknown") nor while the end of a pulse has not been acknowledged by the board or, for a
   board-timed pulse, while the board has not been heard from since the pulse ended
   ("release_pending"); ``state_reason`` says why.

``failure_mode = "secure"`` energises the output to release (power loss = locked);
``"safe"`` energises it to lock (power loss = released, for escape routes).

``DoorDevice`` is the surface the gate runtime relies on; ``DoorController`` is the one
implementation, and the simulator's door is one too.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from drivers.config import DoorConfig
from drivers.errors import DeviceClosed, RelayError, RelayLinkLost
from drivers.relays.base import BoardHealth, RelayBoard

log = logging.getLogger(__name__)


class DoorEventKind(enum.StrEnum):
    """What a door event reports.  The values are what the event log and the audit trail store,
    so they never change; being strings, they compare equal to the plain words."""

    GRANTED = "granted"
    GRANT_FAILED = "grant_failed"
    HOLD = "hold"
    UNHOLD = "unhold"
    RELOCKED_AT_START = "relocked_at_start"
    LINK_LOST = "link_lost"
    LINK_RESTORED = "link_restored"
    FAULT = "fault"
    FIRE_ALARM = "fire_alarm"
    FIRE_ALARM_CLEARED = "fire_alarm_cleared"
    DOOR_OPENED = "door_opened"
    DOOR_CLOSED = "door_closed"
    DOOR_FORCED = "door_forced"
    EXIT_REQUEST = "exit_request"
    PASSAGE = "passage"
    PASSAGE_UNEXPECTED = "passage_unexpected"
    PASSAGE_TIMEOUT = "passage_timeout"
    #: Raised by the service's held-open timer (the controller has no notion of "too long").
    HELD_OPEN = "held_open"


@dataclass(frozen=True)
class DoorEvent:
    kind: DoorEventKind
    detail: str
    at: float


@dataclass(frozen=True)
class DoorSnapshot:
    state: str  # "locked", "pulsed", "release_pending", "held", "unknown"
    link_ok: bool
    fault: str | None
    fire_alarm: bool
    door_open: bool | None
    holds: tuple[str, ...]
    inputs: tuple[bool, ...]
    mode: str
    failure_mode: str
    passages_pending: int
    board: BoardHealth
    #: "board": the relay board ends each pulse itself; "host": this process has to write the end.
    pulse_timing: str = "host"
    #: Why the state is not "locked" when it is "unknown" or "release_pending".
    state_reason: str | None = None


EventCallback = Callable[[DoorEvent], None]


@runtime_checkable
class DoorDevice(Protocol):
    """What the gate runtime drives: events out through ``subscribe``, one ``grant`` per person."""

    def subscribe(self, callback: EventCallback) -> Callable[[], None]: ...

    def start(self) -> DoorDevice: ...

    def stop(self) -> None: ...

    def grant(self, reason: str = "granted") -> bool: ...

    def snapshot(self) -> DoorSnapshot: ...


class DoorController:
    def __init__(
        self,
        board: RelayBoard,
        config: DoorConfig,
        *,
        on_event: EventCallback | None = None,
    ) -> None:
        self.board = board
        self.config = config
        self._release_level = config.failure_mode == "secure"
        self._callbacks: list[EventCallback] = [on_event] if on_event else []
        self._lock = threading.RLock()
        self._holds: set[str] = set()
        self._fire = False
        self._inputs: tuple[bool, ...] = ()
        self._door_open: bool | None = None
        self._applied_release: bool | None = None
        self._pulse_until = 0.0
        self._passage_deadlines: list[float] = []
        self._link_ok: bool | None = None  # None until the first contact attempt
        self._last_contact = float("-inf")  # start of the last poll the board answered
        self._fault: str | None = None
        self._reconciled = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = "new"

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> DoorController:
        if self._state == "closed":
            raise DeviceClosed("door controller was stopped")
        if self._state == "running":
            return self
        self._state = "running"
        self.board.open()
        self._thread = threading.Thread(target=self._supervise, name="door", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop supervising and release the board without driving any output."""
        if self._state != "running":
            self._state = "closed"
            return
        self._state = "closed"
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        self.board.close()

    def __enter__(self) -> DoorController:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def subscribe(self, callback: EventCallback) -> Callable[[], None]:
        with self._lock:
            self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    # -- commands -------------------------------------------------------------------------
    def grant(self, reason: str = "granted") -> bool:
        """Let one person through.  False (and a ``grant_failed`` event) if the door could not be released."""
        self._check_running()
        with self._lock:
            if self._fire or self._holds:
                self._emit(DoorEventKind.GRANTED, f"{reason} (door already held released)")
                return True
            try:
                if not self._reconciled:
                    # Granted before the first poll: settle the start-up read-back first, so that
                    # it cannot mistake this pulse for a release left over from a crash.
                    self._reconcile()
                self.board.pulse(self.config.release_output, self.config.pulse_ms, level=self._release_level)
            except RelayError as exc:
                self._note_link_error(exc)
                self._emit(DoorEventKind.GRANT_FAILED, f"{reason}: {exc}")
                return False
            now = time.monotonic()
            self._pulse_until = now + self.config.pulse_ms / 1000
            if self.config.mode == "turnstile" and self.config.passage_sensor_input is not None:
                self._passage_deadlines.append(now + self.config.passage_window_ms / 1000)
                self._wake.set()
            self._emit(DoorEventKind.GRANTED, reason)
            return True

    def hold(self, reason: str) -> None:
        """Keep the door released (maintenance, event) until ``unhold(reason)``."""
        self._check_running()
        with self._lock:
            self._holds.add(reason)
            self._emit(DoorEventKind.HOLD, reason)
            self._apply()

    def unhold(self, reason: str) -> None:
        self._check_running()
        with self._lock:
            self._holds.discard(reason)
            self._emit(DoorEventKind.UNHOLD, reason)
            self._apply()

    def snapshot(self) -> DoorSnapshot:
        with self._lock:
            now = time.monotonic()
            board = self.board.health()
            state, reason = self._state_now(now, board)
            return DoorSnapshot(
                state=state,
                link_ok=bool(self._link_ok),
                fault=self._fault,
                fire_alarm=self._fire,
                door_open=self._door_open,
                holds=tuple(sorted(self._holds)),
                inputs=self._inputs,
                mode=self.config.mode,
                failure_mode=self.config.failure_mode,
                passages_pending=len(self._passage_deadlines),
                board=board,
                pulse_timing=board.pulse_timing,
                state_reason=reason,
            )

    def _state_now(self, now: float, board: BoardHealth) -> tuple[str, str | None]:
        link_down = None if self._link_ok else (
            f"the link to the relay board is down ({self._fault or 'not yet reached'})")
        if not self._reconciled:
            return "unknown", link_down or "the relay board's outputs have not been read yet"
        if self._fire or self._holds:
            if self._applied_release:
                return "held", None
            return "unknown", link_down or "the release is being written to the board"
        if now < self._pulse_until:
            return "pulsed", None
        if link_down:
            return "unknown", link_down
        ch = self.config.release_output
        if ch in board.pending_rest or board.commanded[ch] not in (None, not self._release_level):
            return "release_pending", "the end of the last pulse has not been acknowledged by the board"
        if board.pulse_timing == "board" and self._last_contact < self._pulse_until:
            return "release_pending", "the board has not been heard from since it was due to end the pulse"
        return "locked", None

    # -- internals ------------------------------------------------------------------------
    def _check_running(self) -> None:
        if self._state != "running":
            raise DeviceClosed("door controller is not running")

    def _emit(self, kind: DoorEventKind, detail: str = "") -> None:
        event = DoorEvent(kind, detail, time.monotonic())
        for callback in list(self._callbacks):
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - a listener must not stop the door
                log.exception("door event listener failed on %s", kind)

    def _note_link_error(self, exc: RelayError) -> None:
        self._fault = str(exc)
        if isinstance(exc, RelayLinkLost) and self._link_ok is not False:
            self._link_ok = False
            # Whatever we held released must be asserted again once the board is back.
            if self._applied_release:
                self._applied_release = None
            self._emit(DoorEventKind.LINK_LOST, str(exc))

    def _apply(self) -> None:
        """Drive the output to what fire alarm and holds require (if it is not already there)."""
        want_release = self._fire or bool(self._holds)
        if not self._reconciled or want_release == self._applied_release:
            return
        level = self._release_level if want_release else not self._release_level
        try:
            self.board.hold(self.config.release_output, level)
        except RelayError as exc:
            self._note_link_error(exc)
            return
        self._applied_release = want_release

    def _reconcile(self) -> None:
        """First contact with the board: read back, and only ever move towards locked."""
        ch = self.config.release_output
        locked = not self._release_level
        if self.board.can_read_outputs:
            current = self.board.read_outputs()[ch]
            if current != locked and not (self._fire or self._holds):
                self.board.hold(ch, locked)
                self._emit(DoorEventKind.RELOCKED_AT_START, f"output {ch} was found released")
        else:
            # Write-only board: repeat the locked command; a relay already there does not move.
            self.board.hold(ch, locked)
        self._applied_release = False
        self._reconciled = True

    def _supervise(self) -> None:
        poll = self.config.poll_ms / 1000
        while not self._stop.is_set():
            try:
                asked_at = time.monotonic()
                inputs = self.board.read_inputs()
                with self._lock:
                    self._last_contact = asked_at
                    if not self._link_ok:
                        was_down = self._link_ok is False
                        self._link_ok = True
                        was_fault, self._fault = self._fault, None
                        if was_down:
                            self._emit(DoorEventKind.LINK_RESTORED, was_fault or "")
                    self._on_inputs(inputs)
                    if not self._reconciled:
                        self._reconcile()
                    self._apply()
            except RelayError as exc:
                with self._lock:
                    if isinstance(exc, RelayLinkLost):
                        self._note_link_error(exc)
                    else:
                        self._fault = str(exc)
                        self._emit(DoorEventKind.FAULT, str(exc))
            except DeviceClosed:
                return
            except Exception as exc:  # noqa: BLE001 - report and keep supervising
                log.exception("door supervisor")
                with self._lock:
                    self._fault = f"internal error: {exc}"
                    self._emit(DoorEventKind.FAULT, self._fault)
            self._check_passages()
            self._wake.wait(poll)
            self._wake.clear()

    def _on_inputs(self, inputs: tuple[bool, ...]) -> None:
        cfg = self.config
        previous, self._inputs = self._inputs, inputs
        first = not previous

        def edge(index: int | None) -> tuple[bool | None, bool] | None:
            if index is None or index >= len(inputs):
                return None
            before = None if first else previous[index]
            return before, inputs[index]

        if (e := edge(cfg.fire_alarm_input)) is not None:
            fire = not e[1]
            if fire != self._fire:
                self._fire = fire
                self._emit(DoorEventKind.FIRE_ALARM if fire else DoorEventKind.FIRE_ALARM_CLEARED,
                           "fire-alarm loop open: door held released" if fire else "fire-alarm loop closed")
        if (e := edge(cfg.door_sensor_input)) is not None:
            door_open = not e[1]
            if door_open != self._door_open:
                if self._door_open is not None or door_open:
                    released = self._fire or self._holds or time.monotonic() < self._pulse_until + 1.0
                    kind = DoorEventKind.DOOR_OPENED if door_open else DoorEventKind.DOOR_CLOSED
                    if door_open and not released:
                        kind = DoorEventKind.DOOR_FORCED
                    self._emit(kind)
                self._door_open = door_open
        if (e := edge(cfg.exit_button_input)) is not None and e[0] is False and e[1]:
            self._emit(DoorEventKind.EXIT_REQUEST)
            if self._reconciled:
                try:
                    self.grant("exit button")
                except DeviceClosed:
                    pass
        if (e := edge(cfg.passage_sensor_input)) is not None and e[0] is False and e[1]:
            if self._passage_deadlines:
                self._passage_deadlines.pop(0)
                self._emit(DoorEventKind.PASSAGE)
            else:
                self._emit(DoorEventKind.PASSAGE_UNEXPECTED, "passage sensor without a grant")

    def _check_passages(self) -> None:
        with self._lock:
            now = time.monotonic()
            while self._passage_deadlines and self._passage_deadlines[0] <= now:
                self._passage_deadlines.pop(0)
                self._emit(DoorEventKind.PASSAGE_TIMEOUT, "nobody passed within the passage window")
