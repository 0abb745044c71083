"""Many gates, one site key (issue 17 item 3): two installations, "north" and "south", on one real local
PostgreSQL database. The site key reaches every approved gate through its slot, sealed for that gate's
own key pair; no key file is ever copied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, update

from gate.context import GateContext
from gate.errors import KeyUnavailableError
from gate.secrets.sealing import GateKeyPair
from gate.store import rotation, site_keys
from gate.store.models import DataKey, GateKeySlot, Resident
from tests.conftest import GateCli, make_installation

from . import site
from .helpers import resident_with_template
from .site import Site, write_config

# The shared fixtures of tests/store/site.py, used by name.
site_url, joined = site.site_url, site.joined

pytestmark = pytest.mark.postgres


def _template_at(ctx: GateContext, resident_id: int) -> np.ndarray:
    with ctx.sessions() as session:
        resident = session.get(Resident, resident_id)
        assert resident is not None
        stored = ctx.store.load(session, resident)
        assert stored is not None
        return stored.encodings


def _key_files(data_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (data_dir / "keys").iterdir() if p.is_file()}


def test_join_asks_approval_and_a_template_enrolled_at_north_opens_at_south(tmp_path: Path, site_url: str) -> None:
    north_dir = make_installation(tmp_path / "north", site_url)
    GateCli(north_dir).ok("join", "--first", "--name", "north")
    # The key moved into north's slot: no key file remains to be copied, lost or left behind a rotation.
    assert not (north_dir / "keys" / "master.key").exists()
    south_dir = tmp_path / "south"
    write_config(south_dir, site_url)
    GateCli(south_dir).ok("join", "--name", "south")
    assert not (south_dir / "keys" / "master.key").exists()
    assert (south_dir / "keys" / "gate.key").stat().st_mode & 0o777 == 0o600
    north, south = GateContext.open(north_dir), GateContext.open(south_dir)
    try:
        rid, encodings = resident_with_template(north, "N1", seed=1)
        with pytest.raises(KeyUnavailableError, match="waiting for approval"):
            _template_at(south, rid)
        bad = GateCli(north_dir)("gates", "approve", "south", "--fingerprint", "0000000000000000")
        assert bad.exit_code != 0 and "do not approve" in bad.output + bad.stderr
        GateCli(north_dir).ok("gates", "approve", "south")
        assert np.allclose(_template_at(south, rid), encodings)
        # and the other way round: enrolled at south, verified at north
        rid2, encodings2 = resident_with_template(south, "S1", seed=2)
        assert np.allclose(_template_at(north, rid2), encodings2)
    finally:
        north.close()
        south.close()


def test_a_second_gate_init_refuses_to_make_its_own_key_on_a_site_database(tmp_path: Path, site_url: str) -> None:
    north_dir = make_installation(tmp_path / "north", site_url)
    GateCli(north_dir).ok("join", "--first", "--name", "north")
    south_dir = tmp_path / "south"
    write_config(south_dir, site_url)
    result = GateCli(south_dir)("init")
    assert result.exit_code != 0
    assert "run `gate join`" in result.output + result.stderr
    assert not (south_dir / "keys" / "master.key").exists()


def test_a_rotation_at_north_reaches_south_without_copying_files(joined: Site) -> None:
    rid, encodings = resident_with_template(joined.north, "R1", seed=3)
    before = joined.south.key_file.load().current.id
    south_files = set(_key_files(joined.south_dir))
    report = rotation.rotate(joined.north.sessions, joined.north.key_file, actor="test")
    assert report.new_key_id != before and report.foreign == 0
    # south opens the re-wrapped template with the new key, from its slot
    assert np.allclose(_template_at(joined.south, rid), encodings)
    keyring = joined.south.key_file.load()
    assert keyring.current.id == report.new_key_id and before in keyring.retired
    assert set(_key_files(joined.south_dir)) == south_files  # no key file appeared or was needed


def test_the_automatic_rotation_after_a_deletion_at_south_reaches_north(joined: Site) -> None:
    keep, encodings = resident_with_template(joined.north, "K1", seed=4)
    gone, _ = resident_with_template(joined.north, "G1", seed=5)
    old = joined.north.key_file.load().current.id
    from gate.store import rights

    with joined.south.transaction() as session:
        resident = session.get(Resident, gone)
        rights.delete_face(session, resident, joined.south.store, actor="op")
    report = joined.south.upkeep().follow_up(actor="service")
    assert report is not None and report.new_key_id != old
    assert np.allclose(_template_at(joined.north, keep), encodings)
    assert old in joined.north.key_file.load().retired


def test_after_picking_up_a_key_a_gate_replaces_its_key_pair(joined: Site) -> None:
    """A private key stolen later must not open the copy of a destroyed key an old backup holds."""
    joined.south.key_file.load()
    with joined.south.sessions() as session:
        before = session.scalar(select(GateKeySlot).where(GateKeySlot.gate == "south"))
        assert before is not None
        old_sealed, old_public = before.sealed, before.public_key
    old_private = GateKeyPair.read(joined.south_dir / "keys" / "gate.key")
    rotation.rotate(joined.north.sessions, joined.north.key_file, actor="test")
    joined.south.key_file.load()
    now = GateKeyPair.read(joined.south_dir / "keys" / "gate.key")
    assert now.public != old_public and old_private.public == old_public
    # the old copy (as in a backup) opens only with the old private key, which is gone from the gate
    assert old_sealed is not None
    with pytest.raises(KeyUnavailableError):
        GateKeyPair(now.gate, now.private, now.path).open(old_sealed, b"gate-site-keyring/1|south")


def test_rotation_never_aborts_on_data_keys_wrapped_by_keys_it_does_not_hold(tmp_path: Path, site_url: str) -> None:
    """Before a site exists, each gate had its own key: north's rotation leaves south's templates alone."""
    north_dir = make_installation(tmp_path / "north", site_url)
    south_dir = make_installation(tmp_path / "south", site_url)
    north, south = GateContext.open(north_dir), GateContext.open(south_dir)
    try:
        mine, own = resident_with_template(north, "M1", seed=6)
        theirs, encodings = resident_with_template(south, "T1", seed=7)
        report = rotation.rotate(north.sessions, north.key_file, actor="test")
        assert report.foreign == 1 and report.rewrapped == 1 and report.unreadable == 0
        assert np.allclose(_template_at(south, theirs), encodings)
        assert np.allclose(_template_at(north, mine), own)
        with north.sessions() as session:
            assert session.scalar(select(func.count()).select_from(DataKey)) == 2
    finally:
        north.close()
        south.close()


def test_a_garbled_or_revoked_slot_makes_the_key_unavailable_at_that_gate_only(joined: Site) -> None:
    rid, encodings = resident_with_template(joined.north, "V1", seed=8)
    assert np.allclose(_template_at(joined.south, rid), encodings)
    with joined.north.transaction() as session:
        session.execute(update(GateKeySlot).where(GateKeySlot.gate == "south")
                        .values(sealed=b"\x00" * 80, version=GateKeySlot.version + 1))
    with pytest.raises(KeyUnavailableError, match="does not open"):
        joined.south.key_file.load()
    assert np.allclose(_template_at(joined.north, rid), encodings)
    result = GateCli(joined.north_dir).ok("gates", "revoke", "south")
    assert "rotated" in result
    with pytest.raises(KeyUnavailableError, match="no site key slot"):
        joined.south.key_file.load()
    assert np.allclose(_template_at(joined.north, rid), encodings)
    with joined.north.sessions() as session:
        assert [s.gate for s in site_keys.slots(session)] == ["north"]


def test_keys_init_refuses_at_a_gate_of_a_site(joined: Site) -> None:
    result = GateCli(joined.south_dir)("keys", "init")
    assert result.exit_code != 0 and "joined a site" in result.output + result.stderr
    assert not (joined.south_dir / "keys" / "master.key").exists()
