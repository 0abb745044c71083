"""`gate keys rotate`: re-wrap every data key under a new master key.

Template ciphertexts are not touched: only the small wrapped data keys change. The new key is first
written to the key file as "pending"; data keys are re-wrapped in committed batches; only when none is
left under the old key does "pending" become "current" and the old key is destroyed (its id is kept
as "retired"). Interrupted anywhere, nothing is lost: the key file holds both keys, and running the
command again finishes the job. The service runs a rotation by itself after deletions (gate.store.upkeep).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gate.clock import utcnow
from gate.secrets import envelope as crypto
from gate.secrets.keys import Keyring, KeyStore, MasterKey
from gate.store import audit, shredding
from gate.store.db import transaction
from gate.store.face_templates import shred_templates, unlink_orphans
from gate.store.models import DataKey, SystemState

LAST_ROTATION_KEY = "last_key_rotation"
BATCH = 200


@dataclass(frozen=True)
class RotationReport:
    rewrapped: int
    new_key_id: str
    resumed: bool
    #: Data keys under a master key this installation destroyed (a restored copy): shredded.
    unreadable: int = 0
    #: Data keys under a master key this key file never held (another installation's): left alone.
    foreign: int = 0


def rotate(sessions: sessionmaker[Session], key_file: KeyStore, *, actor: str,
           progress: Callable[[int, int], None] | None = None) -> RotationReport:
    """Re-wrap every data key under a new master key, then destroy the old one (it is only named, as
    retired, in the key file). Deletions committed before the rotation started can then never be
    decrypted from anything: dead rows, WAL, backups. One rotation at a time across processes."""
    with key_file.exclusive():
        return _rotate(sessions, key_file, actor, progress)


def _rotate(sessions: sessionmaker[Session], key_file: KeyStore, actor: str,
            progress: Callable[[int, int], None] | None) -> RotationReport:
    keyring = key_file.load()
    resumed = keyring.pending is not None
    if keyring.pending is None:
        keyring = Keyring(current=keyring.current, pending=MasterKey.generate(), retired=keyring.retired)
        key_file.save(keyring)
    new = keyring.pending
    assert new is not None
    with sessions() as session:
        covered = shredding.follow_up_token(session)
        total = session.scalar(select(func.count()).select_from(DataKey).where(DataKey.kek_id != new.id)) or 0
    done = unreadable = 0
    foreign: set[str] = set()
    foreign_keys = 0
    while True:
        with transaction(sessions) as session:
            batch = list(session.scalars(select(DataKey).where(DataKey.kek_id.not_in({new.id, *foreign}))
                                         .limit(BATCH)))
            doomed: list[str] = []
            for data_key in batch:
                if keyring.holds(data_key.kek_id):
                    old = keyring.by_id(data_key.kek_id)
                    plain = crypto.unwrap_data_key(old, data_key.template_id, data_key.wrapped)
                    data_key.wrapped = crypto.wrap_data_key(new, data_key.template_id, plain)
                    data_key.kek_id = new.id
                    done += 1
                elif data_key.kek_id in keyring.retired:
                    doomed.append(data_key.template_id)
                else:
                    foreign.add(data_key.kek_id)
                    foreign_keys += session.scalar(select(func.count()).select_from(DataKey)
                                                   .where(DataKey.kek_id == data_key.kek_id)) or 0
            if doomed:
                unreadable += shred_templates(session, doomed)
                unlink_orphans(session)
        if not batch:
            break
        if progress:
            progress(done + unreadable, total)

    retired = tuple(dict.fromkeys((*keyring.retired, *(k.id for k in (keyring.current,) if k.id != new.id))))
    with transaction(sessions) as session:
        state = session.get(SystemState, LAST_ROTATION_KEY) or SystemState(key=LAST_ROTATION_KEY)
        state.value = utcnow().isoformat()
        session.add(state)
        if covered is not None:
            shredding.clear_follow_up(session, covered)
        audit.record(session, actor, "keys.rotate", f"kek:{new.id}", rewrapped=done, resumed=resumed,
                     unreadable=unreadable, foreign=foreign_keys, retired=list(retired))
    key_file.save(Keyring(current=new, retired=retired))
    return RotationReport(done, new.id, resumed, unreadable, foreign_keys)
