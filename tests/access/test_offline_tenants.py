"""The offline copy carries validity periods and visitor codes: enforced offline, capped, kept on disk."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from gate.access.offline import OfflineCache
from gate.access.offline_disk import decode_content, encode_content
from gate.clock import utcnow
from gate.context import GateContext
from gate.core.decision import Reason
from gate.store import gates, residents, validity, visitors
from gate.store.face_standing import site_today
from tests.conftest import fast_hasher
from tests.service.conftest import CARD, CODE, PIN


@pytest.fixture
def installation(_sqlite_template: Path, tmp_path: Path) -> Iterator[GateContext]:
    """The service tests' seeded installation (one resident with card and PIN), copied from the session's
    template and with the test-cost hasher."""
    shutil.copytree(_sqlite_template, tmp_path / "data")
    ctx = GateContext.open(tmp_path / "data")
    ctx.hasher = fast_hasher()
    with ctx.transaction() as session:
        resident = residents.add_resident(session, code=CODE, name="Test Resident", actor="test")
        residents.add_card(session, resident, CARD, actor="test")
        residents.set_pin(session, resident, PIN, ctx.hasher, actor="test")
    yield ctx
    ctx.close()


def test_offline_copy_enforces_validity_and_caps_visitor_codes(installation: GateContext) -> None:
    ctx = installation
    now = utcnow()
    today = site_today(now, ctx.settings.site.timezone)
    with ctx.transaction() as session:
        gate = gates.get_gate(session, "main")
        gates.set_gate(session, gate, actor="t", methods="card,pin")
        other = gates.add_gate(session, "north", actor="t")
        twice = visitors.issue(session, ctx.hasher, label="", gate_ids=[gate.id], valid_from=now - timedelta(hours=1),
                               valid_until=now + timedelta(hours=1), entries=2, actor="op")
        elsewhere = visitors.issue(session, ctx.hasher, label="", gate_ids=[other.id],
                                   valid_from=now - timedelta(hours=1), valid_until=now + timedelta(hours=1),
                                   entries=2, actor="op")
    cache = OfflineCache(ctx.settings, ctx.hasher, max_age_seconds=4 * 3600, timezone=ctx.settings.site.timezone)
    cache.refresh(ctx.sessions, "main", now)
    assert cache.card(CARD, now).decision.granted
    assert cache.visitor(elsewhere.code, now).decision.reason is Reason.VISITOR_UNKNOWN  # not in this gate's copy

    # The copy is what the disk keeps: validity and visitor codes survive the round trip.
    with ctx.transaction() as session:
        validity.set_resident_validity(session, residents.get_resident(session, CODE), None,
                                       today - timedelta(days=1), actor="t")
    cache.refresh(ctx.sessions, "main", now)
    assert cache.copy is not None
    cache.adopt(decode_content(encode_content(cache.copy), cache.copy.loaded_at + timedelta(seconds=1)))
    assert cache.card(CARD, now).decision.reason is Reason.EXPIRED
    assert cache.pin(CODE, PIN, now).decision.reason is Reason.EXPIRED

    # Capped at the copy's remaining entries, whatever the database would say later.
    outcomes = [cache.visitor(twice.code, now) for _ in range(3)]
    assert [o.decision.reason for o in outcomes] == [Reason.GRANTED, Reason.GRANTED, Reason.VISITOR_USED_UP]
    assert outcomes[0].visitor_id == twice.visitor_id
    assert cache.visitor(twice.code, now + timedelta(hours=2)).decision.reason is Reason.VISITOR_EXPIRED
