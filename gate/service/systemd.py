"""Telling systemd how the service is doing (sd_notify(3)): READY=1, STATUS=, STOPPING=1 and the watchdog.

The datagrams are sent by cysystemd, which wraps libsystemd's own sd_notify. Without $NOTIFY_SOCKET
(not started by systemd with Type=notify) nothing is sent at all.

The watchdog ping (WATCHDOG=1) is sent by the door loop itself (`GateRuntime.heartbeat`), never by a
timer thread of its own: a timer would keep pinging while the loop hangs, and systemd restarts the
service exactly when the loop stops turning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from cysystemd.daemon import Notification, notify

from gate.service.runtime import GateRuntime

log = logging.getLogger("gate.service")


def watchdog_seconds(environ: Mapping[str, str], pid: int) -> float | None:
    """How often to ping: half of $WATCHDOG_USEC, as sd_watchdog_enabled(3) advises; None without a watchdog.

    Like sd_watchdog_enabled, a $WATCHDOG_PID naming another process means the watchdog is not ours."""
    if not environ.get("NOTIFY_SOCKET"):
        return None
    usec = environ.get("WATCHDOG_USEC", "")
    owner = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (owner and owner != str(pid)):
        return None
    return int(usec) / 2e6


class Notifier:
    """sd_notify for `gate serve`; every method does nothing when systemd did not ask for notifications."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.enabled = bool(environ.get("NOTIFY_SOCKET"))
        self.watchdog_every = watchdog_seconds(environ, os.getpid())

    def _send(self, notification: Notification, value: str | None = None) -> None:
        if self.enabled:
            # Returns (and logs) an error instead of raising: a lost datagram never stops the gate.
            if value is None:
                notify(notification)
            else:
                notify(notification, value)

    def status(self, text: str) -> None:
        self._send(Notification.STATUS, text)

    def ready(self, text: str) -> None:
        self._send(Notification.READY)
        self.status(text)

    def stopping(self) -> None:
        self._send(Notification.STOPPING)
        self.status("stopping")

    def watchdog(self) -> None:
        self._send(Notification.WATCHDOG)

    def attach(self, runtime: GateRuntime) -> None:
        """The door loop pings the watchdog; call before `runtime.start()`."""
        if self.watchdog_every is not None:
            runtime.heartbeat(self.watchdog, self.watchdog_every)
            log.info("systemd watchdog: the door loop pings every %.1f s", self.watchdog_every,
                     extra={"event": "watchdog", "every_seconds": self.watchdog_every})
