"""When a face template must be gone: one pure rule, used by the purge, the gate and the last-use update.

A template lives `days` after its last use, where `days` is the shortest of the period in the
resident's consent, the site's `[retention] template_days` and the legal cap of 3 years (BIPA 15(a);
PIPL 19). Independently, no template outlives 3 years from the consent it was collected under: using
it every day cannot keep it forever without the resident consenting again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

#: BIPA 15(a) caps retention at 3 years after last use; we also cap it at 3 years after consent.
MAX_TEMPLATE_RETENTION_DAYS = 3 * 365


def deadline(created_at: datetime, last_used_at: datetime, consent_given_at: datetime,
             consent_retention_days: int, site_days: int) -> datetime:
    """The moment the template is due for deletion; it must not be used at or after it."""
    days = min(consent_retention_days, site_days, MAX_TEMPLATE_RETENTION_DAYS)
    # A last use recorded before creation (a clock set back) must not shorten or extend the life.
    last_use = max(created_at, last_used_at)
    return min(last_use + timedelta(days=days),
               consent_given_at + timedelta(days=MAX_TEMPLATE_RETENTION_DAYS))


def is_expired(now: datetime, created_at: datetime, last_used_at: datetime, consent_given_at: datetime,
               consent_retention_days: int, site_days: int) -> bool:
    return now >= deadline(created_at, last_used_at, consent_given_at, consent_retention_days, site_days)
