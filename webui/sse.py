"""Server-sent events under waitress: each open stream holds one of the server's request threads.

So streams are bounded three ways: at most `slots` at once (the next gets 503 and EventSource tries
again after `retry`), each ends after `STREAM_SECONDS` (the browser reconnects by itself), and the slots
are half the server's threads (`[web] threads`), so pages and the kiosk always have threads left.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

#: A stream ends after this long; EventSource reconnects after RETRY_MS.
STREAM_SECONDS = 25.0
RETRY_MS = 2000
#: How long a stream waits for a change before it looks again anyway (a pulse ending sends no event).
RECHECK_SECONDS = 1.0


def slots_for(threads: int) -> int:
    """Streams allowed at once for a server with `threads` request threads: half of them, at least one."""
    return max(1, threads // 2)


class StreamSlots:
    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)

    def take(self) -> bool:
        return self._free.acquire(blocking=False)

    def give_back(self) -> None:
        self._free.release()


def event(data: str) -> str:
    """One SSE message; every line of `data` gets its own `data:` field."""
    return "".join(f"data: {line}\n" for line in data.splitlines() or [""]) + "\n"


def stream(render: Callable[[], str], wait: Callable[[int, float], int], version: int, *,
           seconds: float = STREAM_SECONDS, clock: Callable[[], float]) -> Iterator[str]:
    """Send `render()` now and again whenever it changes, until `seconds` have passed.

    `wait(seen, timeout)` blocks until the change signal moves past `seen` (or the timeout)."""
    yield f"retry: {RETRY_MS}\n\n"
    last = render()
    yield event(last)
    end = clock() + seconds
    while (left := end - clock()) > 0:
        version = wait(version, min(RECHECK_SECONDS, left))
        shown = render()
        if shown != last:
            last = shown
            yield event(shown)
