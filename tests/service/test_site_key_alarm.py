"""A gate of a site whose key slot is garbled or revoked raises `site_key`: face is degraded there, card and
PIN keep working; the alarm clears once the slot opens again (docs/keys.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from gate.context import GateContext
from gate.face.engine import FaceEngine, ModelPaths
from gate.store.models import GateKeySlot
from tests.conftest import GateCli
from tests.service.conftest import CARD, CODE, PIN, make_installation, record_face_allowed

FACE_WAYS = {"face", "card+face"}


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[GateContext]:
    """The service tests' installation, founded as a site: its key lives in its slot, not in a file."""
    data = tmp_path / "data"
    make_installation(data).close()
    GateCli(data).ok("join", "--first", "--name", "main")
    ctx = GateContext.open(data)
    yield ctx
    ctx.close()


def test_a_garbled_or_revoked_slot_raises_site_key_and_card_and_pin_still_work(gate_factory, tmp_path: Path) -> None:
    gate = gate_factory(face_engine=FaceEngine(ModelPaths(tmp_path / "a.dat", tmp_path / "b.dat")),
                        cache_refresh_seconds=0.3)
    record_face_allowed(gate.ctx, tmp_path)
    gate.runtime.reload_policy()

    def alarms() -> set[str]:
        return set(gate.runtime.snapshot().alarms)

    assert not (gate.ctx.settings.key_file).exists()
    assert gate.wait_for(lambda: "site_key" not in alarms())
    assert gate.wait_for(lambda: gate.ctx.key_file.load() is not None)
    with gate.ctx.transaction() as session:
        slot = session.scalar(select(GateKeySlot).where(GateKeySlot.gate == "main"))
        assert slot is not None
        good, version = slot.sealed, slot.version
        slot.sealed, slot.version = b"\x01" * 90, version + 1

    assert gate.wait_for(lambda: "site_key" in alarms())
    assert gate.wait_for(lambda: FACE_WAYS <= set(gate.runtime.snapshot().degraded))
    assert not {"card", "pin"} & set(gate.runtime.snapshot().degraded)
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() >= 1)

    with gate.ctx.transaction() as session:  # the slot as it was: the alarm clears
        session.execute(update(GateKeySlot).where(GateKeySlot.gate == "main").values(sealed=good, version=version + 2))
    assert gate.wait_for(lambda: "site_key" not in alarms())

    GateCli(gate.ctx.settings.data_dir).ok("gates", "revoke", "main")
    assert gate.wait_for(lambda: "site_key" in alarms())
    gate.pin_on_screen(CODE, PIN)
    assert gate.wait_for(lambda: gate.releases() >= 2)
