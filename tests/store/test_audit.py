"""The hash-chained audit log detects edits, deletions, reordering and truncation."""

import pytest
from sqlalchemy import delete, select, update

from gate.store import audit
from gate.store.models import AuditEntry


def _write(ctx, n=5):
    with ctx.transaction() as session:
        for i in range(n):
            audit.record(session, "op", "test.action", f"thing:{i}", index=i)


def _verify(ctx):
    with ctx.sessions() as session:
        return audit.verify(session)


def _ids(ctx):
    with ctx.sessions() as session:
        return list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))


def test_intact_chain_verifies(any_ctx):
    _write(any_ctx)
    report = _verify(any_ctx)
    assert report.ok and report.entries >= 5


def test_edited_entry_is_detected(any_ctx):
    _write(any_ctx)
    target = _ids(any_ctx)[-3]
    with any_ctx.transaction() as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == target).values(actor="someone-else"))
    report = _verify(any_ctx)
    assert not report.ok and report.bad_entry_id == target and "edited" in report.problem


def test_deleted_entry_is_detected(any_ctx):
    _write(any_ctx)
    target = _ids(any_ctx)[-3]
    with any_ctx.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.id == target))
    report = _verify(any_ctx)
    assert not report.ok and "deleted" in report.problem


def test_reordered_entries_are_detected(ctx):
    _write(ctx)
    a, b = _ids(ctx)[-3:-1]
    with ctx.transaction() as session:
        first, second = session.get(AuditEntry, a), session.get(AuditEntry, b)
        fields = ("at", "actor", "action", "subject", "details", "prev_hash", "entry_hash")
        values_a = {f: getattr(first, f) for f in fields}
        values_b = {f: getattr(second, f) for f in fields}
        session.execute(delete(AuditEntry).where(AuditEntry.id.in_([a, b])))
        session.flush()
        session.add(AuditEntry(id=a, **values_b))
        session.add(AuditEntry(id=b, **values_a))
    assert not _verify(ctx).ok


def test_truncated_tail_is_detected(ctx):
    _write(ctx)
    with ctx.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.id == _ids(ctx)[-1]))
    report = _verify(ctx)
    assert not report.ok and "newest entries were removed" in report.problem


@pytest.mark.parametrize("details", [{"pin": "1234"}, {"new_password": "x"}, {"template": "t"}, {"blob": b"\x00"}])
def test_audit_refuses_secrets_and_biometric_details(ctx, details):
    with ctx.transaction() as session, pytest.raises(ValueError, match="no secrets or biometric data"):
        audit.record(session, "op", "test", **details)
