"""Key rotation as a background job, so the web UI never runs the batch loop inside a request."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from gate.errors import GateError
from gate.secrets.keys import KeyStore
from gate.store import rotation


@dataclass(frozen=True)
class RotationStatus:
    running: bool = False
    done: int = 0
    total: int = 0
    result: str = ""
    error: str = ""


class KeyRotationJob:
    """At most one rotation at a time per process; the status is a snapshot others may read."""

    def __init__(self, sessions: sessionmaker[Session], key_file: KeyStore) -> None:
        self._sessions = sessions
        self._key_file = key_file
        self._lock = threading.Lock()
        self._status = RotationStatus()
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> RotationStatus:
        with self._lock:
            return self._status

    def start(self, actor: str) -> bool:
        """Start a rotation; False when one is already running."""
        with self._lock:
            if self._status.running:
                return False
            self._status = RotationStatus(running=True)
            self._thread = threading.Thread(target=self._run, args=(actor,), name="key-rotation", daemon=True)
            self._thread.start()
            return True

    def wait(self, timeout: float) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.status.running

    def _progress(self, done: int, total: int) -> None:
        with self._lock:
            self._status = RotationStatus(running=True, done=done, total=total)

    def _run(self, actor: str) -> None:
        try:
            report = rotation.rotate(self._sessions, self._key_file, actor=actor, progress=self._progress)
            result = f"master key is now {report.new_key_id}; re-wrapped {report.rewrapped} data keys"
            if report.resumed:
                result += " (finished an interrupted rotation)"
            final = RotationStatus(done=report.rewrapped, total=report.rewrapped, result=result)
        except GateError as err:
            final = RotationStatus(error=str(err))
        except Exception as err:  # noqa: BLE001 - reported on the settings page; running it again resumes
            final = RotationStatus(
                error=f"rotation stopped ({type(err).__name__}: {err}); nothing is lost, run it again to finish"
            )
        with self._lock:
            self._status = final
