"""The service deletes face data past its retention itself: once at start, then every day; and it
finishes every deletion within minutes by rotating the master key (the follow-up, gate.store.upkeep).

Retention is a promise the product keeps, not a cron line someone has to remember (R3). The daily run
applies the deletion ledger, purges and follows up (`gate purge` does the same by hand); between runs,
every few minutes, a cheap check starts the follow-up as soon as any deletion (an operator's, a kiosk's,
another process's) asked for one (R1, R4). All of it runs on this collaborator's own thread with its own
sessions, so a slow or locked database never holds up the gate loop; the loop is never told about it.
Each run writes its counts to the audit log under the actor "service".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from gate.clock import Clock
from gate.config.sections import DEFAULT_VISITOR_RETENTION_DAYS
from gate.errors import GateError
from gate.store.upkeep import Upkeep, UpkeepReport

log = logging.getLogger("gate.service")

SERVICE_ACTOR = "service"
DAY_SECONDS = 24 * 3600.0
#: After a failed run (database away), try again sooner than a day; retention must not slip by a day.
RETRY_SECONDS = 600.0
#: How soon after a deletion the master key is rotated: deletions in a burst share one rotation.
FOLLOW_UP_SECONDS = 300.0


class Purger:
    def __init__(self, upkeep: Upkeep, site_days: Callable[[], int], clock: Clock,
                 interval_seconds: float = DAY_SECONDS, retry_seconds: float = RETRY_SECONDS,
                 follow_up_seconds: float = FOLLOW_UP_SECONDS,
                 forbid_minors: Callable[[], bool] = lambda: False, timezone: str = "UTC",
                 visitor_days: Callable[[], int] = lambda: DEFAULT_VISITOR_RETENTION_DAYS) -> None:
        self.upkeep = upkeep
        self.site_days = site_days
        self.visitor_days = visitor_days  # read at each run, like site_days (a site-wide setting)
        # Read at each run: switching [site] forbid_face_for_minors on deletes minors' face data next time.
        self.forbid_minors = forbid_minors
        self.timezone = timezone
        self.clock = clock
        self.interval_seconds = interval_seconds
        self.retry_seconds = min(retry_seconds, interval_seconds)
        self.follow_up_seconds = min(follow_up_seconds, self.retry_seconds)
        self.last_report: UpkeepReport | None = None
        self.follow_ups = 0  # rotations started by the between-runs check
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

    def run_once(self) -> UpkeepReport | None:
        try:
            report = self.upkeep.run(site_days=self.site_days(), actor=SERVICE_ACTOR, now=self.clock(),
                                     forbid_minors=self.forbid_minors(), timezone=self.timezone,
                                     visitor_days=self.visitor_days())
        except (SQLAlchemyError, GateError) as err:
            log.warning("retention purge failed, retrying in %.0f s: %s", self.retry_seconds, err)
            return None
        except Exception:  # the thread must survive to try again: retention must not stop silently
            log.exception("retention purge failed, retrying in %.0f s", self.retry_seconds)
            return None
        if report.purge is not None and report.purge.total:
            log.info("retention purge deleted %d face templates (%s)", report.purge.total, report.purge)
        self.last_report = report
        return report

    def follow_up_once(self) -> bool:
        """Rotate now if a deletion asked for it. True when a rotation ran."""
        try:
            return self.upkeep.follow_up(actor=SERVICE_ACTOR) is not None
        except (SQLAlchemyError, GateError) as err:
            log.warning("deletion follow-up (key rotation) failed, retrying in %.0f s: %s",
                        self.follow_up_seconds, err)
        except Exception:  # the thread must survive: the next check tries again
            log.exception("deletion follow-up (key rotation) failed")
        return False

    def _loop(self) -> None:
        while not self._stop.is_set():
            report = self.run_once()
            with self._ran:
                self.runs += 1
                self._ran.notify_all()
            due = time.monotonic() + (self.interval_seconds if report is not None else self.retry_seconds)
            while not self._stop.wait(self.follow_up_seconds):
                if self.follow_up_once():
                    self.follow_ups += 1
                if time.monotonic() >= due:
                    break
