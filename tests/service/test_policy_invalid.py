"""A1 end to end: a gate policy written straight into the database that makes face the only way in runs
as its non-face part (card and PIN still open), and the gate raises `policy_invalid` until it is fixed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import update

from gate.context import GateContext
from gate.store.models import Gate as GateRow
from tests.service.conftest import CARD, CODE, PIN, Gate, record_face_allowed
from webui.server import make_app


def write_methods(ctx: GateContext, methods: str) -> None:
    """Past `gates.set_gate` and its checks, as a hand-edited database or an old version would."""
    with ctx.transaction() as session:
        session.execute(update(GateRow).where(GateRow.name == "main").values(methods=methods))


@pytest.mark.parametrize("stored", ["card+face", "face"])
def test_a_face_only_policy_in_the_database_runs_as_card_and_pin_with_an_alarm(
        gate_factory: Callable[..., Gate], installation: GateContext, stored: str) -> None:
    write_methods(installation, stored)
    gate = gate_factory()
    snapshot = gate.runtime.snapshot()
    assert "policy_invalid" in snapshot.alarms
    assert "face" not in snapshot.offered

    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() >= 1)
    assert gate.last_access()["method"] == "card" and gate.last_access()["granted"] is True
    gate.pin_on_screen(CODE, PIN)
    assert gate.wait_for(lambda: gate.releases() >= 2)
    assert gate.last_access()["method"] == "pin" and gate.last_access()["granted"] is True

    client = make_app(gate.ctx, gate.runtime, simulate=True).test_client()
    health = client.get("/api/status").get_json()
    assert "policy_invalid" in health["alarms"]


def test_the_alarm_follows_the_stored_policy_while_the_gate_runs(gate_factory: Callable[..., Gate],
                                                                  tmp_path: Path) -> None:
    gate = gate_factory()
    assert "policy_invalid" not in gate.runtime.snapshot().alarms
    record_face_allowed(gate.ctx, tmp_path)
    write_methods(gate.ctx, "card,face")  # face by resident code, and no PIN to fall back on
    gate.runtime.reload_policy()
    assert gate.wait_for(lambda: "policy_invalid" in gate.runtime.snapshot().alarms)
    assert gate.runtime.snapshot().offered == ["card"]
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() >= 1)
    # a policy is picked up between transactions, never in the middle of one
    assert gate.wait_for(lambda: gate.runtime.snapshot().phase == "idle")

    write_methods(gate.ctx, "card,pin,face")
    gate.runtime.reload_policy()
    assert gate.wait_for(lambda: "policy_invalid" not in gate.runtime.snapshot().alarms)
    assert "face" in gate.runtime.snapshot().offered
