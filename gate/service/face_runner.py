"""The face worker: one thread beside the gate's loop for everything that opens the camera.

A face attempt (camera burst + verification, ~0.3-1 s) and the frames for enrollment at the gate run
here, one at a time, never on the event loop nor in a web request. An attempt's result is posted back
as `FaceVerified`; a card presented meanwhile is handled at once and the result arrives stale.
"""

from __future__ import annotations

import concurrent.futures
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gate.core import machine as m
from gate.core.decision import FaceOutcome
from gate.core.policy import GatePolicy
from gate.face.errors import FaceUnavailable
from gate.face.liveness import for_enrollment
from gate.service import kiosk_text
from gate.service.face_check import LIVENESS_BURST, FaceCheck
from gate.service.metrics import GateMetrics

#: How long the operator UI waits for enrollment frames before giving up.
FRAMES_TIMEOUT = 30.0


@dataclass(frozen=True)
class EnrollmentBurst:
    """Frames in the order taken, and the liveness challenge they must pass (never "none")."""

    frames: list[np.ndarray]
    liveness: str


class FaceRunner:
    def __init__(self, face: FaceCheck | None, post: Callable[[m.Event], None],
                 metrics: GateMetrics | None = None) -> None:
        self.face = face
        self._post = post
        self._metrics = metrics
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="face")
        self._cancel = threading.Event()
        self._lock = threading.Lock()  # guards the two fields snapshot() reads from web threads
        self._camera_on = False
        self._challenge: str | None = None
        self._challenge_line: kiosk_text.Text | None = None

    def warm_up(self) -> None:
        if self.face is not None:
            self._executor.submit(self.face.warm_up)

    def start(self, effect: m.StartFace, policy: GatePolicy | None) -> None:
        """Begin an attempt for the transaction `effect.token`; its outcome comes back as `FaceVerified`."""
        self._cancel = cancel = threading.Event()
        face = self.face
        if face is None or policy is None:
            self._post(m.FaceVerified(effect.token, FaceOutcome.UNAVAILABLE))
            return
        # A head turn's direction is drawn per attempt, so a recording cannot know it in advance.
        direction = secrets.choice(("left", "right")) if policy.liveness == "head_turn" else None
        with self._lock:
            self._challenge = kiosk_text.challenge_text(policy.liveness, direction)
            self._challenge_line = kiosk_text.challenge_line(policy.liveness, direction)

        metrics = self._metrics

        def job() -> None:
            started = time.perf_counter()
            outcome = face.run(effect.claim, policy, cancel, direction)
            if metrics is not None:
                metrics.face_verification(outcome, time.perf_counter() - started)
            self._post(m.FaceVerified(effect.token, outcome))

        self._executor.submit(job)

    def cancel(self) -> None:
        """Abandon the running attempt: its result would be stale anyway, and the camera closes sooner."""
        self._cancel.set()

    def frames(self, n: int) -> list[np.ndarray]:
        """Frames for enrollment at the gate camera, taken on the face worker (the caller waits)."""
        if self.face is None or self.face.camera_factory is None:
            raise FaceUnavailable("this gate has no camera configured")

        face = self.face
        assert face is not None
        return self._executor.submit(face.capture, n).result(timeout=FRAMES_TIMEOUT)

    def enrollment_burst(self, policy: GatePolicy | None) -> EnrollmentBurst:
        """A burst for enrollment at the gate camera, long enough for the gate's challenge (a blink
        if the gate has none, or if its policy cannot be read). The operator, standing beside the
        resident, asks for the blink or turn (the capture page says which); no direction is drawn."""
        mode = for_enrollment(policy.liveness if policy is not None else "none")
        return EnrollmentBurst(self.frames(LIVENESS_BURST), mode.value)

    def check_key(self) -> None:
        """The periodic key-file check, on the face worker (it reads a file: not on the loop)."""
        if self.face is not None:
            self._executor.submit(self.face.check_key)

    def set_camera(self, on: bool) -> None:
        with self._lock:
            self._camera_on = on

    @property
    def camera_on(self) -> bool:
        with self._lock:
            return self._camera_on

    @property
    def challenge(self) -> str | None:
        with self._lock:
            return self._challenge

    @property
    def challenge_line(self) -> kiosk_text.Text | None:
        """The challenge for the screen, translated there."""
        with self._lock:
            return self._challenge_line

    def stop(self) -> None:
        self._cancel.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
