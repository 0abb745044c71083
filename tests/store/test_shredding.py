"""Crypto-shredding: after deletion the SQLite file holds neither the ciphertext nor the wrapped key."""

from sqlalchemy import select

from gate.store import consent
from gate.store.models import DataKey, FaceTemplate

from .helpers import get, resident_with_template


def test_deleted_template_bytes_are_gone_from_the_database_file(ctx, data_dir):
    resident_id, _ = resident_with_template(ctx, "A1")
    with ctx.sessions() as session:
        ciphertext = session.scalar(select(FaceTemplate.ciphertext))
        wrapped = session.scalar(select(DataKey.wrapped))
    db_file = data_dir / "gate.db"
    before = db_file.read_bytes()
    assert ciphertext in before and wrapped in before  # the check below can fail

    with ctx.transaction() as session:
        consent.withdraw_consent(session, get(ctx, session, resident_id), ctx.store, operator="op")
    ctx.engine.dispose()

    after = db_file.read_bytes()
    assert ciphertext not in after
    assert wrapped not in after
    assert not (data_dir / "gate.db-wal").exists()
