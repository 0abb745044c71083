"""Cameras for the face attempt. Open with `open_camera(spec)`; use as a context manager so the
device is held only for the length of one face transaction.

Frames are RGB uint8 arrays in memory. Nothing here writes, logs or sends them anywhere.
Importing this package does not load OpenCV; the OpenCV backend does, when a capture opens.
"""

from drivers.camera.base import DEFAULT_TIMEOUT, Camera, CameraConfig, CameraDevice
from drivers.camera.factory import CAMERAS, open_camera
from drivers.camera.pushed import PushedFeeds
from drivers.errors import CameraError, CameraUnavailable

__all__ = ["CAMERAS", "DEFAULT_TIMEOUT", "Camera", "CameraConfig", "CameraDevice", "CameraError",
           "CameraUnavailable", "PushedFeeds", "open_camera"]
