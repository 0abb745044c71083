"""The site watch: picks up site-wide settings changed at another gate, and compares clocks.

Every few seconds, on its own thread (a slow database never holds up the gate loop), it reads the
site settings' version number and, when it moved, the settings themselves (GateContext.refresh_site_settings):
the access pipeline reads them at its next decision, the purger at its next run. In the same poll it
measures this gate's clock against the database server's; past `[gate] max_clock_skew_seconds` the
`clock_skew` alarm is raised on /health. Lock-outs and the rest of the shared state use the database's
time anyway; the alarm is for what still uses the gate's clock (the times events show, the offline copy
while the database is away, the kiosk and face timers).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from gate.config.sitewide import RESTART_KEYS
from gate.context import GateContext
from gate.service.runtime import GateRuntime
from gate.store import site_clock

log = logging.getLogger(__name__)

CLOCK_SKEW = "clock_skew"
#: How often a gate looks for changed site settings and measures its clock.
POLL_SECONDS = 5.0


class SiteWatch:
    def __init__(self, ctx: GateContext, set_alarm: Callable[[str, bool], None], *, max_skew_seconds: float,
                 interval: float = POLL_SECONDS) -> None:
        self.ctx = ctx
        self.set_alarm = set_alarm
        self.max_skew = max_skew_seconds
        self.interval = interval
        self.skew: timedelta | None = None  # the last measured offset (gate minus database); None on SQLite
        self._alarmed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SiteWatch:
        self.check()  # at once: a gate that starts with a wrong clock says so from its first /health
        self._thread = threading.Thread(target=self._run, name="site-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def check(self) -> None:
        """One poll; a database that does not answer is the database alarm's business, not ours."""
        try:
            changed = self.ctx.refresh_site_settings()
            with self.ctx.sessions() as session:
                skew = site_clock.skew(session, self.ctx.clock())
        except SQLAlchemyError as err:
            log.debug("site watch: database not reachable (%s)", type(err).__name__)
            return
        except Exception:  # the thread must survive: a missed poll is retried at the next one
            log.exception("site watch: poll failed")
            return
        if changed:
            later = sorted(set(changed) & RESTART_KEYS)
            log.info("site-wide settings changed: %s%s", ", ".join(changed),
                     f" ({', '.join(later)} applies when this gate restarts)" if later else "")
        self.skew = skew
        if skew is None:
            return
        wrong = abs(skew.total_seconds()) > self.max_skew
        if wrong and not self._alarmed:
            log.warning("this gate's clock is %+.1f s off the database server's (more than %g s): check NTP; "
                        "events show this gate's time", skew.total_seconds(), self.max_skew)
        self._alarmed = wrong
        self.set_alarm(CLOCK_SKEW, wrong)


def watch_site(ctx: GateContext, runtime: GateRuntime) -> SiteWatch:
    """Start the watch for a runtime; it stops with it."""
    watch = SiteWatch(ctx, runtime.set_alarm, max_skew_seconds=ctx.settings.gate.max_clock_skew_seconds)
    runtime.on_stop(watch.stop)
    runtime.extras["site_watch"] = watch
    return watch.start()
