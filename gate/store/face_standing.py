"""Whether a resident's current face consent still covers face today, and who must renew it.

A consent lapses for face (never for cards or PINs) when
* the current notice changed a material field since the consent was given (PIPL art. 14, 17: the
  person agreed to what they were told, not to what the notice says now), or
* it was given by a guardian and the resident has turned 14 (PIPL art. 31): their own consent is
  needed from then on.
A lapsed consent is not withdrawn: face is simply not offered or used until a new consent is
recorded, and the template is kept under the retention rules. Unused, it reaches its inactivity
deadline and the purge deletes it (gate.store.retention), so no separate grace period is needed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from gate.core import minors
from gate.i18n.marker import N_
from gate.store.models import Consent, Notice, Resident, ResidentStatus
from gate.store.notices import current_notice, current_notices


class Lapse(enum.StrEnum):
    NOTICE_CHANGED = "notice_changed"
    TURNED_14 = "turned_14"


LAPSE_TEXT = {
    Lapse.NOTICE_CHANGED: N_("the face notice changed materially since this consent was given"),
    Lapse.TURNED_14: N_("the resident has turned 14, so the guardian's consent no longer suffices"),
}


def with_face_data() -> ColumnElement[bool]:
    """Residents holding face data, written so the unique index on face_pseudonym answers it: SQLite
    reads every row for `IS NOT NULL` outside a count, and pseudonyms are never empty."""
    return Resident.face_pseudonym > ""


def site_today(now: datetime, timezone: str) -> date:
    """The site's local date ([site] timezone): a 14th birthday begins at local midnight."""
    return now.astimezone(ZoneInfo(timezone)).date()


def is_minor(resident: Resident, today: date) -> bool:
    """Under 14 by date of birth; the old manual flag counts only for residents without one."""
    if resident.birth_date is not None:
        return minors.is_under_14(resident.birth_date, today)
    return resident.is_minor


def lapse_of(consent: Consent, resident: Resident, current: Notice | None, today: date) -> Lapse | None:
    given_against = consent.notice
    if current is not None and given_against.id != current.id and (
            given_against.material_sha256 is None or given_against.material_sha256 != current.material_sha256):
        return Lapse.NOTICE_CHANGED
    if consent.guardian_name and not is_minor(resident, today):
        return Lapse.TURNED_14
    return None


def lapse_for(session: Session, resident: Resident, consent: Consent, today: date) -> Lapse | None:
    """Compared with the current notice in the language the person was shown: publishing the other
    language's version is not a change to what they read."""
    return lapse_of(consent, resident, current_notice(session, consent.notice.language), today)


@dataclass(frozen=True)
class Renewal:
    resident: Resident
    consent: Consent
    lapse: Lapse

    @property
    def why(self) -> str:
        return LAPSE_TEXT[self.lapse]


def needing_renewal(session: Session, today: date) -> list[Renewal]:
    """Active residents whose current face consent has lapsed, by resident code."""
    current = current_notices(session)
    anyone = current_notice(session)
    latest: dict[int, tuple[Resident, Consent]] = {}
    # Driven from the consents (a few) with the status checked here: a status condition in SQL makes
    # SQLite walk all 100,000 active residents of a large compound first.
    rows = session.execute(
        select(Resident, Consent).join(Consent, Consent.resident_id == Resident.id)
        .where(Consent.withdrawn_at.is_(None))
        .order_by(Consent.granted_at, Consent.id)
    ).all()
    for resident, consent in rows:
        if resident.status is ResidentStatus.ACTIVE:
            latest[resident.id] = (resident, consent)  # ordered: the last one is the current consent
    due = []
    for resident, consent in latest.values():
        lapse = lapse_of(consent, resident, current.get(consent.notice.language, anyone), today)
        if lapse is not None:
            due.append(Renewal(resident, consent, lapse))
    return sorted(due, key=lambda renewal: renewal.resident.code)
