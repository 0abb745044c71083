"""One site master key for many gates, without copying key files (docs/keys.md).

A gate that has joined a site keeps no master key file. Its keyring (current, pending during a
rotation, retired ids) lives in its row of `gate_keys`, sealed for the gate's own X25519 public key
(gate.secrets.sealing). `SiteKeyFile` is the KeyStore the templates, rotation and upkeep use:

* `load` reads this gate's slot, and opens it only when its `version` changed since the last read
  (the poll): so a rotation at any gate reaches every gate at its next face attempt or key check;
* `save` (rotation) seals the new keyring into every approved slot in one transaction;
* after every pick-up of a new version the gate replaces its key pair (a fresh private key, its public
  key and a fresh seal in the slot, the old private key file replaced): a private key stolen later
  opens no destroyed site key that an older database backup still holds;
* `exclusive` is one key-changing job at a time across the site (a PostgreSQL advisory lock).

Joining, approving and revoking are functions below; the CLI is `gate join`, `gate gates approve|revoke`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gate.clock import utcnow
from gate.errors import ConflictError, KeyUnavailableError, NotFoundError
from gate.secrets import sealing
from gate.secrets.keys import KeyFile, Keyring, KeyStore, keyring_from_json, keyring_to_json
from gate.store import audit, shredding
from gate.store.db import transaction
from gate.store.models import DataKey, GateKeySlot

log = logging.getLogger("gate.store")

ALARM = "site_key"
PENDING, APPROVED = "pending", "approved"
#: Any constant: every gate of the site takes the same advisory lock for key-changing jobs.
_ADVISORY_LOCK = 0x6761746B  # "gatk"


def _aad(gate: str) -> bytes:
    return f"gate-site-keyring/1|{gate}".encode()


def seal_keyring(slot_gate: str, public_key: bytes, keyring: Keyring) -> bytes:
    return sealing.seal(public_key, json.dumps(keyring_to_json(keyring)).encode(), _aad(slot_gate))


def gate_key_path(key_file_path: Path) -> Path:
    """The gate's private key lives in the same 0700 folder as the (local) master key file would."""
    return key_file_path.parent / sealing.FILE_NAME


def key_store(key_file_path: Path, sessions: sessionmaker[Session]) -> KeyStore:
    """The local key file, or the site's slots once this gate has joined a site (its gate key exists)."""
    if gate_key_path(key_file_path).exists():
        return SiteKeyFile(key_file_path.parent, sessions)
    return KeyFile(key_file_path)


@dataclass(frozen=True)
class _Cached:
    version: int
    keyring: Keyring


class SiteKeyFile:
    alarm = ALARM

    def __init__(self, key_dir: Path, sessions: sessionmaker[Session]) -> None:
        self.key_dir = key_dir
        self.path = key_dir / sealing.FILE_NAME
        self.next_path = key_dir / sealing.NEXT_NAME
        self.sessions = sessions
        self._cached: _Cached | None = None

    @property
    def gate(self) -> str:
        return sealing.GateKeyPair.read(self.path).gate

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> Keyring:
        with self._local_lock():
            pairs = self._pairs()
            gate = pairs[0].gate
            try:
                with self.sessions() as session:
                    slot = session.scalar(select(GateKeySlot).where(GateKeySlot.gate == gate))
                    if slot is not None:
                        session.expunge(slot)
            except SQLAlchemyError as err:
                raise KeyUnavailableError(f"The site key slot of gate {gate} cannot be read: {err}") from err
            if slot is None:
                self._cached = None
                raise KeyUnavailableError(
                    f"Gate {gate} has no site key slot: it was revoked, or the gate never joined. Face is "
                    "unavailable here (card and PIN work); run `gate join` again and have it approved."
                )
            if slot.state != APPROVED or slot.sealed is None:
                raise KeyUnavailableError(
                    f"Gate {gate} is waiting for approval: run `gate gates approve {gate}` at a gate that holds "
                    "the site key. Face is unavailable here until then; card and PIN work."
                )
            if self._cached is not None and self._cached.version == slot.version:
                return self._cached.keyring
            pair = next((p for p in pairs if p.public == slot.public_key), None)
            if pair is None:
                self._cached = None
                raise KeyUnavailableError(
                    f"The site key slot of gate {gate} was written for another key pair than this gate's "
                    f"{self.path}: revoke the gate and join again."
                )
            keyring = self._open(pair, slot)
            if pair.path == self.next_path:
                sealing.promote(self.next_path, self.path)  # a crash after the slot moved to it
            self._cached = _Cached(slot.version, keyring)
            self._rekey(gate, slot.version, keyring)
            return keyring

    def _open(self, pair: sealing.GateKeyPair, slot: GateKeySlot) -> Keyring:
        assert slot.sealed is not None
        plain = pair.open(slot.sealed, _aad(slot.gate))
        try:
            return keyring_from_json(json.loads(plain), self.path)
        except ValueError as err:
            raise KeyUnavailableError(f"The site key slot of gate {slot.gate} is damaged ({err}).") from err

    def _pairs(self) -> list[sealing.GateKeyPair]:
        pairs = [sealing.GateKeyPair.read(self.path)]
        if self.next_path.exists():
            try:
                pairs.append(sealing.GateKeyPair.read(self.next_path))
            except KeyUnavailableError as err:
                log.warning("ignoring the half-written next gate key: %s", err)
        return pairs

    def _rekey(self, gate: str, seen: int, keyring: Keyring) -> None:
        """A fresh key pair for this gate, sealed copy and all; the old private key file is replaced.
        Only if the slot is still the one just read: a rotation writing it meanwhile wins, and the next
        load picks that up (and rekeys then)."""
        fresh = sealing.GateKeyPair.generate(gate, self.next_path)
        try:
            fresh.write(replace=True)
            with transaction(self.sessions) as session:
                moved = session.execute(
                    update(GateKeySlot).where(GateKeySlot.gate == gate, GateKeySlot.version == seen)
                    .values(public_key=fresh.public, sealed=seal_keyring(gate, fresh.public, keyring),
                            version=seen + 1))
                changed = int(getattr(moved, "rowcount", 0) or 0) == 1
        except (SQLAlchemyError, OSError) as err:
            log.warning("could not replace the key pair of gate %s (kept the old one): %s", gate, err)
            self.next_path.unlink(missing_ok=True)
            return
        if changed:
            sealing.promote(self.next_path, self.path)
            self._cached = _Cached(seen + 1, keyring)
        else:
            self.next_path.unlink(missing_ok=True)

    def save(self, keyring: Keyring) -> None:
        """Seal `keyring` into every approved slot at once (a rotation's pending key, then its result)."""
        with transaction(self.sessions) as session:
            for slot in session.scalars(select(GateKeySlot).where(GateKeySlot.state == APPROVED)
                                        .order_by(GateKeySlot.id).with_for_update()):
                slot.sealed = seal_keyring(slot.gate, slot.public_key, keyring)
                slot.version += 1
        self._cached = None

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One key-changing job at a time across every gate of the site (and every process here)."""
        with self._local_lock(".rotation.lock"):
            engine = self.sessions.kw["bind"]
            if engine.dialect.name != "postgresql":
                yield  # SQLite: one computer, the file lock is enough
                return
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK})
                connection.commit()
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK})
                    connection.commit()

    @contextmanager
    def _local_lock(self, name: str = ".gate.key.lock") -> Iterator[None]:
        """The service and the web UI on this computer share the gate key: one rekey at a time."""
        fd = os.open(self.key_dir / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


# -- joining, approving, revoking ---------------------------------------------------------------------


def request_slot(session: Session, pair: sealing.GateKeyPair) -> GateKeySlot:
    if session.scalar(select(GateKeySlot.id).where(GateKeySlot.gate == pair.gate)) is not None:
        raise ConflictError(f"A gate named {pair.gate!r} has joined this site already (`gate gates keys`); "
                            "choose another name, or revoke the old one first.")
    slot = GateKeySlot(gate=pair.gate, public_key=pair.public, state=PENDING, sealed=None, version=0,
                       requested_at=utcnow())
    session.add(slot)
    session.flush()
    audit.record(session, f"gate:{pair.gate}", "site_key.request", f"gate:{pair.gate}")
    return slot


def has_site(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(GateKeySlot)
                          .where(GateKeySlot.state == APPROVED)) != 0


def found_site(session: Session, pair: sealing.GateKeyPair, keyring: Keyring, *, actor: str) -> int:
    """The first gate: its slot is approved at once with `keyring` (the key file it had, or a new key).
    Returns the number of data keys wrapped by keys the keyring does not hold (other gates' own keys)."""
    if has_site(session):
        raise ConflictError("This database has a site key already: run `gate join` without --first, and have "
                            "the gate approved at a gate of the site.")
    slot = request_slot(session, pair)
    slot.state, slot.approved_at, slot.approved_by = APPROVED, utcnow(), actor
    slot.sealed = seal_keyring(pair.gate, pair.public, keyring)
    slot.version = 1
    audit.record(session, actor, "site_key.found", f"gate:{pair.gate}", kek=keyring.current.id)
    held = {keyring.current.id, *(k.id for k in (keyring.pending,) if k), *keyring.retired}
    return session.scalar(select(func.count()).select_from(DataKey).where(DataKey.kek_id.not_in(held))) or 0


def fingerprint_of(public_key: bytes) -> str:
    """What `gate join` prints and the approver compares (`gate gates keys`, the web UI's Site page)."""
    return public_key.hex()[:16]


def approve(session: Session, gate: str, keyring: Keyring, *, actor: str,
            expected_fingerprint: str | None = None) -> GateKeySlot:
    """Seal the site keyring for a pending gate (run where the site key is held, under `exclusive`).
    With `expected_fingerprint`, a slot whose key has another fingerprint is refused: the approver
    compared that one (a key swapped in after the comparison must not get the site key)."""
    slot = session.scalar(select(GateKeySlot).where(GateKeySlot.gate == gate).with_for_update())
    if slot is None:
        raise NotFoundError(f"No gate {gate!r} asked to join: run `gate join` on that gate first.")
    fingerprint = fingerprint_of(slot.public_key)
    if expected_fingerprint and fingerprint != expected_fingerprint.strip().lower():
        raise ConflictError(f"Gate {gate}'s key has fingerprint {fingerprint}, not {expected_fingerprint}: "
                            "do not approve it; revoke it and join again.")
    slot.sealed = seal_keyring(gate, slot.public_key, keyring)
    slot.state, slot.approved_at, slot.approved_by = APPROVED, utcnow(), actor
    slot.version += 1
    audit.record(session, actor, "site_key.approve", f"gate:{gate}", fingerprint=fingerprint)
    return slot


def revoke(session: Session, gate: str, *, actor: str) -> None:
    """Delete the gate's slot and ask for a rotation: the key its private key opens must be destroyed."""
    slot = session.scalar(select(GateKeySlot).where(GateKeySlot.gate == gate))
    if slot is None:
        raise NotFoundError(f"No gate {gate!r} in the site's key slots (`gate gates keys`).")
    session.delete(slot)
    shredding.mark_follow_up_due(session)
    audit.record(session, actor, "site_key.revoke", f"gate:{gate}")


def slots(session: Session) -> list[GateKeySlot]:
    return list(session.scalars(select(GateKeySlot).order_by(GateKeySlot.gate)))


# -- restore -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotSnapshot:
    gate: str
    public_key: bytes
    state: str
    version: int
    requested_at: object
    approved_at: object
    approved_by: str | None


def snapshot(session: Session) -> list[SlotSnapshot]:
    """The live slots before a restore replaces the database (membership is never taken from a backup:
    its slots are sealed for key pairs the gates have since destroyed, and name revoked gates)."""
    try:
        rows = slots(session)
    except SQLAlchemyError:
        return []
    return [SlotSnapshot(s.gate, s.public_key, s.state, s.version, s.requested_at, s.approved_at, s.approved_by)
            for s in rows]


def reinstate(session: Session, kept: list[SlotSnapshot], keyring: Keyring) -> None:
    """After a restore: the live slots again, each approved one sealed with the current keyring."""
    session.execute(delete(GateKeySlot))
    for s in kept:
        approved = s.state == APPROVED
        session.add(GateKeySlot(
            gate=s.gate, public_key=s.public_key, state=s.state, version=s.version + 1,
            sealed=seal_keyring(s.gate, s.public_key, keyring) if approved else None,
            requested_at=s.requested_at, approved_at=s.approved_at, approved_by=s.approved_by))
    session.flush()
