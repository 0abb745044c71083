"""`gate keys rotate`: re-wrap every data key under a new master key.

Template ciphertexts are not touched: only the small wrapped data keys change. The new key is first
written to the key file as "pending"; data keys are re-wrapped in committed batches; only when none is
left under the old key does "pending" become "current". Interrupted anywhere, nothing is lost: the
key file holds both keys, and running the command again finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gate.clock import utcnow
from gate.secrets import envelope as crypto
from gate.secrets.keys import KeyFile, Keyring, MasterKey
from gate.store import audit
from gate.store.db import transaction
from gate.store.models import DataKey, SystemState

LAST_ROTATION_KEY = "last_key_rotation"
BATCH = 200


@dataclass(frozen=True)
class RotationReport:
    rewrapped: int
    new_key_id: str
    resumed: bool


def rotate(sessions: sessionmaker[Session], key_file: KeyFile, *, actor: str,
           progress: Callable[[int, int], None] | None = None) -> RotationReport:
    keyring = key_file.load()
    resumed = keyring.pending is not None
    if keyring.pending is None:
        keyring = Keyring(current=keyring.current, pending=MasterKey.generate())
        key_file.save(keyring)
    new = keyring.pending
    assert new is not None

    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(DataKey).where(DataKey.kek_id != new.id)) or 0
    done = 0
    while True:
        with transaction(sessions) as session:
            batch = list(session.scalars(select(DataKey).where(DataKey.kek_id != new.id).limit(BATCH)))
            for data_key in batch:
                old = keyring.by_id(data_key.kek_id)
                plain = crypto.unwrap_data_key(old, data_key.template_id, data_key.wrapped)
                data_key.wrapped = crypto.wrap_data_key(new, data_key.template_id, plain)
                data_key.kek_id = new.id
        if not batch:
            break
        done += len(batch)
        if progress:
            progress(done, total)

    with transaction(sessions) as session:
        state = session.get(SystemState, LAST_ROTATION_KEY) or SystemState(key=LAST_ROTATION_KEY)
        state.value = utcnow().isoformat()
        session.add(state)
        audit.record(session, actor, "keys.rotate", f"kek:{new.id}", rewrapped=done, resumed=resumed)
    key_file.save(Keyring(current=new))
    return RotationReport(done, new.id, resumed)
