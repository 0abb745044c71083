"""Keep the offline copy within seconds of the database: a revoked card must not keep working at
another gate for a whole refresh period if the database goes away just after the revocation.

Every `interval` s (`[gate] change_poll_seconds`, 2), on its own thread and never on the gate's
loop, the watcher reads the directory version (`gate.store.change_marker`, one primary-key read) and
refreshes the copy (memory and disk) when it moved. The refresh runs here too, so a large directory
never holds up a card decision. While the circuit is open it does nothing: the re-probe and
`Decider.database_back()` bring the copy up to date when the database is back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from gate.service.db_health import DatabaseHealth

log = logging.getLogger("gate.service")
_UNSEEN = object()


class CopyWatch:
    def __init__(self, read_version: Callable[[], str | None], refresh: Callable[[], object],
                 database: DatabaseHealth, interval: float) -> None:
        self.read_version = read_version
        self.refresh = refresh
        self.database = database
        self.interval = interval
        self.refreshes = 0
        self._seen: object = _UNSEEN  # the first answer refreshes too: a change may predate our start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="copy-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def check(self) -> bool:
        """One poll; True when the copy was refreshed."""
        if not self.database.ok:
            return False
        try:
            version = self.read_version()
            if version == self._seen:
                return False
            self.refresh()
        except SQLAlchemyError as err:
            # The decision path and the re-probe own the circuit; here a failed poll is just tried again.
            log.debug("directory version poll failed: %s", err)
            return False
        self._seen = version
        self.refreshes += 1
        return True
