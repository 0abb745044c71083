"""The face half of a transaction, run on the service's face worker, never on the event loop.

Only the runtime calls this; the camera is opened here and nowhere else (never in a web request).
Anything that goes wrong becomes FaceOutcome.UNAVAILABLE, which the decision turns into a refusal
with card/PIN offered: bad input never becomes "open".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from drivers.camera.base import CameraDevice
from gate.access.sql_directory import resolve_claim
from gate.core.claims import Claim
from gate.core.decision import FaceOutcome
from gate.core.policy import GatePolicy
from gate.errors import GateError
from gate.face.errors import FaceUnavailable
from gate.service.status import CameraStatus, FaceModelStatus
from gate.store.db import transaction
from gate.store.face_templates import TemplateStore

if TYPE_CHECKING:
    # Only for the annotation: the engine (dlib, cv2) is imported where it is first used.
    from gate.face.engine import FaceEngine

log = logging.getLogger("gate.service.face")

BURST = 5
#: A blink or a head turn needs the burst to last a moment (~0.5 s at 30 fps).
LIVENESS_BURST = 15


@dataclass
class FaceStats:
    camera_opens: int = 0
    frames_read: int = 0
    attempts: int = 0
    last_error: str | None = None


class FaceCheck:
    """Camera burst + 1:1 verification against the claimed resident's template."""

    def __init__(self, sessions: sessionmaker[Session], store: TemplateStore,
                 camera_factory: Callable[[], CameraDevice] | None, engine: FaceEngine | None,
                 on_camera: Callable[[bool], None] = lambda on: None) -> None:
        self.sessions = sessions
        self.store = store
        self.camera_factory = camera_factory
        self.engine = engine
        self.on_camera = on_camera
        self.stats = FaceStats()
        self._model = FaceModelStatus("loading")
        self._lock = threading.Lock()  # one camera user at a time

    def warm_up(self) -> None:
        """Load the model once at start (on the face worker), so /health can report it without loading it."""
        if self.engine is None:
            self._model = FaceModelStatus("disabled")
            return
        try:
            self.engine.load()
            self._model = FaceModelStatus("ready", version=str(self.engine.model_version))
        except FaceUnavailable as err:
            self._model = FaceModelStatus("unavailable", detail=str(err))

    def model_state(self) -> FaceModelStatus:
        return self._model

    def camera_status(self, on: bool) -> CameraStatus:
        return CameraStatus("on" if on else "off", opens=self.stats.camera_opens,
                            frames_read=self.stats.frames_read, last_error=self.stats.last_error)

    def run(self, claim: Claim, policy: GatePolicy, cancel: threading.Event,
            direction: str | None = None) -> FaceOutcome:
        with self._lock:
            self.stats.attempts += 1
            try:
                return self._run(claim, policy, cancel, direction)
            except (FaceUnavailable, GateError) as err:
                self.stats.last_error = str(err)
                log.info("face unavailable: %s", err)
                return FaceOutcome.UNAVAILABLE
            except Exception as err:
                self.stats.last_error = f"{type(err).__name__}: {err}"
                log.exception("face attempt failed")
                return FaceOutcome.UNAVAILABLE

    def _run(self, claim: Claim, policy: GatePolicy, cancel: threading.Event, direction: str | None) -> FaceOutcome:
        if self.engine is None or self.camera_factory is None:
            raise FaceUnavailable("face is not configured on this gate")
        self.warm_up()
        if self._model.state != "ready":
            raise FaceUnavailable(self._model.detail or "the face model is not available")
        with self.sessions() as session:
            resident = resolve_claim(session, claim)
            # Decrypting the template before the camera opens: a missing key file or a broken
            # template ends the attempt here, and no frame is taken for nothing.
            if resident is None or self.store.load(session, resident) is None:
                return FaceOutcome.UNAVAILABLE
        if cancel.is_set():
            return FaceOutcome.UNAVAILABLE
        camera = self.camera_factory()
        self.stats.camera_opens += 1
        self.on_camera(True)
        try:
            with camera:
                frames = camera.burst(BURST if policy.liveness == "none" else LIVENESS_BURST)
                self.stats.frames_read += len(frames)
        finally:
            self.on_camera(False)
        if cancel.is_set():
            return FaceOutcome.UNAVAILABLE
        from gate.face.service import FaceService

        service = FaceService(self.store, self.engine)
        with transaction(self.sessions) as session:
            resident = resolve_claim(session, claim)
            if resident is None:
                return FaceOutcome.UNAVAILABLE
            verdict = service.verify(session, resident, frames, policy.face_threshold, policy.liveness,
                                     direction=direction)
        if verdict.outcome is not FaceOutcome.MATCH:
            self.stats.last_error = "; ".join(verdict.reasons) or None
        return verdict.outcome
