"""OpenCV capture: a V4L2/USB device index, an RTSP or HTTP stream URL, or a video file.

cv2 is imported when a capture opens, not with this module: it takes a long time to load and the
gate only needs it once it really uses such a camera.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

import numpy as np

from drivers.camera.base import DEFAULT_TIMEOUT, Camera, CameraConfig, CameraUnavailable
from drivers.errors import DriverConfigError

if TYPE_CHECKING:
    import cv2

#: Schemes whose whole source string is handed to OpenCV as a URL.
STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")


class OpenCVCamera(Camera):
    def __init__(self, source: int | str, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(timeout)
        self.source = source
        self.label = _label(source)
        self.live = isinstance(source, int) or "://" in source
        self._capture: cv2.VideoCapture | None = None

    @classmethod
    def from_config(cls, config: CameraConfig) -> Self:
        """``device:N``, ``file:PATH`` or a stream URL (rtsp://, rtsps://, http://, https://)."""
        if config.scheme in STREAM_SCHEMES and config.rest.startswith("//"):
            return cls(config.source.strip(), config.timeout)
        if config.scheme == "device":
            if not config.rest.isdigit():
                raise DriverConfigError(f"Camera device must be a number, e.g. device:0; got {config.source!r}.")
            return cls(int(config.rest), config.timeout)
        if config.scheme == "file" and config.rest:
            return cls(config.rest, config.timeout)
        raise DriverConfigError(
            f"OpenCV cameras take device:N, file:PATH or a stream URL; got {config.source!r}."
        )

    def _open(self) -> None:
        import cv2

        ms = int(self.timeout * 1000)
        # Also tell the backend itself, so a stalled stream gives up on its own and frees the thread.
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        capture = cv2.VideoCapture(self.source, cv2.CAP_ANY, params)
        if not capture.isOpened():
            capture.release()
            raise CameraUnavailable(f"{self.label} could not be opened")
        self._capture = capture

    def _read(self) -> np.ndarray | None:
        import cv2

        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        if not ok or frame is None or frame.ndim != 3:
            return None
        rgb: np.ndarray = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        return rgb

    def _close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def _label(source: int | str) -> str:
    if isinstance(source, int):
        return f"camera device {source}"
    parts = urlsplit(source)
    if parts.scheme and parts.hostname:
        # Never echo user:password@ from a stream URL into a message or log.
        port = f":{parts.port}" if parts.port else ""
        return f"camera stream {parts.scheme}://{parts.hostname}{port}"
    return "camera video file"
