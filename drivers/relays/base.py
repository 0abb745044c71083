"""The relay-board interface: pulse an output, hold an output, read inputs, report health.

Every backend only implements five primitives (connect, disconnect, write one output,
read inputs, read outputs).  Those primitives run exclusively on the board's worker thread,
which owns the port; callers only queue requests.  That keeps pulse timing (the "off" half
of a pulse) independent of whoever asked for the pulse, and it means a lost link can never
leave two threads fighting over one serial port.

A board whose ``pulse_timing`` is "board" times pulses itself: the pulse is one command and the
board ends it, so neither a dead service nor a cut cable can leave the output released.  With
"host" timing the worker writes the end of the pulse, and only while the process lives and the
link works.
"""

from __future__ import annotations

import abc
import concurrent.futures
import functools
import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, TypeVar

from drivers.backoff import Backoff
from drivers.errors import DeviceClosed, RelayError, RelayLinkLost, RelayProtocolError

if TYPE_CHECKING:
    from drivers.config import RelayConfig

T = TypeVar("T")


class _NotYet(RelayLinkLost):
    """The link is down and the back-off has not elapsed: fail fast without a new attempt."""


@dataclass(frozen=True)
class BoardHealth:
    backend: str
    port: str | None
    connected: bool
    last_error: str | None
    reconnects: int
    failures: int
    #: The level each output was last commanded to (None: never commanded by this process).
    commanded: tuple[bool | None, ...]
    #: Outputs whose "back to rest" write failed and will be retried as soon as the link returns.
    pending_rest: tuple[int, ...]
    #: "board": the board ends pulses itself; "host": this process writes the end of each pulse.
    pulse_timing: str = "host"


class RelayBoard(abc.ABC):
    """A board with ``outputs`` relays and ``inputs`` digital inputs.

    Construction never touches the hardware.  ``open()`` connects but writes nothing: starting
    (or restarting) the service must never click a relay.
    """

    backend = "abstract"
    #: False when the board cannot report its outputs (LCUS boards are write-only).
    can_read_outputs = True
    #: "board" when pulses are one command the board ends itself (see ``_write_pulse``).
    pulse_timing = "host"

    def __init__(
        self,
        *,
        outputs: int,
        inputs: int,
        port: str | None = None,
        backoff: Backoff | None = None,
        request_timeout: float = 5.0,
    ) -> None:
        if outputs < 1:
            raise ValueError("a relay board needs at least one output")
        self.outputs = outputs
        self.inputs = inputs
        self.port = port
        self._backoff = backoff or Backoff()
        self._request_timeout = request_timeout
        self._requests: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future]] = (
            queue.SimpleQueue()
        )
        # (deadline, seq, channel, rest_level): the second half of pulses.
        self._timers: list[tuple[float, int, int, bool]] = []
        self._seq = itertools.count()
        self._pending_rest: dict[int, bool] = {}
        self._commanded: list[bool | None] = [None] * outputs
        # channel -> (monotonic end, rest level) of a pulse the board is timing.
        self._board_pulses: dict[int, tuple[float, bool]] = {}
        self._board_pulse_checked = False
        self._connected = False
        self._retry_at = 0.0
        self._last_error: str | None = None
        self._reconnects = 0
        self._failures = 0
        self._ever_connected = False
        self._state = "new"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: RelayConfig) -> Self:
        """A closed board for a parsed ``[relay]`` section (see drivers.relays.RELAYS)."""

    # -- backend primitives (worker thread only) -----------------------------------------
    @abc.abstractmethod
    def _connect(self) -> None:
        """Open the link; raise RelayLinkLost if the board cannot be reached."""

    @abc.abstractmethod
    def _disconnect(self) -> None: ...

    @abc.abstractmethod
    def _write_output(self, channel: int, on: bool) -> None: ...

    @abc.abstractmethod
    def _read_inputs(self) -> tuple[bool, ...]: ...

    def _read_outputs(self) -> tuple[bool, ...]:
        raise RelayError(f"{self.backend} boards cannot report their outputs")

    def _write_pulse(self, channel: int, ms: int, level: bool) -> None:
        """One command after which the board holds ``level`` for ``ms`` and then returns by itself."""
        raise RelayError(f"{self.backend} boards cannot time a pulse themselves")

    # -- lifecycle ------------------------------------------------------------------------
    def open(self) -> RelayBoard:
        if self._state == "open":
            return self
        if self._state == "closed":
            raise DeviceClosed(f"{self.backend} relay board on {self.port} is closed")
        self._state = "open"
        self._thread = threading.Thread(target=self._run, name=f"relay-{self.backend}", daemon=True)
        self._thread.start()
        try:
            self._call(lambda: None)  # first connection attempt; failure is reported, not raised
        except RelayLinkLost:
            pass
        return self

    def close(self) -> None:
        """Stop the worker and release the port without touching any output."""
        if self._state != "open":
            self._state = "closed"
            return
        self._state = "closed"
        self._stop.set()
        self._requests.put((lambda: None, concurrent.futures.Future()))
        if self._thread is not None:
            self._thread.join(10)
        if self._connected:
            self._drop_link(None)

    @property
    def closed(self) -> bool:
        return self._state == "closed"

    def __enter__(self) -> RelayBoard:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public operations ----------------------------------------------------------------
    def pulse(self, channel: int, ms: int, level: bool = True) -> None:
        """Drive ``channel`` to ``level`` now and back to ``not level`` after ``ms``.

        Returns once the first write has been acknowledged.  The return write is owned by
        the worker, and if it fails it is retried on every reconnect until it succeeds.
        """
        self._check_channel(channel)
        if ms <= 0:
            raise ValueError("pulse length must be positive")
        if self.pulse_timing == "board":
            self._call(lambda: self._board_pulse(channel, ms, level))
            return

        def op() -> None:
            self._cancel_timers(channel)
            self._write(channel, level)
            heapq.heappush(
                self._timers, (time.monotonic() + ms / 1000, next(self._seq), channel, not level)
            )

        self._call(op)

    def hold(self, channel: int, on: bool) -> None:
        """Set ``channel`` steadily (cancels a pulse in progress on it)."""
        self._check_channel(channel)

        def op() -> None:
            self._cancel_timers(channel)
            self._pending_rest.pop(channel, None)
            self._write(channel, on)
            pulse = self._board_pulses.pop(channel, None)
            if pulse is not None and pulse[0] > time.monotonic():
                # Whether a plain write cancels the board's own timer is not documented for any
                # board: assume it does not, and assert the held level again once the timer ran out.
                heapq.heappush(self._timers, (pulse[0] + 0.05, next(self._seq), channel, on))

        self._call(op)

    def read_inputs(self) -> tuple[bool, ...]:
        return self._call(self._read_inputs)

    def pulse_in_progress(self, channel: int) -> bool:
        """True while a pulse on ``channel`` should still be running (by either timing)."""
        board = self._board_pulses.get(channel)
        if board is not None and board[0] > time.monotonic():
            return True
        return any(t[2] == channel for t in list(self._timers))

    def read_outputs(self) -> tuple[bool, ...]:
        return self._call(self._read_outputs)

    def health(self) -> BoardHealth:
        commanded = list(self._commanded)
        now = time.monotonic()
        for channel, (end, rest) in list(self._board_pulses.items()):
            if end <= now:
                commanded[channel] = rest
        return BoardHealth(
            backend=self.backend,
            port=self.port,
            connected=self._connected,
            last_error=self._last_error,
            reconnects=self._reconnects,
            failures=self._failures,
            commanded=tuple(commanded),
            pending_rest=tuple(sorted(self._pending_rest)),
            pulse_timing=self.pulse_timing,
        )

    # -- worker ---------------------------------------------------------------------------
    def _check_channel(self, channel: int) -> None:
        if not 0 <= channel < self.outputs:
            raise ValueError(f"output {channel} does not exist (board has {self.outputs})")

    def _call(self, op: Callable[[], T]) -> T:
        if self._state != "open":
            raise DeviceClosed(f"{self.backend} relay board on {self.port} is not open")
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._requests.put((op, fut))
        try:
            return fut.result(self._request_timeout)
        except concurrent.futures.TimeoutError:
            raise RelayLinkLost(f"{self.backend} board on {self.port}: request timed out") from None

    def _write(self, channel: int, on: bool) -> None:
        self._write_output(channel, on)
        self._commanded[channel] = on

    def _board_pulse(self, channel: int, ms: int, level: bool) -> None:
        self._cancel_timers(channel)
        self._pending_rest.pop(channel, None)
        self._write_pulse(channel, ms, level)
        self._commanded[channel] = level
        self._board_pulses[channel] = (time.monotonic() + ms / 1000, not level)
        if not self._board_pulse_checked and self.can_read_outputs and ms >= 500:
            # Some boards acknowledge the flash command without having it: see once that the
            # relay really moved, or the door would stay locked with every grant "succeeding".
            if self._read_outputs()[channel] != level:
                raise RelayProtocolError(
                    f"The {self.backend} board on {self.port} acknowledged the pulse command but relay "
                    f"{channel + 1} did not switch; set pulse_mode = \"host\" in [relay]."
                )
            self._board_pulse_checked = True

    def _cancel_timers(self, channel: int) -> None:
        self._timers = [t for t in self._timers if t[2] != channel]
        heapq.heapify(self._timers)

    def _drop_link(self, error: BaseException | None) -> None:
        if error is not None:
            self._failures += 1
            self._last_error = str(error) or type(error).__name__
        self._connected = False
        try:
            self._disconnect()
        except Exception:  # noqa: BLE001 - closing a dead port may fail in any way
            pass
        self._retry_at = time.monotonic() + self._backoff.next_delay()

    def _guarded(self, op: Callable[[], T]) -> T:
        """Run ``op`` on a live link, (re)connecting first when the back-off allows it."""
        try:
            if not self._connected:
                self._reconnect()
            return op()
        except _NotYet:
            raise
        except RelayLinkLost as exc:
            self._drop_link(exc)
            raise

    def _reconnect(self) -> None:
        if time.monotonic() < self._retry_at:
            # Not a new failure: do not push the back-off further out.
            raise _NotYet(f"{self.backend} board on {self.port} is unreachable: {self._last_error}")
        self._connect()
        self._connected = True
        if self._ever_connected:
            self._reconnects += 1
        self._ever_connected = True
        self._backoff.reset()
        # Outputs that should have gone back to rest while we were blind go there first.
        self._flush_pending()

    def _flush_pending(self) -> None:
        for channel, level in list(self._pending_rest.items()):
            self._write(channel, level)
            del self._pending_rest[channel]

    def _run(self) -> None:
        while True:
            self._fire_due_timers()
            timeout = None
            if self._timers:
                timeout = max(0.0, self._timers[0][0] - time.monotonic())
            if self._pending_rest:
                wait = max(0.0, self._retry_at - time.monotonic())
                timeout = wait if timeout is None else min(timeout, wait)
            try:
                op, fut = self._requests.get(timeout=timeout)
            except queue.Empty:
                if self._pending_rest and time.monotonic() >= self._retry_at:
                    try:
                        self._guarded(self._flush_pending)
                    except Exception:  # noqa: BLE001 - retried below, on the back-off schedule
                        if time.monotonic() >= self._retry_at:
                            self._retry_at = time.monotonic() + self._backoff.next_delay()
                continue
            if self._stop.is_set():
                fut.cancel()
                self._drain()
                self._finish_pulses_now()
                return
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(self._guarded(op))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                fut.set_exception(exc)

    def _fire_due_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, channel, level = heapq.heappop(self._timers)
            try:
                self._guarded(functools.partial(self._write, channel, level))
            except Exception:  # noqa: BLE001 - whatever failed, the "off" must be retried
                self._pending_rest[channel] = level

    def _finish_pulses_now(self) -> None:
        """On close, a pulse in progress ends early rather than outliving the service."""
        now = time.monotonic()
        for channel, (end, rest) in list(self._board_pulses.items()):
            if end > now:
                try:
                    self._guarded(functools.partial(self._write, channel, rest))
                except RelayError:
                    pass  # the board ends it by itself
        self._board_pulses.clear()
        for _, _, channel, level in sorted(self._timers):
            try:
                self._guarded(functools.partial(self._write, channel, level))
            except RelayError:
                pass
        self._timers.clear()

    def _drain(self) -> None:
        while True:
            try:
                _, fut = self._requests.get_nowait()
            except queue.Empty:
                return
            fut.cancel()
