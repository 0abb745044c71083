"""Deletion that holds after the transaction: the ledger entry of each committed deletion, the flag that
asks for a master-key rotation, and applying the ledger to a database (at start, after a restore, by
every purge).

How the pieces fit (docs/deletion.md tells the whole design):
* every function that deletes face data or a resident notes what it deleted on the session
  (`note_*`); when the transaction commits, one ledger line is appended beside the key file; when it
  rolls back, the notes are dropped, so the ledger never claims a deletion that did not happen;
* the same transaction sets the "follow-up due" flag in the database, so the master-key rotation that
  makes dead rows, WAL and old backups undecryptable (gate.store.upkeep) cannot be forgotten even if
  the ledger write failed;
* `apply_ledger` re-applies every recorded deletion to whatever the database now holds: a restored copy
  loses again the consents, links, templates and residents deleted since it was taken.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from gate.clock import utcnow
from gate.secrets.ledger import DeletionLedger, LedgerEntry
from gate.store.models import AccessEvent, Consent, DataKey, FaceTemplate, Resident, ResidentStatus, SystemState

log = logging.getLogger("gate.store")

LEDGER_INFO = "gate.deletion_ledger"
NOTES_INFO = "gate.deletion_notes"
APPLYING_INFO = "gate.applying_ledger"
#: Set in the deleting transaction, cleared by the rotation that covers it.
FOLLOW_UP_KEY = "shred_follow_up_due"
LEDGER_ACTOR = "deletion ledger"
CHUNK = 500


def stamp(value: datetime) -> str:
    """The creation time of a record as the ledger keeps it: UTC, microseconds, one spelling."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass
class _Notes:
    templates: list[str] = field(default_factory=list)
    pseudonyms: list[str] = field(default_factory=list)
    consents: list[tuple[int, str]] = field(default_factory=list)
    removed: list[tuple[int, str]] = field(default_factory=list)
    moved_out: list[tuple[int, str]] = field(default_factory=list)
    receipts: list[int] = field(default_factory=list)

    def entry(self, at: datetime) -> LedgerEntry:
        return LedgerEntry(at=stamp(at), templates=tuple(dict.fromkeys(self.templates)),
                           pseudonyms=tuple(dict.fromkeys(self.pseudonyms)),
                           consents=tuple(dict.fromkeys(self.consents)), removed_residents=tuple(self.removed),
                           moved_out_residents=tuple(self.moved_out), receipts=tuple(self.receipts))


def attach(factory: sessionmaker[Session], ledger: DeletionLedger) -> None:
    """Every session of `factory` writes its committed deletions to `ledger`."""
    info = dict(factory.kw.get("info") or {})
    info[LEDGER_INFO] = ledger
    factory.configure(info=info)
    from sqlalchemy import event

    event.listen(factory, "after_commit", _write_notes)
    event.listen(factory, "after_rollback", _drop_notes)


def _write_notes(session: Session) -> None:
    notes: _Notes | None = session.info.pop(NOTES_INFO, None)
    ledger: DeletionLedger | None = session.info.get(LEDGER_INFO)
    if notes is None or ledger is None:
        return
    entry = notes.entry(utcnow())
    if entry.is_empty():
        return
    try:
        ledger.append(entry)
    except Exception:  # the deletion itself is committed; the rotation flag still stands
        log.critical("deletion committed but the deletion ledger %s could not be written: a restore of an "
                     "older backup could bring this data back until it is written again", ledger.path,
                     exc_info=True)


def _drop_notes(session: Session) -> None:
    session.info.pop(NOTES_INFO, None)


def _notes(session: Session) -> _Notes | None:
    if session.info.get(APPLYING_INFO):
        return None  # re-applying the ledger must not write it again
    notes = session.info.get(NOTES_INFO)
    if notes is None:
        notes = session.info[NOTES_INFO] = _Notes()
    assert isinstance(notes, _Notes)
    return notes


def _upsert_state(session: Session, key: str, value: str) -> None:
    """Insert or replace one system_state row in a way two concurrent writers cannot collide on."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(SystemState).values(key=key, value=value)
    session.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def mark_follow_up_due(session: Session) -> None:
    _upsert_state(session, FOLLOW_UP_KEY, f"{stamp(utcnow())}/{secrets.token_hex(4)}")


def follow_up_token(session: Session) -> str | None:
    """The flag's value when a rotation is due, else None. A rotation clears exactly this value."""
    state = session.get(SystemState, FOLLOW_UP_KEY)
    return state.value if state is not None else None


def clear_follow_up(session: Session, token: str) -> None:
    """Clear the flag only if no deletion set it again since `token` was read."""
    session.execute(delete(SystemState).where(SystemState.key == FOLLOW_UP_KEY, SystemState.value == token))


def note_templates(session: Session, template_ids: Sequence[str], pseudonyms: Iterable[str]) -> None:
    mark_follow_up_due(session)
    notes = _notes(session)
    if notes is not None:
        notes.templates.extend(template_ids)
        notes.pseudonyms.extend(pseudonyms)


def note_consents(session: Session, consents: Iterable[Consent]) -> None:
    notes = _notes(session)
    if notes is not None:
        notes.consents.extend((c.id, stamp(c.granted_at)) for c in consents)


def note_resident(session: Session, resident: Resident, *, removed: bool) -> None:
    notes = _notes(session)
    if notes is not None:
        ref = (resident.id, stamp(resident.created_at))
        (notes.removed if removed else notes.moved_out).append(ref)
        if resident.face_pseudonym:
            notes.pseudonyms.append(resident.face_pseudonym)


def note_receipt(session: Session, receipt: int) -> None:
    notes = _notes(session)
    if notes is not None:
        notes.receipts.append(receipt)


@dataclass(frozen=True)
class ApplyReport:
    entries: int = 0
    templates: int = 0
    links: int = 0
    consents: int = 0
    moved_out: int = 0
    removed: int = 0

    @property
    def changed(self) -> int:
        return self.templates + self.links + self.consents + self.moved_out + self.removed


def _chunks(values: Sequence[object]) -> Iterator[Sequence[object]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def apply_ledger(session: Session, entries: Sequence[LedgerEntry]) -> ApplyReport:
    """Delete again, in this database, everything the ledger says was deleted. Idempotent."""
    from gate.store.face_templates import shred_templates

    templates = list(dict.fromkeys(t for e in entries for t in e.templates))
    pseudonyms = list(dict.fromkeys(p for e in entries for p in e.pseudonyms))
    consent_refs = {cid: (granted, e.at) for e in entries for cid, granted in e.consents}
    moved_refs = {rid: (created, e.at) for e in entries for rid, created in e.moved_out_residents}
    removed_refs = {rid: created for e in entries for rid, created in e.removed_residents}

    session.info[APPLYING_INFO] = True
    try:
        doomed: set[str] = set()
        for chunk in _chunks(templates):
            doomed.update(session.scalars(select(FaceTemplate.id).where(FaceTemplate.id.in_(chunk))))
            doomed.update(session.scalars(select(DataKey.template_id).where(DataKey.template_id.in_(chunk))))
        for chunk in _chunks(pseudonyms):
            doomed.update(session.scalars(select(FaceTemplate.id).where(FaceTemplate.pseudonym.in_(chunk))))
        shredded = shred_templates(session, sorted(doomed))
        links = 0
        for chunk in _chunks(pseudonyms):
            result = session.execute(update(Resident).where(Resident.face_pseudonym.in_(chunk))
                                     .values(face_pseudonym=None))
            links += int(getattr(result, "rowcount", 0) or 0)
        consents = 0
        for chunk in _chunks(list(consent_refs)):
            for consent in session.scalars(select(Consent).where(Consent.id.in_(chunk),
                                                                 Consent.withdrawn_at.is_(None))):
                granted, at = consent_refs[consent.id]
                if stamp(consent.granted_at) == granted:
                    consent.withdrawn_at = datetime.fromisoformat(at)
                    consent.withdrawn_by = LEDGER_ACTOR
                    consents += 1
        moved = 0
        for chunk in _chunks(list(moved_refs)):
            for resident in session.scalars(select(Resident).where(Resident.id.in_(chunk))):
                created, at = moved_refs[resident.id]
                if stamp(resident.created_at) == created and resident.status is not ResidentStatus.MOVED_OUT:
                    resident.status = ResidentStatus.MOVED_OUT
                    resident.moved_out_at = datetime.fromisoformat(at)
                    resident.face_pseudonym = None
                    moved += 1
        removed = 0
        for chunk in _chunks(list(removed_refs)):
            for resident in list(session.scalars(select(Resident).where(Resident.id.in_(chunk)))):
                if stamp(resident.created_at) == removed_refs[resident.id]:
                    session.execute(update(AccessEvent).where(AccessEvent.resident_id == resident.id)
                                    .values(resident_id=None))
                    session.delete(resident)
                    removed += 1
        session.flush()
    finally:
        session.info.pop(APPLYING_INFO, None)
    if shredded:
        mark_follow_up_due(session)  # a restored row under the current key needs the next rotation
    return ApplyReport(len(entries), shredded, links, consents, moved, removed)
