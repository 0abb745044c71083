"""POST gate events as JSON to a webhook. Off by default:

    [webhook]
    enabled = true
    url = "https://example.org/hooks/gate"
    timeout_seconds = 5
    include_resident = false  # true only if the published notice names the URL's host

Posting happens on its own thread from a bounded queue (events are dropped, not queued forever, when
the receiver is down), so the gate never waits for it. No card number, PIN, name or image is sent,
nor the resident's id unless include_resident is on.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.request
from typing import Any

from gate.integrations import outgoing

log = logging.getLogger("gate.integrations.webhook")


class WebhookPublisher:
    def __init__(self, url: str, timeout: float = 5.0, max_queue: int = 1000, include_resident: bool = False) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("[webhook] url must start with http:// or https://")
        self.url = url
        self.include_resident = include_resident
        self.timeout = timeout
        self.dropped = 0
        self.sent = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=max_queue)
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    def publish(self, event: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(outgoing(event, self.include_resident))
        except queue.Full:
            self.dropped += 1

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(self.timeout + 1)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            request = urllib.request.Request(self.url, data=json.dumps(event).encode(), method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read()
                self.sent += 1
            except OSError as err:
                log.info("webhook post failed: %s", err)
