"""Camera backends: the file and folder backends for real, a missing device and a silent stream end
as "face unavailable" within the time bound; the service sees camera failures as FaceUnavailable."""

from __future__ import annotations

import socket
import threading
import time

import cv2
import numpy as np
import pytest

from drivers.camera import CAMERAS, CameraDevice, CameraUnavailable, PushedFeeds, open_camera
from drivers.camera.folder import FolderCamera
from drivers.camera.opencv_backend import OpenCVCamera
from drivers.errors import CameraError, DriverConfigError
from gate.errors import ConfigError, GateError
from gate.face.errors import FaceUnavailable
from gate.service.builder import GateCamera, _camera_factory


def _synthetic_video(path, frames=6):
    """Plain grey levels, no faces: the backend is under test, not recognition."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    assert writer.isOpened()
    for level in range(frames):
        writer.write(np.full((120, 160, 3), level * 40, np.uint8))
    writer.release()


def test_video_file_delivers_frames_then_ends(tmp_path):
    video = tmp_path / "clip.avi"
    _synthetic_video(video)
    with open_camera(f"file:{video}", timeout=2) as camera:
        frames = camera.burst(6)
        assert [f.shape for f in frames] == [(120, 160, 3)] * 6
        assert frames[0].mean() < frames[-1].mean()  # in order
        with pytest.raises(CameraUnavailable, match="stopped delivering"):
            camera.read()


def test_device_is_released_when_the_transaction_ends(tmp_path):
    video = tmp_path / "clip.avi"
    _synthetic_video(video)
    camera = open_camera(f"file:{video}")
    assert camera._capture is None  # nothing is opened until the face transaction starts
    with camera:
        assert camera._capture is not None and camera._capture.isOpened()
        camera.read()
    assert camera._capture is None


def test_camera_can_be_reopened_for_the_next_transaction(faces):
    camera = open_camera(f"folder:{faces / 'people' / 'hopkins'}")
    for _ in range(2):
        with camera:
            assert len(camera.burst(2)) == 2


def test_folder_of_real_photos(faces):
    camera = open_camera(f"folder:{faces / 'people' / 'obama'}")
    assert isinstance(camera, FolderCamera)
    with camera:
        frames = camera.burst(4)
    assert all(f.dtype == np.uint8 and f.shape[2] == 3 for f in frames)
    assert frames[0].shape == (1137, 910, 3)  # obama.jpg first: name order


def test_folder_loops_when_asked(faces):
    with FolderCamera(faces / "people" / "hopkins", loop=True) as camera:
        assert len(camera.burst(5)) == 5


def test_folder_that_is_missing_or_empty(tmp_path):
    with pytest.raises(CameraUnavailable, match="not a folder"):
        open_camera(f"folder:{tmp_path / 'absent'}").open()
    with pytest.raises(CameraUnavailable, match="no images"):
        open_camera(f"folder:{tmp_path}").open()


def test_folder_with_a_broken_image(tmp_path):
    (tmp_path / "frame.jpg").write_bytes(b"\xff\xd8\xff" + b"\0" * 100)
    with open_camera(f"folder:{tmp_path}") as camera, pytest.raises(CameraUnavailable, match="not a JPEG"):
        camera.read()


def test_device_that_does_not_exist_is_face_unavailable():
    start = time.monotonic()
    with pytest.raises(CameraUnavailable, match="face unavailable") as caught:
        with open_camera("device:63", timeout=3):
            pass
    assert time.monotonic() - start < 3.5
    assert isinstance(caught.value, CameraError) and not isinstance(caught.value, GateError)


def test_the_service_sees_a_missing_device_as_face_unavailable():
    """The drivers do not know the gate; the service's camera turns their error into its own."""
    with pytest.raises(FaceUnavailable, match="face unavailable: camera device 63 could not be opened") as caught:
        with _camera_factory("device:63", 3, None)():
            pass
    assert isinstance(caught.value.__cause__, CameraUnavailable)


def test_the_service_sees_a_camera_that_stops_as_face_unavailable(tmp_path):
    (tmp_path / "frame.jpg").write_bytes(b"\xff\xd8\xff" + b"\0" * 100)
    camera = _camera_factory(f"folder:{tmp_path}", 1, None)()
    with camera, pytest.raises(FaceUnavailable, match="not a JPEG"):
        camera.burst(2)
    feeds = PushedFeeds()
    with _camera_factory("pushed:g", 0.3, feeds)() as camera:
        with pytest.raises(FaceUnavailable, match="stopped delivering"):
            camera.read()


def test_the_service_sees_a_bad_camera_spec_as_a_config_error():
    with pytest.raises(ConfigError, match="Unknown camera 'usb:0'"):
        _camera_factory("usb:0", 1, None)()


def test_silent_stream_gives_up_within_the_bound():
    """A server that accepts the connection and never answers: the attempt must still end."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held = []
    threading.Thread(target=lambda: held.extend(server.accept() for _ in range(4)), daemon=True).start()
    port = server.getsockname()[1]
    start = time.monotonic()
    try:
        with pytest.raises(CameraUnavailable) as caught:
            with open_camera(f"http://admin:secret@127.0.0.1:{port}/live", timeout=1.0) as camera:
                camera.read()
        assert time.monotonic() - start < 2.5
        assert "secret" not in str(caught.value) and "admin" not in str(caught.value)
    finally:
        server.close()


def test_stalled_backend_call_is_abandoned_within_timeout():
    release = threading.Event()

    class Stuck(OpenCVCamera):
        def _read(self):
            release.wait(10)
            return None

        def _open(self):
            pass

    camera = Stuck(0, timeout=0.3).open()
    start = time.monotonic()
    with pytest.raises(CameraUnavailable, match="within 0.3 s"):
        camera.read()
    assert time.monotonic() - start < 1.0
    release.set()


class _Live(OpenCVCamera):
    """A live source at ~200 fps, without hardware."""

    def _open(self):
        self.count = 0

    def _read(self):
        time.sleep(0.005)
        self.count += 1
        return np.full((8, 8, 3), self.count % 256, np.uint8)

    def _close(self):
        pass


def test_spaced_burst_from_a_live_source():
    camera = _Live(0, timeout=2.0)
    assert camera.live
    with camera:
        start = time.monotonic()
        frames = camera.burst(4, spacing=0.1)
        took = time.monotonic() - start
    assert len(frames) == 4 and took >= 0.3
    assert camera.count > 20  # the frames in between were read and dropped, not left to go stale


def test_spaced_burst_that_cannot_finish_in_time_is_unavailable():
    start = time.monotonic()
    with _Live(0, timeout=0.3) as camera, pytest.raises(CameraUnavailable, match="face unavailable"):
        camera.burst(10, spacing=0.1)
    assert time.monotonic() - start < 1.0


def test_pushed_feed_delivers_what_the_simulator_pushes():
    feeds = PushedFeeds()
    camera = open_camera("pushed:gate-1", timeout=0.5, feeds=feeds)
    with camera:
        frame = np.zeros((48, 64, 3), np.uint8)
        feeds.feed("gate-1").push(frame)
        assert camera.read() is frame
        with pytest.raises(CameraUnavailable, match="stopped delivering"):
            camera.read()  # nothing more pushed
    with pytest.raises(ValueError):
        feeds.feed("gate-1").push(np.zeros((4, 4), np.float32))


def test_pushed_feed_keeps_only_the_latest_frames():
    feeds = PushedFeeds()
    feed = feeds.feed("x")
    for level in range(20):
        feed.push(np.full((8, 8, 3), level, np.uint8))
    assert feed.take(0.1)[0, 0, 0] == 12  # the 8 newest remain


def test_frames_pushed_before_the_attempt_are_dropped():
    feeds = PushedFeeds()
    feeds.feed("g").push(np.zeros((8, 8, 3), np.uint8))
    with open_camera("pushed:g", timeout=0.3, feeds=feeds) as camera, pytest.raises(CameraUnavailable):
        camera.read()


@pytest.mark.parametrize("spec", ["", "device:x", "usb:0", "folder:", "ftp://host/x", "http:host"])
def test_bad_specs_are_config_errors(spec):
    with pytest.raises(DriverConfigError) as caught:
        open_camera(spec)
    assert isinstance(caught.value, ValueError) and str(caught.value).endswith(".")


def test_pushed_needs_feeds():
    with pytest.raises(DriverConfigError, match="simulator"):
        open_camera("pushed:g")


def test_backends_are_chosen_by_scheme_through_the_registry(tmp_path):
    assert {"device", "file", "rtsp", "rtsps", "http", "https", "folder", "pushed"} <= set(CAMERAS.names())
    assert CAMERAS.load("folder") is FolderCamera and CAMERAS.load("rtsp") is OpenCVCamera
    assert isinstance(open_camera("RTSP://cam.local/s"), OpenCVCamera)  # schemes are case-insensitive
    for camera in (open_camera(f"folder:{tmp_path}"), open_camera("pushed:x", feeds=PushedFeeds()),
                   open_camera("device:0"), GateCamera(open_camera("device:0"))):
        assert isinstance(camera, CameraDevice)


def test_spec_kinds():
    assert open_camera("device:0").source == 0
    assert open_camera("rtsp://cam.local/stream").source == "rtsp://cam.local/stream"
    assert open_camera("file:/tmp/v.mp4").source == "/tmp/v.mp4"
