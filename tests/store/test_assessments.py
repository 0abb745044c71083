"""U1: one impact-assessment function with one set of checks, for the CLI and the web UI alike."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gate.errors import PolicyError
from gate.store import assessments, audit, gates
from gate.store.models import ImpactAssessment

# 20:00 UTC on 1 Dec is already 2 Dec in Shanghai, and still 1 Dec in UTC.
EVENING_UTC = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


def _record(ctx, **overrides):
    kwargs = {"assessed_on": date(2026, 11, 1), "approver": "DPO Li", "document": b"%PDF signed", "actor": "t",
              "site_timezone": "UTC", "now": EVENING_UTC} | overrides
    with ctx.transaction() as session:
        return assessments.record_assessment(session, gates.get_gate(session, "main"), **kwargs).document_sha256


def _count(ctx) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count(ImpactAssessment.id))) or 0


def test_a_valid_assessment_keeps_the_hash_and_is_audited(any_ctx) -> None:
    digest = _record(any_ctx)
    assert len(digest) == 64 and _count(any_ctx) == 1
    with any_ctx.sessions() as session:
        assert audit.verify(session).ok


@pytest.mark.parametrize(("overrides", "message"), [
    ({"approver": "  "}, "needs the name of its approver"),
    ({"approver": "x" * 201}, "at most 200 characters"),
    ({"document": b""}, "Attach the signed assessment document"),
    ({"assessed_on": date(2026, 12, 2)}, "is in the future (today at the site is 2026-12-01)"),
])
def test_incomplete_or_future_assessments_are_refused(any_ctx, overrides, message) -> None:
    with pytest.raises(PolicyError, match=r"\.$") as err:
        _record(any_ctx, **overrides)
    assert message in str(err.value)
    assert _count(any_ctx) == 0


def test_today_is_the_site_local_date(ctx) -> None:
    _record(ctx, assessed_on=date(2026, 12, 2), site_timezone="Asia/Shanghai")
    assert _count(ctx) == 1
    with pytest.raises(PolicyError, match="in the future"):
        _record(ctx, assessed_on=date(2026, 12, 3), site_timezone="Asia/Shanghai")


def test_an_unreadable_document_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"^Cannot read the assessment document .*missing\.pdf: .+\.$"):
        assessments.read_document(tmp_path / "missing.pdf")
    with pytest.raises(PolicyError, match="Cannot read"):
        assessments.read_document(tmp_path)
