"""The service deletes face data past its retention itself: once at start, then every day.

Retention is a promise the product keeps, not a cron line someone has to remember (R3). The purge runs
on this collaborator's own thread with its own session, so a slow or locked database never holds up
the gate loop; the loop is never told about it. Each run writes its counts to the audit log as
`gate purge` does, under the actor "service".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gate.clock import Clock
from gate.store import retention
from gate.store.db import transaction

log = logging.getLogger("gate.service")

SERVICE_ACTOR = "service"
DAY_SECONDS = 24 * 3600.0
#: After a failed run (database away), try again sooner than a day; retention must not slip by a day.
RETRY_SECONDS = 600.0


class Purger:
    def __init__(self, sessions: sessionmaker[Session], site_days: Callable[[], int], clock: Clock,
                 interval_seconds: float = DAY_SECONDS, retry_seconds: float = RETRY_SECONDS,
                 forbid_minors: Callable[[], bool] = lambda: False, timezone: str = "UTC") -> None:
        self.sessions = sessions
        self.site_days = site_days
        # Read at each run: switching [site] forbid_face_for_minors on deletes minors' face data next time.
        self.forbid_minors = forbid_minors
        self.timezone = timezone
        self.clock = clock
        self.interval_seconds = interval_seconds
        self.retry_seconds = min(retry_seconds, interval_seconds)
        self.last_report: retention.PurgeReport | None = None
        self.runs = 0  # finished runs, successful or not
        self._stop = threading.Event()
        self._ran = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="gate:purger", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def wait_for_runs(self, count: int, timeout: float) -> bool:
        """Until `count` runs have finished (tests, and `gate serve` shutting down cleanly)."""
        with self._ran:
            return self._ran.wait_for(lambda: self.runs >= count, timeout)

    def run_once(self) -> retention.PurgeReport | None:
        try:
            with transaction(self.sessions) as session:
                report = retention.purge(session, site_days=self.site_days(), actor=SERVICE_ACTOR, now=self.clock(),
                                         forbid_minors=self.forbid_minors(), timezone=self.timezone)
        except SQLAlchemyError as err:
            log.warning("retention purge failed, retrying in %.0f s: %s", self.retry_seconds, err)
            return None
        except Exception:  # the thread must survive to try again: retention must not stop silently
            log.exception("retention purge failed, retrying in %.0f s", self.retry_seconds)
            return None
        if report.total:
            log.info("retention purge deleted %d face templates (%s)", report.total, report)
        self.last_report = report
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            report = self.run_once()
            with self._ran:
                self.runs += 1
                self._ran.notify_all()
            self._stop.wait(self.interval_seconds if report is not None else self.retry_seconds)
