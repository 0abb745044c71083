"""An in-memory camera the simulator page feeds: frames are pushed in, the gate reads them out.

Feeds are named, and the registry that holds them belongs to the service that creates it (there is
no process-wide registry). A feed keeps only the latest few frames, so a page that pushes faster than
the gate reads cannot grow memory.
"""

from __future__ import annotations

import queue
import threading
from typing import Self

import numpy as np

from drivers.camera.base import DEFAULT_TIMEOUT, Camera, CameraConfig
from drivers.errors import DriverConfigError

MAX_QUEUED = 8


class PushedFeed:
    def __init__(self) -> None:
        self._frames: queue.Queue[np.ndarray] = queue.Queue(maxsize=MAX_QUEUED)

    def push(self, frame: np.ndarray) -> None:
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError("A pushed frame must be an (h, w, 3) uint8 RGB array.")
        while True:
            try:
                self._frames.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self._frames.get_nowait()  # drop the oldest: the gate wants what is in front of it now
                except queue.Empty:
                    pass

    def take(self, timeout: float) -> np.ndarray | None:
        try:
            return self._frames.get(timeout=timeout)
        except queue.Empty:
            return None

    def clear(self) -> None:
        while True:
            try:
                self._frames.get_nowait()
            except queue.Empty:
                return


class PushedFeeds:
    """Named feeds, created on first use."""

    def __init__(self) -> None:
        self._feeds: dict[str, PushedFeed] = {}
        self._lock = threading.Lock()

    def feed(self, name: str) -> PushedFeed:
        with self._lock:
            return self._feeds.setdefault(name, PushedFeed())


class PushedCamera(Camera):
    def __init__(self, feed: PushedFeed, name: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(timeout)
        self.feed = feed
        self.label = f"simulated camera '{name}'"

    @classmethod
    def from_config(cls, config: CameraConfig) -> Self:
        """``pushed:NAME``, fed through ``config.feeds``."""
        if not config.rest:
            raise DriverConfigError(f"A pushed camera needs a feed name, e.g. pushed:gate-1; got {config.source!r}.")
        if config.feeds is None:
            raise DriverConfigError(
                "A pushed camera needs the simulator's feeds; it is only available in the simulator."
            )
        return cls(config.feeds.feed(config.rest), config.rest, config.timeout)

    def _open(self) -> None:
        self.feed.clear()  # frames pushed before this attempt started belong to nobody's attempt

    def _read(self) -> np.ndarray | None:
        # Wait a little less than the caller does, so an empty feed ends as "stopped delivering frames".
        return self.feed.take(self.timeout * 0.9)

    def _close(self) -> None:
        self.feed.clear()
