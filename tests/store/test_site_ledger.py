"""The deletion ledger, site-wide: a deletion at one gate is held by every gate's local files, so a restore
of an older backup at any gate deletes it again (real local PostgreSQL, two installations, one database)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from gate.context import GateContext
from gate.store import rights
from gate.store.models import Consent, FaceTemplate, Resident, SharedLedgerLine
from tests.conftest import GateCli

from . import site
from .helpers import resident_with_template
from .site import Site

pytestmark = pytest.mark.postgres

site_url, joined = site.site_url, site.joined


def _templates_of(ctx: GateContext, resident_id: int) -> np.ndarray | None:
    with ctx.sessions() as session:
        resident = session.get(Resident, resident_id)
        if resident is None:
            return None
        stored = ctx.store.load(session, resident)
        return stored.encodings if stored is not None else None


def test_a_deletion_at_south_is_applied_by_north_after_a_restore_of_an_older_backup(joined: Site,
                                                                                    tmp_path: Path) -> None:
    gone, _ = resident_with_template(joined.north, "G1", seed=11, card="7001")
    keep, _ = resident_with_template(joined.north, "K1", seed=12, card="7002")
    joined.south.key_file.load()  # south has picked the site key up (and replaced its key pair) before
    with joined.north.sessions() as session:
        gone_pseudonym = session.get(Resident, gone).face_pseudonym  # type: ignore[union-attr]
    backup = tmp_path / "before.dump"
    GateCli(joined.north_dir).ok("backup", str(backup))

    with joined.south.transaction() as session:
        resident = session.get(Resident, gone)
        rights.delete_resident(session, resident, joined.south.store, actor="op")
    # south's own ledger has it; north's own ledger does not (it deleted nothing)
    assert len(joined.south.ledger.entries()) == 1 and joined.north.ledger.entries() == []
    # The service's every-few-minutes upkeep at south publishes the deletion and rotates the site key
    # (the follow-up); north's copies it.
    rotated = joined.south.upkeep().follow_up(actor="service")
    assert rotated is not None
    assert joined.north.upkeep().exchange_ledger().pulled == 1
    copies = list((joined.north_dir / "keys" / "site-ledger").glob("*.jsonl"))
    assert len(copies) == 1 and copies[0].stat().st_mode & 0o777 == 0o600

    GateCli(joined.north_dir).ok("restore", str(backup), "--yes")  # the table is the backup's again: empty

    with joined.north.sessions() as session:
        assert session.get(Resident, gone) is None
        assert session.scalar(select(FaceTemplate).where(FaceTemplate.pseudonym == gone_pseudonym)) is None
        assert session.scalar(select(Consent).where(Consent.resident_id == gone)) is None
        # the restore published north's copy again, so a gate that never copied it gets it back
        assert session.scalar(select(SharedLedgerLine.seq)) == 1
        # the kept resident's template was wrapped by the key destroyed since: deleted, card kept
        kept = session.get(Resident, keep)
        assert kept is not None and kept.face_pseudonym is None and kept.cards
    # The site's key slots are today's, not the backup's (whose copies were sealed for key pairs the gates
    # have since replaced): both gates still hold the current site key, and a new enrolment works across.
    # (the restore rotated once more: the re-deleted rows were under the current key)
    north_keys, south_keys = joined.north.key_file.load(), joined.south.key_file.load()
    assert north_keys == south_keys and rotated.new_key_id in (north_keys.current.id, *north_keys.retired)
    again, encodings = resident_with_template(joined.north, "K2", seed=15)
    assert np.allclose(_templates_of(joined.south, again), encodings)  # type: ignore[arg-type]


def test_a_copy_that_disagrees_is_reported_and_not_taken(joined: Site) -> None:
    gone, _ = resident_with_template(joined.south, "D1", seed=13)
    with joined.south.transaction() as session:
        rights.delete_face(session, session.get(Resident, gone), joined.south.store, actor="op")
    joined.south.upkeep().exchange_ledger()
    with joined.north.transaction() as session:
        line = json.loads(session.scalar(select(SharedLedgerLine.line)) or "{}")
        line["templates"] = ["forged"]
        session.execute(update(SharedLedgerLine).values(line=json.dumps(line)))
    report = joined.north.upkeep().exchange_ledger()
    assert report.pulled == 0 and report.problems
    assert not list((joined.north_dir / "keys" / "site-ledger").glob("*.jsonl")) or all(
        p.read_text() == "" for p in (joined.north_dir / "keys" / "site-ledger").glob("*.jsonl"))


def test_the_shared_ledger_holds_no_identity(joined: Site) -> None:
    gone, _ = resident_with_template(joined.south, "Q-unit-9", seed=14, card="99887766", pin="246810")
    with joined.south.transaction() as session:
        rights.delete_resident(session, session.get(Resident, gone), joined.south.store, actor="op")
    joined.south.upkeep().exchange_ledger()
    with joined.north.sessions() as session:
        text = " ".join(session.scalars(select(SharedLedgerLine.line)))
        origins = set(session.scalars(select(SharedLedgerLine.origin)))
    assert text and "Q-unit-9" not in text and "Resident" not in text and "99887766" not in text
    assert "south" not in origins  # a random id, not the gate's name
