"""R1/R4 on PostgreSQL: after a withdrawal and the product's own follow-up, nothing left in the
database's files, its WAL or an earlier backup can be opened with the key material that remains.

PostgreSQL keeps a deleted row's bytes in the table's data file (a dead tuple) and in the WAL until
they are overwritten; a backup keeps them for good. The test first shows those bytes are really there
and really open with the master key (so it can fail), then runs the follow-up the service runs after
every deletion (master key rotation with the old key destroyed, and a vacuum), then tries again.
Reads the server's files through pg_read_binary_file (the local test server's superuser).
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from gate.context import GateContext
from gate.errors import TemplateIntegrityError
from gate.secrets import envelope as crypto
from gate.secrets.keys import Keyring
from gate.store import backup as copies
from gate.store import rights
from gate.store.models import DataKey, FaceTemplate
from tests.conftest import PG_ADMIN_URL, make_installation

from .helpers import get, resident_with_template

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_ctx(tmp_path: Path) -> Iterator[tuple[GateContext, str]]:
    from tests.conftest import _postgres_database

    databases = _postgres_database()
    url = next(databases)
    context = GateContext.open(make_installation(tmp_path / "data", url))
    yield context, url
    context.close()
    next(databases, None)


def _server_bytes(database: str, since: datetime) -> bytes:
    """The data files of the face tables and every WAL segment written since `since`."""
    with psycopg.connect(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}", autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        chunks = []
        for table in ("data_keys", "face_templates"):
            path = conn.execute("SELECT pg_relation_filepath(%s)", (table,)).fetchone()[0]
            chunks.append(conn.execute("SELECT pg_read_binary_file(%s)", (path,)).fetchone()[0])
        for (name,) in conn.execute("SELECT name FROM pg_ls_waldir() WHERE modification >= %s ORDER BY name",
                                    (since,)).fetchall():
            chunks.append(conn.execute("SELECT pg_read_binary_file(%s)", (f"pg_wal/{name}",)).fetchone()[0])
    return b"".join(bytes(chunk) for chunk in chunks)


def _opens(keyring: Keyring, template_id: str, wrapped: bytes) -> bool:
    for key in (keyring.current, keyring.pending):
        if key is None:
            continue
        try:
            crypto.unwrap_data_key(key, template_id, wrapped)
            return True
        except TemplateIntegrityError:
            continue
    return False


def _restored_copy_keys(backup_file: Path) -> list[tuple[str, bytes]]:
    """Restore the backup into a scratch database and read every wrapped data key it holds."""
    scratch = f"gate_scratch_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{scratch}"')
        try:
            uri = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{scratch}"
            subprocess.run(["pg_restore", "--no-owner", f"--dbname={uri}", str(backup_file)], check=True)
            with psycopg.connect(uri) as conn:
                return [(t, bytes(w)) for t, w in conn.execute("SELECT template_id, wrapped FROM data_keys")]
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def test_withdrawn_face_data_cannot_be_opened_from_files_wal_or_backup_after_the_follow_up(pg_ctx, tmp_path):
    ctx, url = pg_ctx
    database = url.rsplit("/", 1)[1]
    started = datetime.now(UTC) - timedelta(seconds=2)
    a_id, _ = resident_with_template(ctx, "A", seed=1, card="5001")
    b_id, b_encodings = resident_with_template(ctx, "B", seed=2, card="5002")
    with ctx.sessions() as session:
        a_pseudonym = get(ctx, session, a_id).face_pseudonym
        a_template = session.scalar(select(FaceTemplate.id).where(FaceTemplate.pseudonym == a_pseudonym))
        keys = {k.template_id: k.wrapped for k in session.scalars(select(DataKey))}
    assert a_template is not None
    a_wrapped = keys[a_template]
    backup_file = copies.backup(ctx.engine, tmp_path / "before.pgdump")

    with ctx.transaction() as session:
        rights.delete_face(session, get(ctx, session, a_id), ctx.store, actor="op")

    # The premise: the deleted key's bytes are still in the server's files, and the key file opens them.
    assert a_wrapped in _server_bytes(database, started)
    assert _opens(ctx.key_file.load(), a_template, a_wrapped)

    old_master = ctx.key_file.load().current
    report = ctx.upkeep().follow_up(actor="service")
    assert report is not None and report.rewrapped == 1

    keyring = ctx.key_file.load()
    assert not _opens(keyring, a_template, a_wrapped)
    # Every copy of any data key of the deleted template anywhere in the server's files: none opens.
    found = _server_bytes(database, started)
    assert a_wrapped not in found or not _opens(keyring, a_template, a_wrapped)
    # The earlier backup: not one data key in it opens any more, the deleted person's least of all.
    backup_keys = _restored_copy_keys(backup_file)
    assert {t for t, _ in backup_keys} == set(keys)
    assert not any(_opens(keyring, template_id, wrapped) for template_id, wrapped in backup_keys)
    # The living keep their face: B's data key was re-wrapped under the new master key.
    with ctx.sessions() as session:
        stored = ctx.store.load(session, get(ctx, session, b_id))
        assert stored is not None and (stored.encodings == b_encodings).all()
    assert keyring.retired == (old_master.id,)  # the old key's id is kept; the key itself is gone
    assert old_master.to_json()["key"] not in ctx.key_file.path.read_text()
