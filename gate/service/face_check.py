"""The face half of a transaction, run on the service's face worker, never on the event loop.

Only the runtime calls this; the camera is opened here and nowhere else (never in a web request).
Anything that goes wrong becomes FaceOutcome.UNAVAILABLE, which the decision turns into a refusal
with card/PIN offered: bad input never becomes "open".

Faults of the face hardware and secrets are alarms, raised where the fault is seen and cleared where
it is seen gone: `camera_fault` (the camera does not open or read; cleared by the next good burst),
`face_model_unavailable` (the model does not load; cleared when it does), `key_file_fault` (the
master key file missing, unreadable or readable by others when a template is decrypted or the key
is checked at start and with every cache refresh; cleared by the next good read); at a gate of a
site (docs/keys.md) the same fault of its site key slot is `site_key` (revoked, waiting for approval,
not opening with this gate's key).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from drivers.camera.base import CameraDevice
from drivers.errors import CameraError
from gate.access.sql_directory import resolve_claim
from gate.core.claims import Claim
from gate.core.decision import FaceOutcome
from gate.core.policy import GatePolicy
from gate.errors import GateError, KeyUnavailableError
from gate.face.errors import FaceUnavailable
from gate.service.status import CameraStatus, FaceModelStatus
from gate.store.db import transaction
from gate.store.face_templates import TemplateStore

if TYPE_CHECKING:
    # Only for the annotation: the engine (dlib, cv2) is imported where it is first used.
    from gate.face.engine import FaceEngine

log = logging.getLogger("gate.service.face")

CAMERA_FAULT, MODEL_UNAVAILABLE, KEY_FILE_FAULT = "camera_fault", "face_model_unavailable", "key_file_fault"

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
                 on_camera: Callable[[bool], None] = lambda on: None,
                 on_alarm: Callable[[str, bool], None] = lambda name, on: None) -> None:
        self.sessions = sessions
        self.store = store
        self.camera_factory = camera_factory
        self.engine = engine
        self.on_camera = on_camera
        self.on_alarm = on_alarm
        self.stats = FaceStats()
        self._model = FaceModelStatus("loading")
        self._lock = threading.Lock()  # one camera user at a time
        self._key_alarm_logged = False

    def warm_up(self) -> None:
        """Load the model once at start (on the face worker), so /health can report it without loading it."""
        if self.engine is None:
            self._model = FaceModelStatus("disabled")
            return
        try:
            self.engine.load()
            self._model = FaceModelStatus("ready", version=str(self.engine.model_version),
                                          engine=self.engine.encoder_name, engine_fallback=self.engine.fallback_reason)
        except FaceUnavailable as err:
            self._model = FaceModelStatus("unavailable", detail=str(err))
        self.on_alarm(MODEL_UNAVAILABLE, self._model.state == "unavailable")

    def check_key(self) -> None:
        """Read the master key file (start-up and every cache refresh) and set `key_file_fault` by it.
        Only a gate that does face needs the key; without a face engine there is nothing to check."""
        if self.engine is None:
            return
        try:
            self.store.key_file.load()
        except KeyUnavailableError as err:
            self._key_fault(err)
        else:
            self.on_alarm(self._key_alarm, False)

    @property
    def _key_alarm(self) -> str:
        """`key_file_fault` for the local key file, `site_key` for a site's key slot."""
        return getattr(self.store.key_file, "alarm", KEY_FILE_FAULT)

    def _key_fault(self, err: KeyUnavailableError) -> None:
        if not self._key_alarm_logged:
            log.warning("key file fault: %s", err)
        self._key_alarm_logged = True
        self.on_alarm(self._key_alarm, True)

    def capture(self, count: int) -> list[np.ndarray]:
        """Open the camera, take a burst, close it; a camera that fails raises `camera_fault`, a good
        burst clears it and the last error shown on /health."""
        assert self.camera_factory is not None
        self.on_camera(True)
        try:
            try:
                camera = self.camera_factory()
                self.stats.camera_opens += 1
                with camera:
                    frames = camera.burst(count)
            except (FaceUnavailable, CameraError) as err:
                self.on_alarm(CAMERA_FAULT, True)
                raise FaceUnavailable(str(err)) from err
        finally:
            self.on_camera(False)
        self.stats.frames_read += len(frames)
        self.stats.last_error = None
        self.on_alarm(CAMERA_FAULT, False)
        return frames

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
            try:
                template = self.store.load(session, resident) if resident is not None else None
            except KeyUnavailableError as err:
                self._key_fault(err)
                raise
            if resident is None or template is None:
                return FaceOutcome.UNAVAILABLE
        self.on_alarm(self._key_alarm, False)
        if cancel.is_set():
            return FaceOutcome.UNAVAILABLE
        frames = self.capture(BURST if policy.liveness == "none" else LIVENESS_BURST)
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
