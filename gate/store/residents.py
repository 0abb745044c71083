"""Residents and their non-face credentials: cards and PINs."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import date, datetime

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.core.cardnumber import normalize_card
from gate.core.visitors import is_visitor_code
from gate.errors import ConflictError, NotFoundError, PolicyError
from gate.i18n.marker import N_
from gate.secrets import passwords
from gate.store import alternatives, audit, shredding
from gate.store.face_templates import TemplateStore
from gate.store.models import Card, Consent, Pin, Resident, ResidentStatus

CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
#: What a gate's keypad can type ([site] resident_codes): its keys are the digits, * and #.
KEYPAD_CODE_PATTERN = re.compile(r"[0-9]{1,32}")
CODE_RULES = {
    "digits": (KEYPAD_CODE_PATTERN, N_("A resident code is 1-32 digits, so it can be typed on the gates' keypads.")),
    "letters": (CODE_PATTERN, N_("A resident code is 1-32 letters, digits, '-' or '_', starting with a letter or "
                                 "digit.")),
}


def check_code(code: str, characters: str = "letters") -> None:
    """`characters` is [site] resident_codes: "digits" where residents type their code on a keypad."""
    pattern, rule = CODE_RULES.get(characters, CODE_RULES["digits"])
    if not pattern.fullmatch(code):
        raise PolicyError.of(rule)
    if is_visitor_code(code):
        raise PolicyError.of(N_("Ten digits starting with 9 is the shape of a visitor code: choose another "
                                "resident code."))


def keypad_can_type(code: str) -> bool:
    return KEYPAD_CODE_PATTERN.fullmatch(code) is not None


def untypeable_codes(session: Session) -> list[str]:
    """Active residents whose code a keypad cannot type: they get in with a card (or face), never with
    code and PIN. Reported by `gate db upgrade` and flagged in the web UI."""
    codes = session.scalars(select(Resident.code).where(Resident.status == ResidentStatus.ACTIVE)
                            .order_by(Resident.code))
    return [code for code in codes if not keypad_can_type(code)]


def _insert_unique(session: Session, row: object, conflict: str) -> None:
    """Insert in a savepoint: the check before it cannot see a row another session (a second gate, a
    second operator UI) has written but not yet committed, so the database's unique index decides, and
    losing that race is the usual one-sentence conflict, not an error page. The transaction goes on."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as err:
        raise ConflictError(conflict) from err


def get_resident(session: Session, code: str) -> Resident:
    resident = session.scalar(select(Resident).where(Resident.code == code))
    if resident is None:
        raise NotFoundError.of(N_("No resident with code %(code)r."), code=code)
    return resident


def parse_birth_date(text: str | None) -> date | None:
    """A form's or command line's date of birth ("" for none)."""
    if not (text or "").strip():
        return None
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise PolicyError.of(N_("Give the date of birth as YYYY-MM-DD, e.g. 2015-03-20 (got %(text)r)."),
                             text=text) from None


def check_birth_date(birth_date: date | None, now: datetime) -> None:
    if birth_date is not None and birth_date > now.date():
        raise PolicyError.of(N_("A date of birth cannot be in the future (%(date)s)."), date=birth_date.isoformat())


NEEDS_NAME = N_("A resident needs a name.")


def check_details(name: str, unit: str, guardian_name: str | None, group_name: str | None) -> None:
    """The rules on a resident's details, for adding, editing and importing alike."""
    if not name.strip():
        raise PolicyError.of(NEEDS_NAME)
    if len(name) > 200 or len(unit) > 64 or len(guardian_name or "") > 200 or len(group_name or "") > 64:
        raise PolicyError.of(N_("Name and guardian are at most 200 characters, unit and group at most 64."))


def add_resident(session: Session, *, code: str, name: str, unit: str = "", birth_date: date | None = None,
                 guardian_name: str | None = None, group_name: str | None = None, actor: str,
                 now: datetime | None = None, code_characters: str = "letters") -> Resident:
    """`birth_date` decides "under 14" (guardian consent, gate.store.face_standing); it is optional.
    `code_characters` is [site] resident_codes (the web UI and the CLI pass it; "letters" accepts
    every code a keypad can type too)."""
    now = now or utcnow()
    check_birth_date(birth_date, now)
    check_code(code, code_characters)
    check_details(name, unit, guardian_name, group_name)
    if session.scalar(select(Resident.id).where(Resident.code == code)) is not None:
        raise ConflictError.of(N_("A resident with code %(code)r already exists."), code=code)
    resident = Resident(code=code, name=name.strip(), unit=unit.strip(), birth_date=birth_date, is_minor=False,
                        guardian_name=(guardian_name or None), group_name=group_name, created_at=now)
    _insert_unique(session, resident, f"A resident with code {code!r} was just saved by someone else; open it "
                                      "from the list instead.")
    audit.record(session, actor, "resident.add", f"resident:{resident.id}")
    return resident


def move_out(session: Session, resident: Resident, store: TemplateStore, *, actor: str,
             now: datetime | None = None) -> int:
    """End of purpose (PIPL 47; SPC 12): face data goes at once; cards stop working with the status."""
    now = now or utcnow()
    shredding.note_resident(session, resident, removed=False)
    destroyed = store.shred(session, resident)
    for consent in resident.consents:
        if consent.withdrawn_at is None:
            consent.withdrawn_at = now
            consent.withdrawn_by = actor
            shredding.note_consents(session, [consent])
    resident.status = ResidentStatus.MOVED_OUT
    resident.moved_out_at = now
    audit.record(session, actor, "resident.move_out", f"resident:{resident.id}", templates_destroyed=destroyed)
    return destroyed


def remove_resident(session: Session, resident: Resident, store: TemplateStore, *, actor: str) -> dict[str, int]:
    """Delete everything held about a resident. The audit log keeps only the internal id and counts."""
    shredding.note_resident(session, resident, removed=True)
    shredding.note_consents(session, resident.consents)
    counts = {
        "templates_destroyed": store.shred(session, resident),
        "cards": len(resident.cards),
        "pins": 1 if resident.pin else 0,
        "consents": len(resident.consents),
    }
    resident_id = resident.id
    session.delete(resident)
    session.flush()
    audit.record(session, actor, "resident.remove", f"resident:{resident_id}", None, **counts)
    return counts


def card_reference(resident: Resident, uid: str) -> str:
    """What the audit log says instead of a card number (PIPL 51: only pseudonyms once the person is gone).

    A keyed hash under the resident's own salt: while the record exists an operator holding the card can
    recompute it; once the record (and the salt with it) is deleted, nobody can tie it to a card again."""
    if resident.audit_salt is None:
        resident.audit_salt = secrets.token_hex(32)
    return hmac.new(bytes.fromhex(resident.audit_salt), uid.encode(), hashlib.sha256).hexdigest()[:16]


def add_card(session: Session, resident: Resident, raw_number: str, *, actor: str, label: str = "",
             now: datetime | None = None) -> Card:
    uid = normalize_card(raw_number)
    holder = session.scalar(select(Card).where(Card.uid == uid))
    if holder is not None:
        raise ConflictError.of(N_("Card %(card)s is already registered (to another resident or this one)."), card=uid)
    card = Card(uid=uid, resident_id=resident.id, label=label, created_at=now or utcnow())
    _insert_unique(session, card, f"Card {uid} was just registered by someone else (to another resident or "
                                  "this one).")
    audit.record(session, actor, "card.add", f"resident:{resident.id}", card_ref=card_reference(resident, uid))
    return card


def remove_card(session: Session, raw_number: str, *, actor: str) -> None:
    uid = normalize_card(raw_number)
    card = session.scalar(select(Card).where(Card.uid == uid))
    if card is None:
        raise NotFoundError.of(N_("No card %(card)s is registered."), card=uid)
    resident = card.resident
    alternatives.require_way_in_after(session, resident, change=f"Removing card {uid}",
                                      has_card=len(resident.cards) > 1, has_pin=resident.pin is not None)
    resident.cards.remove(card)  # the loaded collection must not keep it for a later cascade
    session.delete(card)
    audit.record(session, actor, "card.remove", f"resident:{resident.id}", card_ref=card_reference(resident, uid))


def set_pin(session: Session, resident: Resident, pin: str, hasher: PasswordHasher, *, actor: str,
            now: datetime | None = None) -> None:
    passwords.check_pin_strength(pin)
    digest = hasher.hash(pin)
    if resident.pin is None:
        resident.pin = Pin(pin_hash=digest, set_at=now or utcnow())
    else:
        resident.pin.pin_hash = digest
        resident.pin.set_at = now or utcnow()
    session.flush()
    audit.record(session, actor, "credential.set", f"resident:{resident.id}", credential="keypad code")


def clear_pin(session: Session, resident: Resident, *, actor: str) -> None:
    """Remove the resident's PIN (lost, or shared); refused while it is their last way in without face."""
    if resident.pin is None:
        raise ConflictError.of(N_("Resident %(code)s has no PIN to clear."), code=resident.code)
    alternatives.require_way_in_after(session, resident, change="Clearing the PIN", has_card=bool(resident.cards),
                                      has_pin=False)
    resident.pin = None
    session.flush()
    audit.record(session, actor, "credential.clear", f"resident:{resident.id}", credential="keypad code")


def find_by_card(session: Session, uid: str) -> Resident | None:
    return session.scalar(select(Resident).join(Card).where(Card.uid == uid))


def list_residents(session: Session, search: str = "") -> list[Resident]:
    query = select(Resident).order_by(Resident.code)
    if search:
        pattern = f"%{search}%"
        query = query.where(Resident.code.ilike(pattern) | Resident.name.ilike(pattern) | Resident.unit.ilike(pattern))
    return list(session.scalars(query))


__all__ = ["Consent", "add_card", "add_resident", "card_reference", "clear_pin", "find_by_card", "get_resident",
           "list_residents", "move_out", "remove_card", "remove_resident", "set_pin"]
