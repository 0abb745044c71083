"""The directory in the database: one instance per transaction, reading and writing through its session."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.access.directory import Entry, VisitorEntry
from gate.config import Settings
from gate.core.cardnumber import normalize_card
from gate.core.claims import Claim, ClaimKind
from gate.core.decision import Decision, Subject
from gate.core.lockout import LockoutState
from gate.core.names import mask_name
from gate.core.policy import GatePolicy, Method
from gate.core.validity import Validity, from_dates
from gate.errors import GateError
from gate.store import face_standing, visitors
from gate.store.consent import current_consent
from gate.store.events import EventRow
from gate.store.gates import get_gate, policy_of
from gate.store.models import Card, FaceTemplate, Gate, Lockout, Resident, ResidentStatus
from gate.store.retention import template_is_expired


class SubjectRules(Protocol):
    """Time schedules and anti-passback (gate.store.schedules.SiteRules); optional."""

    def within_schedule(self, session: Session, resident: Resident, now: datetime) -> bool: ...

    def passback_ok(self, session: Session, resident: Resident, gate: Gate, now: datetime) -> bool: ...

    def after_grant(self, session: Session, resident: Resident, gate: Gate, now: datetime) -> None: ...


class EventRecorder(Protocol):
    """Writes a decision's row in the decision's transaction (and its JSON line); returns the row id."""

    def record(self, session: Session, row: EventRow) -> int: ...


def resolve_claim(session: Session, claim: Claim) -> Resident | None:
    """The resident a card or resident code claims to be; None for unknown or malformed claims."""
    if claim.kind is ClaimKind.CARD:
        card = claimed_card(session, claim)
        return card.resident if card is not None else None
    if claim.kind is not ClaimKind.CODE:
        return None
    return session.scalar(select(Resident).where(Resident.code == claim.value))


def claimed_card(session: Session, claim: Claim) -> Card | None:
    try:
        uid = normalize_card(claim.value)
    except GateError:
        return None
    return session.scalar(select(Card).where(Card.uid == uid))


class SqlDirectory:
    def __init__(self, session: Session, gate_name: str, settings: Settings, rules: SubjectRules | None,
                 recorder: EventRecorder) -> None:
        self.session = session
        self.gate = get_gate(session, gate_name)
        self._policy = policy_of(self.gate, settings)
        self.rules = rules
        self.recorder = recorder
        self._residents: dict[int, Resident] = {}
        self.site_days = settings.template_retention_days
        self.forbid_minors = settings.forbid_face_for_minors
        self.timezone = settings.site.timezone
        # The time an event row shows: the gate's own clock when set (decisions use the shared clock).
        self.event_time: datetime | None = None

    @property
    def policy(self) -> GatePolicy:
        return self._policy

    def resident(self, claim: Claim, now: datetime) -> Entry | None:
        card = claimed_card(self.session, claim) if claim.kind is ClaimKind.CARD else None
        resident = card.resident if card is not None else resolve_claim(self.session, claim)
        if resident is None:
            return None
        zone = ZoneInfo(self.timezone)
        self._residents[resident.id] = resident
        consent = current_consent(self.session, resident)
        today = face_standing.site_today(now, self.timezone)
        if consent is not None and self.forbid_minors and face_standing.is_minor(resident, today):
            consent = None  # the switch forbids face for them even before the purge deletes the template
        template = self._template(resident)
        subject = Subject(
            resident_id=resident.id,
            active=resident.status is ResidentStatus.ACTIVE,
            has_pin=resident.pin is not None,
            has_card=bool(resident.cards),
            has_consent=consent is not None,
            consent_lapsed=(consent is not None
                            and face_standing.lapse_for(self.session, resident, consent, today) is not None),
            has_template=template is not None,
            # Checked here, before any camera opens: a template past its deadline is never used, even
            # when the purge has not run yet.
            template_expired=(template is not None and consent is not None
                              and template_is_expired(template, consent, self.site_days, now)),
            validity=from_dates(resident.valid_from, resident.valid_until, zone),
            card_validity=from_dates(card.valid_from, card.valid_until, zone) if card is not None else Validity(),
        )
        if self.rules is not None:
            subject = replace(subject, within_schedule=self.rules.within_schedule(self.session, resident, now),
                              passback_ok=self.rules.passback_ok(self.session, resident, self.gate, now))
        return Entry(subject, resident.pin.pin_hash if resident.pin is not None else None,
                     greeting=mask_name(resident.name) if resident.name else None)

    def _template(self, resident: Resident) -> FaceTemplate | None:
        if resident.face_pseudonym is None:
            return None
        return self.session.scalar(select(FaceTemplate).where(FaceTemplate.pseudonym == resident.face_pseudonym)
                                   .limit(1))

    def visitor(self, locator: str, now: datetime) -> VisitorEntry | None:
        found = visitors.by_locator(self.session, locator)
        return None if found is None else VisitorEntry(visitors.pass_of(self.session, found), found.code_hash)

    def take_visitor_entry(self, visitor_id: int) -> bool:
        return visitors.take_entry(self.session, visitor_id)

    def lock_state(self, scope: str) -> LockoutState:
        row = self.session.get(Lockout, scope)
        if row is None:
            return LockoutState()
        return LockoutState(row.failures, row.lockouts, row.locked_until, row.first_failure_at, row.last_failure_at)

    def store_lock_state(self, scope: str, state: LockoutState) -> None:
        row = self.session.get(Lockout, scope) or Lockout(scope=scope)
        row.failures, row.lockouts, row.locked_until = state.failures, state.lockouts, state.locked_until
        row.first_failure_at, row.last_failure_at = state.first_failure_at, state.last_failure_at
        self.session.add(row)

    def granted(self, entry: Entry, now: datetime) -> None:
        if self.rules is not None:
            self.rules.after_grant(self.session, self._residents[entry.subject.resident_id], self.gate, now)

    def record(self, method: Method, resident_id: int | None, decision: Decision, now: datetime,
               card: str | None = None, visitor_id: int | None = None) -> int:
        return self.recorder.record(self.session, EventRow(
            at=self.event_time or now, gate_id=self.gate.id, gate_name=self.gate.name, method=method.value,
            granted=decision.granted, reason=decision.reason.value, resident_id=resident_id, card=card,
            visitor_id=visitor_id, detail=f"visitor #{visitor_id}" if visitor_id is not None else ""))
