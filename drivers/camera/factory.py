"""`open_camera(spec)`: one string in the gate's config picks the backend.

    device:0                    V4L2/USB device index
    rtsp://host/stream          network stream (also rtsps://, http://, https://)
    file:/path/video.mp4        a video file
    folder:/path                a folder of images (the simulated camera)
    pushed:NAME                 frames pushed in by the simulator page (needs `feeds`)

The part before the first colon chooses the backend through ``CAMERAS``; the backend's
``from_config`` reads the rest.  The camera comes back closed: it opens when the face
transaction enters `with camera:`.
"""

from __future__ import annotations

from drivers.camera.base import DEFAULT_TIMEOUT, Camera, CameraConfig
from drivers.camera.pushed import PushedFeeds
from drivers.errors import DriverConfigError
from drivers.registry import Registry

_OPENCV = "drivers.camera.opencv_backend:OpenCVCamera"

CAMERAS: Registry[Camera] = Registry("camera", Camera, {
    "device": _OPENCV, "file": _OPENCV,
    "rtsp": _OPENCV, "rtsps": _OPENCV, "http": _OPENCV, "https": _OPENCV,
    "folder": "drivers.camera.folder:FolderCamera",
    "pushed": "drivers.camera.pushed:PushedCamera",
})


def open_camera(spec: str, timeout: float = DEFAULT_TIMEOUT, feeds: PushedFeeds | None = None) -> Camera:
    if not isinstance(spec, str) or not spec.strip():
        raise DriverConfigError("No camera configured: set [camera] source, e.g. \"device:0\" or \"folder:/path\".")
    config = CameraConfig(spec.strip(), timeout, feeds)
    if config.scheme not in CAMERAS or not (config.rest or config.scheme == "device"):
        raise DriverConfigError(
            f"Unknown camera {config.source!r}: use device:N, rtsp://..., http://..., file:PATH, folder:PATH "
            "or pushed:NAME."
        )
    return CAMERAS.load(config.scheme).from_config(config)
