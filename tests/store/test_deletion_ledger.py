"""R4: a restored backup brings back no consent, link, template or resident deleted since it was taken.

The deletion ledger beside the key file records every committed deletion; `gate restore` (and every
purge) re-applies it; the master key rotation that follows each deletion makes the backup's copies of
deleted templates unreadable. Run on SQLite and on the real local PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from gate.context import GateContext
from gate.errors import KeyUnavailableError
from gate.secrets.ledger import DeletionLedger
from gate.store import backup as copies
from gate.store import consent, residents, rights
from gate.store.models import Consent, DataKey, FaceTemplate, Resident, ResidentStatus
from tests.conftest import GateCli

from .helpers import get, resident_with_template


def _people(ctx: GateContext) -> dict[str, int]:
    return {code: resident_with_template(ctx, code, seed=i, card=f"{1000 + i}", pin="135790")[0]
            for i, code in enumerate(("A", "B", "C", "D"))}


def _current(session, resident_id: int) -> Consent | None:
    return session.scalar(select(Consent).where(Consent.resident_id == resident_id, Consent.withdrawn_at.is_(None)))


def _delete_a_c_d(ctx: GateContext, ids: dict[str, int]) -> None:
    with ctx.transaction() as session:
        rights.delete_face(session, get(ctx, session, ids["A"]), ctx.store, actor="op")
    with ctx.transaction() as session:
        rights.delete_resident(session, get(ctx, session, ids["C"]), ctx.store, actor="op")
    with ctx.transaction() as session:
        residents.move_out(session, get(ctx, session, ids["D"]), ctx.store, actor="op")


def test_a_committed_deletion_is_in_the_ledger_and_a_rolled_back_one_is_not(ctx):
    ids = {code: resident_with_template(ctx, code, seed=i, card=f"{2000 + i}")[0] for i, code in enumerate("XY")}
    with ctx.sessions() as session:
        x_pseudonym = get(ctx, session, ids["X"]).face_pseudonym
    with ctx.transaction() as session:
        rights.delete_face(session, get(ctx, session, ids["X"]), ctx.store, actor="op")

    class Cancelled(Exception):
        pass

    with pytest.raises(Cancelled), ctx.transaction() as session:
        rights.delete_face(session, get(ctx, session, ids["Y"]), ctx.store, actor="op")
        raise Cancelled

    entries = ctx.ledger.entries()
    assert len(entries) == 1
    (entry,) = entries
    assert entry.pseudonyms == (x_pseudonym,) and len(entry.templates) == 1 and len(entry.consents) == 1
    assert entry.receipts and entry.seq == 1
    raw = ctx.ledger.path.read_text()
    assert "Resident X" not in raw and "2000" not in raw  # no name, no card number
    assert ctx.ledger.path.stat().st_mode & 0o777 == 0o600
    with ctx.sessions() as session:  # Y untouched
        assert ctx.store.has_template(session, get(ctx, session, ids["Y"]))


def test_an_edited_ledger_is_refused_not_skipped(ctx):
    resident_id, _ = resident_with_template(ctx, "E", card="3000")
    with ctx.transaction() as session:
        rights.delete_face(session, get(ctx, session, resident_id), ctx.store, actor="op")
    line = json.loads(ctx.ledger.path.read_text())
    line["pseudonyms"] = []
    ctx.ledger.path.write_text(json.dumps(line) + "\n")
    with pytest.raises(KeyUnavailableError, match="damaged"):
        DeletionLedger(ctx.ledger.path).entries()


def test_restoring_an_old_backup_brings_nobody_back(any_ctx, any_data_dir, tmp_path):
    ctx = any_ctx
    ids = _people(ctx)
    backup_file = copies.backup(ctx.engine, tmp_path / f"before{copies.suffix_for(ctx.engine)}")
    assert backup_file.stat().st_mode & 0o777 == 0o600
    assert ctx.key_file.load().current.key not in backup_file.read_bytes()  # never the key file

    _delete_a_c_d(ctx, ids)
    followed = ctx.upkeep().run(site_days=365, actor="service")
    assert followed.rotation is not None  # the deletions asked for a rotation, and got it

    # The raw copy alone resurrects them: this is what the ledger is for.
    copies.restore(ctx.engine, backup_file)
    with ctx.sessions() as session:
        assert _current(session, ids["A"]) is not None
        assert session.get(Resident, ids["C"]) is not None

    result = GateCli(any_data_dir).ok("restore", "--yes", str(backup_file))
    assert "consents withdrawn again" in result

    with ctx.sessions() as session:
        a = get(ctx, session, ids["A"])
        assert _current(session, ids["A"]) is None and a.face_pseudonym is None
        assert session.get(Resident, ids["C"]) is None
        d = get(ctx, session, ids["D"])
        assert d.status is ResidentStatus.MOVED_OUT and d.face_pseudonym is None and _current(session, ids["D"]) is None
        # B was never deleted: consent and cards stand; the template copy in the backup was wrapped by a
        # master key destroyed since, so it is deleted and B may enroll again (said on screen).
        b = get(ctx, session, ids["B"])
        assert _current(session, ids["B"]) is not None and [c.uid for c in b.cards]
        assert session.scalar(select(func.count()).select_from(FaceTemplate)) == 0
        assert session.scalar(select(func.count()).select_from(DataKey)) == 0
    assert "wrapped by master keys destroyed since the backup" in result


def test_restoring_a_backup_taken_after_the_rotation_keeps_the_living_and_drops_the_deleted(ctx, data_dir, tmp_path):
    """A backup newer than the last rotation: its templates still open; the ledger alone removes the
    deleted person, and the living keep their face."""
    ids = _people(ctx)
    ctx.upkeep().run(site_days=365, actor="service")
    backup_file = copies.backup(ctx.engine, tmp_path / "after-rotation.sqlite")
    with ctx.transaction() as session:
        rights.delete_face(session, get(ctx, session, ids["A"]), ctx.store, actor="op")

    GateCli(data_dir).ok("restore", "--yes", str(backup_file))

    with ctx.sessions() as session:
        assert _current(session, ids["A"]) is None and get(ctx, session, ids["A"]).face_pseudonym is None
        for code in "BCD":
            stored = ctx.store.load(session, get(ctx, session, ids[code]))
            assert stored is not None  # decrypts with the key file as it is now


def test_restore_refuses_without_the_key_file_and_changes_nothing(ctx, data_dir, tmp_path):
    ids = _people(ctx)
    backup_file = copies.backup(ctx.engine, tmp_path / "b.sqlite")
    with ctx.transaction() as session:
        rights.delete_face(session, get(ctx, session, ids["A"]), ctx.store, actor="op")
    key_copy = ctx.key_file.path.read_bytes()
    ctx.key_file.path.unlink()
    result = GateCli(data_dir)("restore", "--yes", str(backup_file))
    assert result.exit_code != 0 and "master key file" in result.output
    ctx.key_file.path.write_bytes(key_copy)
    ctx.key_file.path.chmod(0o600)
    with ctx.sessions() as session:
        assert _current(session, ids["A"]) is None  # the database was not replaced


def test_purge_applies_the_ledger_to_a_database_copied_back_by_hand(ctx, data_dir, tmp_path):
    """An operator who copies an old database file back without `gate restore`: the service's next
    purge (here `gate purge`) withdraws again what the ledger holds."""
    ids = _people(ctx)
    backup_file = copies.backup(ctx.engine, tmp_path / "b.sqlite")
    with ctx.transaction() as session:
        consent.withdraw_consent(session, get(ctx, session, ids["A"]), ctx.store, operator="op")
    copies.restore(ctx.engine, backup_file)
    with ctx.sessions() as session:
        assert _current(session, ids["A"]) is not None
    GateCli(data_dir).ok("purge")
    with ctx.sessions() as session:
        assert _current(session, ids["A"]) is None and get(ctx, session, ids["A"]).face_pseudonym is None
