"""The one camera interface, and the time bound every backend inherits.

``CameraDevice`` is what the gate relies on (a context manager that reads frames); ``Camera`` is the
base every backend derives from, and a backend is built from a ``CameraConfig`` by its
``from_config`` (see drivers.camera.factory for the registry that picks it).

A camera that hangs (an RTSP server that accepts and then says nothing, a USB device that stalls) must
end the face attempt as "face unavailable" within `timeout` seconds and never hold up card or PIN. So
the backend's blocking calls run on a private daemon thread and the caller waits on it with a timeout;
a call that overruns is abandoned and the device is released by that thread when the call returns.
"""

from __future__ import annotations

import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar, runtime_checkable

import numpy as np

from drivers.errors import CameraUnavailable

if TYPE_CHECKING:
    from drivers.camera.pushed import PushedFeeds

DEFAULT_TIMEOUT = 3.0
RELEASE_WAIT = 1.0
T = TypeVar("T")

__all__ = ["DEFAULT_TIMEOUT", "Camera", "CameraConfig", "CameraDevice", "CameraUnavailable"]


@runtime_checkable
class CameraDevice(Protocol):
    """What the face check needs of a camera: held open only inside ``with``, frames as RGB arrays.

    Every failure is a ``CameraError`` (drivers.errors), raised within the camera's time bound."""

    def __enter__(self) -> CameraDevice: ...

    def __exit__(self, *exc: object) -> None: ...

    def read(self) -> np.ndarray: ...

    def burst(self, count: int, spacing: float = 0.0) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class CameraConfig:
    """One ``[camera] source`` string, split at the first colon into backend and the rest."""

    source: str
    timeout: float = DEFAULT_TIMEOUT
    #: The simulator's in-memory feeds; only the pushed backend uses them.
    feeds: PushedFeeds | None = None

    @property
    def scheme(self) -> str:
        return self.source.partition(":")[0].lower()

    @property
    def rest(self) -> str:
        return self.source.partition(":")[2]


class Camera(ABC):
    """open() -> read() ... -> close(); or `with camera:`. Not shared between threads."""

    #: What the camera is, for messages; never includes credentials from a URL.
    label = "camera"
    #: A live source runs at its own pace (device, stream); a file or folder yields frames on demand.
    live = False

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        if not timeout > 0:
            raise ValueError(f"Camera timeout must be positive, got {timeout!r}.")
        self.timeout = timeout
        self._worker: _Worker | None = None
        self._opened = False

    @classmethod
    @abstractmethod
    def from_config(cls, config: CameraConfig) -> Self:
        """The camera ``config.source`` names, closed; DriverConfigError if the rest is malformed."""

    # -- what backends implement; may block --------------------------------------------------------
    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _read(self) -> np.ndarray | None:
        """One RGB frame, or None when the source has ended or failed."""

    @abstractmethod
    def _close(self) -> None: ...

    # -- the interface ----------------------------------------------------------------------------
    def open(self) -> Camera:
        if self._opened:
            return self
        self._worker = _Worker(self.label)
        self._call(self._open, "did not open")
        self._opened = True
        return self

    def read(self) -> np.ndarray:
        if not self._opened:
            raise CameraUnavailable(f"{self.label} is not open")
        frame = self._call(self._read, "delivered no frame")
        if frame is None:
            raise CameraUnavailable(f"{self.label} stopped delivering frames")
        return frame

    def burst(self, count: int, spacing: float = 0.0) -> list[np.ndarray]:
        """`count` frames, all within one timeout: the whole burst is bounded, not each frame.

        `spacing` (seconds) keeps only frames at least that far apart from a live source, reading
        and dropping the ones between so the driver's buffer does not go stale: a blink lasts 100-400
        ms, so a blink challenge wants ~10 frames over ~1.5 s, not 5 frames in 170 ms at 30 fps."""
        deadline = time.monotonic() + self.timeout
        frames: list[np.ndarray] = []
        last = -float("inf")
        while len(frames) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CameraUnavailable(f"{self.label} delivered {len(frames)} of {count} frames in {self.timeout:g} s")
            frame = self._call(self._read, "delivered no frame", remaining)
            if frame is None:
                raise CameraUnavailable(f"{self.label} stopped delivering frames")
            now = time.monotonic()
            if not self.live or now - last >= spacing:
                frames.append(frame)
                last = now
        return frames

    def close(self) -> None:
        """Release the device. Waits (bounded) for the release, so the camera is free when the
        transaction ends; a driver stuck in a call releases as soon as that call returns."""
        worker, self._worker = self._worker, None
        self._opened = False
        if worker is not None:
            worker.finish(self._close).wait(min(self.timeout, RELEASE_WAIT))

    def __enter__(self) -> Camera:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, fn: Callable[[], T], failure: str, timeout: float | None = None) -> T:
        assert self._worker is not None
        limit = self.timeout if timeout is None else timeout
        try:
            return self._worker.run(fn, limit)
        except TimeoutError:
            self.close()
            raise CameraUnavailable(f"{self.label} {failure} within {limit:g} s") from None
        except CameraUnavailable:
            self.close()
            raise
        except Exception as err:  # a driver error is a camera problem, not a crash of the gate
            self.close()
            raise CameraUnavailable(f"{self.label} {failure}: {type(err).__name__}") from err


class _Worker:
    """A daemon thread running one blocking call at a time. Daemon, so a stuck driver call cannot
    keep the process from exiting."""

    def __init__(self, label: str) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], Any], queue.Queue[tuple[bool, Any]]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=f"camera:{label}", daemon=True)
        self._thread.start()

    def run(self, fn: Callable[[], T], timeout: float) -> T:
        reply: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
        self._jobs.put((fn, reply))
        try:
            ok, value = reply.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        if not ok:
            raise value
        return value

    def finish(self, release: Callable[[], None]) -> threading.Event:
        """Queue the release behind whatever is running, then stop. The event is set once released."""
        done = threading.Event()

        def release_then_signal() -> None:
            try:
                release()
            finally:
                done.set()

        self._jobs.put((release_then_signal, queue.Queue(maxsize=1)))
        self._jobs.put(None)
        return done

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, reply = job
            try:
                reply.put((True, fn()))
            except BaseException as err:  # handed to the waiting caller, which decides
                reply.put((False, err))
