"""Cameras for the face attempt. Open with `open_camera(spec)`; use as a context manager so the
device is held only for the length of one face transaction.

Frames are RGB uint8 arrays in memory. Nothing here writes, logs or sends them anywhere.
"""

from drivers.camera.base import DEFAULT_TIMEOUT, Camera, CameraUnavailable
from drivers.camera.factory import open_camera
from drivers.camera.pushed import PushedFeeds

__all__ = ["DEFAULT_TIMEOUT", "Camera", "CameraUnavailable", "PushedFeeds", "open_camera"]
