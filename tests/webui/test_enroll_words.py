"""Enrollment feedback in words: a verdict with reasons in the operator's language and a quality bar, and
camera failures said for people with the detail in the log."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask_babel import refresh

from gate.face import quality
from gate.face.enroll import NOT_LIVE, NOT_SAME_PERSON, TOO_FEW
from gate.face.errors import FaceUnavailable
from webui import enroll_words

GOOD = {"mean_face_px": 220.0, "mean_sharpness": 90.0, "mean_brightness": 130.0, "mean_yaw_ratio": -0.05,
        "mean_eye_ratio": 0.3, "spread": 0.0, "accepted": 2.0}


@pytest.fixture
def in_request(app: Flask):
    with app.test_request_context():
        yield


def _chinese() -> None:
    from flask import g

    g.locale = "zh_Hans_CN"
    refresh()


def test_a_good_enrollment_reads_good_with_a_full_bar_and_no_numbers(in_request) -> None:
    judged = enroll_words.verdict(True, [], GOOD)
    assert judged.good and judged.headline == "Good: the face is enrolled." and judged.score is not None
    assert judged.score >= 90 and judged.score_words.startswith("Picture quality:")
    poor = enroll_words.quality_score({**GOOD, "mean_brightness": 52.0, "mean_yaw_ratio": -0.482,
                                       "mean_face_px": 101.0})
    assert poor is not None and poor < judged.score - 30


def test_a_retake_says_what_to_change_in_the_operators_language(in_request) -> None:
    reasons = [TOO_FEW.format(accepted=0, needed=1)]
    frames = [[quality.TOO_DARK, quality.TOO_SMALL], [quality.MANY_FACES], [quality.NOT_FRONTAL]]
    judged = enroll_words.verdict(False, reasons, {}, frames)
    assert not judged.good and judged.score is None and judged.headline == "Retake the pictures."
    assert judged.reasons == ["not enough good pictures: 0 accepted, 1 needed", quality.TOO_DARK, quality.TOO_SMALL,
                              quality.MANY_FACES, quality.NOT_FRONTAL]
    _chinese()
    judged = enroll_words.verdict(False, reasons, {}, frames)
    assert judged.headline == "请重新拍摄。" and judged.reasons == [
        "合格照片不够：合格 0 张，需要 1 张", "太暗：请在面部前方补光", "人脸太小：请靠近一些",
        "画面中有两张人脸：摄像头前请只留一人", "请正视摄像头"]
    assert enroll_words.reason_words(NOT_SAME_PERSON).startswith("这些照片看起来不是同一个人")
    live = NOT_LIVE.format(mode="blink", reason="no blink seen")
    assert enroll_words.reason_words(live).startswith("未通过活体检测（眨眼）")


def test_a_camera_that_stops_is_said_in_words_and_the_detail_goes_to_the_log(in_request, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="webui.enroll_words"):
        words = enroll_words.camera_problem(FaceUnavailable("simulated camera 'gate' stopped delivering frames"))
    assert words == "The camera stopped sending pictures; check its cable and try again, or upload photos."
    assert "stopped delivering frames" in caplog.text and "simulated" not in words
    assert enroll_words.camera_problem(FaceUnavailable("this gate has no camera configured")).startswith(
        "This controller has no gate camera")
    assert "log says why" in enroll_words.camera_problem(FaceUnavailable("dlib cannot be imported: boom"))


def test_the_gate_camera_route_shows_the_words_not_the_drivers_detail(gctx) -> None:
    from gate.store.models import OperatorRole
    from tests.webui.conftest import AuthActions
    from tests.webui.helpers import add_resident, grant
    from webui import create_app

    class Runtime:
        def enrollment_burst(self):
            raise FaceUnavailable("simulated camera 'gate' stopped delivering frames")

    auth = AuthActions(create_app(gctx, config={"TESTING": True}, gate_runtime=Runtime()).test_client(), gctx)
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    response = auth.post("/residents/A101/face/gate-camera", {}, token_from="/residents/A101/face/capture")
    page = auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The camera stopped sending pictures; check its cable" in page and "stopped delivering" not in page
