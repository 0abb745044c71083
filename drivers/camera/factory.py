"""`open_camera(spec)`: one string in the gate's config picks the backend.

    device:0                    V4L2/USB device index
    rtsp://host/stream          network stream (also rtsps://, http://, https://)
    file:/path/video.mp4        a video file
    folder:/path                a folder of images (the simulated camera)
    pushed:NAME                 frames pushed in by the simulator page (needs `feeds`)

The camera comes back closed: it opens when the face transaction enters `with camera:`.
"""

from __future__ import annotations

from drivers.camera.base import DEFAULT_TIMEOUT, Camera
from drivers.camera.folder import FolderCamera
from drivers.camera.opencv_backend import OpenCVCamera
from drivers.camera.pushed import PushedCamera, PushedFeeds
from gate.errors import ConfigError

STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")


def open_camera(spec: str, timeout: float = DEFAULT_TIMEOUT, feeds: PushedFeeds | None = None) -> Camera:
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("No camera configured: set [camera] source, e.g. \"device:0\" or \"folder:/path\".")
    spec = spec.strip()
    kind, _, rest = spec.partition(":")
    if spec.lower().startswith(STREAM_SCHEMES):
        return OpenCVCamera(spec, timeout)
    if kind == "device":
        if not rest.isdigit():
            raise ConfigError(f"Camera device must be a number, e.g. device:0; got {spec!r}.")
        return OpenCVCamera(int(rest), timeout)
    if kind == "file" and rest:
        return OpenCVCamera(rest, timeout)
    if kind == "folder" and rest:
        return FolderCamera(rest, timeout)
    if kind == "pushed" and rest:
        if feeds is None:
            raise ConfigError("A pushed camera needs the simulator's feeds; it is only available in the simulator.")
        return PushedCamera(feeds.feed(rest), rest, timeout)
    raise ConfigError(
        f"Unknown camera {spec!r}: use device:N, rtsp://..., http://..., file:PATH, folder:PATH or pushed:NAME."
    )
