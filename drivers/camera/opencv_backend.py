"""OpenCV capture: a V4L2/USB device index, an RTSP or HTTP stream URL, or a video file."""

from __future__ import annotations

from urllib.parse import urlsplit

import cv2
import numpy as np

from drivers.camera.base import DEFAULT_TIMEOUT, Camera, CameraUnavailable


class OpenCVCamera(Camera):
    def __init__(self, source: int | str, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(timeout)
        self.source = source
        self.label = _label(source)
        self.live = isinstance(source, int) or "://" in source
        self._capture: cv2.VideoCapture | None = None

    def _open(self) -> None:
        ms = int(self.timeout * 1000)
        # Also tell the backend itself, so a stalled stream gives up on its own and frees the thread.
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        capture = cv2.VideoCapture(self.source, cv2.CAP_ANY, params)
        if not capture.isOpened():
            capture.release()
            raise CameraUnavailable(f"{self.label} could not be opened")
        self._capture = capture

    def _read(self) -> np.ndarray | None:
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        if not ok or frame is None or frame.ndim != 3:
            return None
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

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
