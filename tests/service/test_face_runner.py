"""FaceRunner on its own: attempts and enrollment frames on the face worker, the camera indicator and
the liveness challenge. The camera is the drivers' pushed feed (what `gate serve --simulate` uses)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from drivers.camera import PushedFeeds, open_camera
from drivers.camera.base import Camera
from gate.context import GateContext
from gate.core import machine as m
from gate.core.claims import Claim, ClaimKind
from gate.core.decision import FaceOutcome
from gate.core.policy import GatePolicy, Method
from gate.face.errors import FaceUnavailable
from gate.service.face_check import FaceCheck
from gate.service.face_runner import FaceRunner

CLAIM = Claim(ClaimKind.CODE, "1001")
FACE_POLICY = GatePolicy(gate_id=1, name="main", methods=frozenset({Method.CARD, Method.FACE}), liveness="head_turn")


@pytest.fixture
def posted() -> queue.SimpleQueue[m.Event]:
    return queue.SimpleQueue()


@pytest.fixture
def runner_with_camera(installation: GateContext,
                       posted: queue.SimpleQueue[m.Event]) -> Iterator[tuple[FaceRunner, PushedFeeds, list[str]]]:
    feeds = PushedFeeds()
    opened_on: list[str] = []

    def camera_factory() -> Camera:
        opened_on.append(threading.current_thread().name)
        return open_camera("pushed:gate", timeout=10.0, feeds=feeds)

    runners: list[FaceRunner] = []
    # No face engine: an attempt ends as "unavailable" before any camera opens, as on a gate without a model.
    face = FaceCheck(installation.sessions, installation.store, camera_factory, None,
                     on_camera=lambda on: runners[0].set_camera(on))
    runner = FaceRunner(face, posted.put)
    runners.append(runner)
    yield runner, feeds, opened_on
    runner.stop()


def test_without_face_an_attempt_is_unavailable_at_once_and_there_are_no_frames(
        posted: queue.SimpleQueue[m.Event]) -> None:
    runner = FaceRunner(None, posted.put)
    try:
        runner.start(m.StartFace(3, CLAIM), FACE_POLICY)
        assert posted.get_nowait() == m.FaceVerified(3, FaceOutcome.UNAVAILABLE)
        with pytest.raises(FaceUnavailable, match="no camera configured"):
            runner.frames(3)
        assert runner.challenge is None and not runner.camera_on
    finally:
        runner.stop()


def test_an_attempt_runs_on_the_face_worker_and_posts_its_outcome_with_a_fresh_challenge(
        runner_with_camera: tuple[FaceRunner, PushedFeeds, list[str]], posted: queue.SimpleQueue[m.Event]) -> None:
    runner, _, opened_on = runner_with_camera
    runner.start(m.StartFace(5, CLAIM), FACE_POLICY)
    assert posted.get(timeout=10) == m.FaceVerified(5, FaceOutcome.UNAVAILABLE)
    assert runner.challenge in {"Turn your head to the left, then look back.",
                                "Turn your head to the right, then look back."}
    assert opened_on == []  # unavailable before the camera: no frame is taken for nothing
    runner.start(m.StartFace(6, CLAIM), None)  # no policy loaded: unavailable, nothing run
    assert posted.get_nowait() == m.FaceVerified(6, FaceOutcome.UNAVAILABLE)


def test_enrollment_frames_are_taken_on_the_face_worker_with_the_indicator_on(
        runner_with_camera: tuple[FaceRunner, PushedFeeds, list[str]]) -> None:
    runner, feeds, opened_on = runner_with_camera
    feed = feeds.feed("gate")
    frame = np.zeros((48, 64, 3), dtype=np.uint8)
    indicator: list[bool] = []
    stop = threading.Event()

    def world() -> None:
        while not stop.wait(1 / 30):
            indicator.append(runner.camera_on)
            feed.push(frame)

    pusher = threading.Thread(target=world, daemon=True)
    pusher.start()
    try:
        frames = runner.frames(3)
    finally:
        stop.set()
        pusher.join(5)
    assert len(frames) == 3 and frames[0].shape == frame.shape
    assert opened_on and opened_on[0].startswith("face")
    assert True in indicator and not runner.camera_on



@pytest.mark.parametrize(("policy", "expected"), [(FACE_POLICY, "head_turn"), (None, "blink"),
                                                  (GatePolicy(gate_id=1, name="main", methods=frozenset({Method.CARD}),
                                                              liveness="none"), "blink")])
def test_an_enrollment_burst_is_long_enough_for_a_challenge_and_never_without_one(
        runner_with_camera: tuple[FaceRunner, PushedFeeds, list[str]], policy: GatePolicy | None,
        expected: str) -> None:
    from gate.service.face_check import LIVENESS_BURST

    runner, feeds, _ = runner_with_camera
    feed = feeds.feed("gate")
    stop = threading.Event()

    def world() -> None:
        while not stop.wait(1 / 60):
            feed.push(np.zeros((48, 64, 3), dtype=np.uint8))

    pusher = threading.Thread(target=world, daemon=True)
    pusher.start()
    try:
        burst = runner.enrollment_burst(policy)
    finally:
        stop.set()
        pusher.join(5)
    assert burst.liveness == expected and len(burst.frames) == LIVENESS_BURST
