"""Read the offline copy from the database in a handful of queries, whatever the number of residents.

Plain column reads (no ORM objects) and one query per table: a refresh at 10,000 residents costs a
few hundred milliseconds (`gate bench offline-refresh`), so it can follow the change marker every few
seconds. Schedules are resolved here with the same rule as `gate.store.schedules.schedule_checker`:
a resident's own schedules, else their group's, else none (not restricted).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.access.offline import CacheCopy, CachedResident, CachedVisitor, CardDates
from gate.config import Settings
from gate.core.validity import Validity
from gate.core.visitors import VisitorPass
from gate.store.gates import get_gate, policy_of
from gate.store.models import (
    Card,
    Holiday,
    Pin,
    Resident,
    ResidentStatus,
    ScheduleAssignment,
    ScheduleWindow,
    Visitor,
    VisitorGate,
)
from gate.store.schedules import Window, parse_window

#: A resident's schedules, each a tuple of windows.
Schedules = tuple[tuple[Window, ...], ...]


def load_copy(session: Session, gate_name: str, settings: Settings, timezone: str, now: datetime) -> CacheCopy:
    policy = policy_of(get_gate(session, gate_name), settings)
    pins = dict(session.execute(select(Pin.resident_id, Pin.pin_hash)).all())
    cards: dict[int, list[str]] = defaultdict(list)
    card_dates: CardDates = {}
    for resident_id, uid, card_from, card_until in session.execute(
            select(Card.resident_id, Card.uid, Card.valid_from, Card.valid_until)):
        cards[resident_id].append(uid)
        if card_from is not None or card_until is not None:
            card_dates[uid] = (card_from, card_until)
    own, by_group, holidays = _schedules(session)
    by_card: dict[str, CachedResident] = {}
    by_code: dict[str, CachedResident] = {}
    query = select(Resident.id, Resident.code, Resident.status, Resident.group_name, Resident.valid_from,
                   Resident.valid_until)
    for resident_id, code, status, group, valid_from, valid_until in session.execute(query):
        windows = own.get(resident_id)
        if windows is None and group:
            windows = by_group.get(group)
        entry = CachedResident(resident_id, code, status is ResidentStatus.ACTIVE, pins.get(resident_id),
                               has_card=bool(cards.get(resident_id)), windows=windows, valid_from=valid_from,
                               valid_until=valid_until)
        by_code[code] = entry
        for uid in cards.get(resident_id, ()):
            by_card[uid] = entry
    return CacheCopy(now, policy, by_card, by_code, holidays, timezone, card_dates,
                     _visitors(session, policy.gate_id, now))


def _visitors(session: Session, gate_id: int, now: datetime) -> dict[str, CachedVisitor]:
    """The open visitor codes valid at this gate (by locator); ended, revoked and used-up ones stay out,
    and are refused offline as unknown."""
    query = (select(Visitor).join(VisitorGate, VisitorGate.visitor_id == Visitor.id)
             .where(VisitorGate.gate_id == gate_id, Visitor.revoked_at.is_(None), Visitor.valid_until > now,
                    Visitor.remaining > 0))
    found: dict[str, CachedVisitor] = {}
    for row in session.scalars(query):
        visitor = VisitorPass(row.id, Validity(row.valid_from, row.valid_until), row.remaining, frozenset({gate_id}))
        found[row.locator] = CachedVisitor(row.locator, row.code_hash, visitor)
    return found


def _schedules(session: Session) -> tuple[dict[int, Schedules], dict[str, Schedules], frozenset[date]]:
    windows: dict[int, list[Window]] = defaultdict(list)
    for row in session.scalars(select(ScheduleWindow)):
        windows[row.schedule_id].append(parse_window(row.days, row.start, row.end, row.on_holidays))
    # A schedule with no windows yet admits nobody, as in schedule_checker.
    sealed = {schedule_id: tuple(found) for schedule_id, found in windows.items()}
    own_ids: dict[int, list[int]] = defaultdict(list)
    group_ids: dict[str, list[int]] = defaultdict(list)
    query = select(ScheduleAssignment.schedule_id, ScheduleAssignment.resident_id, ScheduleAssignment.group_name)
    for schedule_id, resident_id, group in session.execute(query):
        if resident_id is not None:
            own_ids[resident_id].append(schedule_id)
        elif group:
            group_ids[group].append(schedule_id)
    own = {rid: tuple(sealed.get(i, ()) for i in ids) for rid, ids in own_ids.items()}
    by_group = {name: tuple(sealed.get(i, ()) for i in ids) for name, ids in group_ids.items()}
    holidays = frozenset(session.scalars(select(Holiday.day)))
    return own, by_group, holidays
