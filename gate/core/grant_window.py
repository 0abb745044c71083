"""When a grant may still release the door: only within a short window after the credential.

A decision that comes back late (a database that hung, a loop that was busy, a relay retry) must not
open the door for whoever stands there by then: the person who showed the card has gone, or is
about to give up. The rule is pure: both times are read from one monotonic clock by the caller.
"""

from __future__ import annotations

#: How long after the credential (card read, PIN's last key, face result) the door may still be released.
DEFAULT_GRANT_WINDOW_MS = 2000
#: The reason recorded when a grant is dropped for being late.
GRANT_TOO_LATE = "grant_too_late"


def grant_in_time(credential_at: float, now: float, window_ms: int) -> bool:
    """True while `now` is within `window_ms` after `credential_at` (seconds on one monotonic clock).

    A `now` before the credential cannot happen on a monotonic clock; it means the times are not from
    the same clock, and a grant that cannot be placed in time is dropped (the door stays locked)."""
    elapsed_ms = (now - credential_at) * 1000.0
    return 0.0 <= elapsed_ms <= window_ms
