"""`gate purge`: retention with a moved clock, move-out, orphans; idempotent; cards and PINs untouched."""

from datetime import timedelta

from sqlalchemy import func, select

from gate.clock import utcnow
from gate.store import residents, retention
from gate.store.models import Card, FaceTemplate, Pin, Resident

from .helpers import get, resident_with_template


def _templates(ctx) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(FaceTemplate))


def test_unused_templates_are_deleted_after_the_retention_period(any_ctx):
    resident_with_template(any_ctx, "A1", card="1:1", pin="482915")
    now = utcnow()
    with any_ctx.transaction() as session:
        report = retention.purge(session, site_days=365, actor="test", now=now + timedelta(days=364))
    assert report.total == 0 and _templates(any_ctx) == 1
    with any_ctx.transaction() as session:
        report = retention.purge(session, site_days=365, actor="test", now=now + timedelta(days=366))
    assert report.expired == 1 and _templates(any_ctx) == 0
    with any_ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Card)) == 1
        assert session.scalar(select(func.count()).select_from(Pin)) == 1
        assert session.scalar(select(Resident.face_pseudonym)) is None
    with any_ctx.transaction() as session:  # idempotent
        assert retention.purge(session, site_days=365, actor="test", now=now + timedelta(days=367)).total == 0


def test_use_restarts_the_retention_clock(ctx):
    resident_id, _ = resident_with_template(ctx, "A1")
    now = utcnow()
    with ctx.transaction() as session:
        template_id = session.scalar(select(FaceTemplate.id))
        ctx.store.mark_used(session, template_id, now + timedelta(days=300))
    with ctx.transaction() as session:
        assert retention.purge(session, site_days=365, actor="test", now=now + timedelta(days=400)).total == 0


def test_consent_retention_shorter_than_site_retention_wins(ctx):
    from gate.store import consent

    with ctx.transaction() as session:
        resident = residents.add_resident(session, code="S1", name="Short", actor="test")
        consent.grant_consent(session, resident, operator="t", retention_days=30)
        from .helpers import random_encodings

        ctx.store.save(session, resident, random_encodings(), "dlib-test")
    with ctx.transaction() as session:
        assert retention.purge(session, site_days=365, actor="t", now=utcnow() + timedelta(days=31)).expired == 1


def test_moved_out_residents_lose_face_data(ctx):
    resident_id, _ = resident_with_template(ctx, "A1")
    with ctx.transaction() as session:
        assert residents.move_out(session, get(ctx, session, resident_id), ctx.store, actor="op") == 1
    assert _templates(ctx) == 0


def test_orphaned_templates_from_a_restored_backup_are_purged(ctx):
    resident_id, _ = resident_with_template(ctx, "A1")
    with ctx.transaction() as session:
        get(ctx, session, resident_id).face_pseudonym = None  # as if a backup restored rows after a deletion
    with ctx.transaction() as session:
        assert retention.purge(session, site_days=365, actor="test").orphaned == 1
    assert _templates(ctx) == 0


def test_due_for_deletion_lists_without_deleting(ctx):
    resident_with_template(ctx, "A1")
    with ctx.sessions() as session:
        due = retention.due_for_deletion(session, 365, utcnow() + timedelta(days=400))
    assert [reason for _, _, reason in due] == ["expired"]
    assert _templates(ctx) == 1


def test_a_template_unused_four_years_is_due_even_with_the_longest_periods(any_ctx):
    from gate.store import consent

    with any_ctx.transaction() as session:
        resident = residents.add_resident(session, code="L1", name="Long", actor="test")
        consent.grant_consent(session, resident, operator="t", retention_days=retention.MAX_TEMPLATE_RETENTION_DAYS)
        from .helpers import random_encodings

        any_ctx.store.save(session, resident, random_encodings(), "dlib-test")
    four_years = utcnow() + timedelta(days=4 * 365)
    with any_ctx.transaction() as session:
        report = retention.purge(session, site_days=retention.MAX_TEMPLATE_RETENTION_DAYS, actor="t",
                                 now=four_years)
    assert report.expired == 1 and _templates(any_ctx) == 0


def test_a_match_after_the_deadline_does_not_reset_the_clock(ctx):
    resident_with_template(ctx, "A1")
    four_years = utcnow() + timedelta(days=4 * 365)
    with ctx.transaction() as session:
        template = session.scalars(select(FaceTemplate)).one()
        before = template.last_used_at
        ctx.store.mark_used(session, template.id, four_years)
    with ctx.transaction() as session:
        assert session.scalar(select(FaceTemplate.last_used_at)) == before
        assert [reason for _, _, reason in retention.due_for_deletion(session, 365, four_years)] == ["expired"]


def test_daily_use_cannot_keep_a_template_past_three_years_from_consent(ctx):
    resident_with_template(ctx, "A1")
    start = utcnow()
    with ctx.transaction() as session:
        template_id = session.scalar(select(FaceTemplate.id))
        for day in range(300, 3 * 365, 300):  # used regularly, well inside every period
            ctx.store.mark_used(session, template_id, start + timedelta(days=day))
    cap = start + timedelta(days=retention.MAX_TEMPLATE_RETENTION_DAYS, seconds=1)
    with ctx.sessions() as session:
        assert retention.due_for_deletion(session, 365, cap - timedelta(days=2)) == []
        assert [reason for _, _, reason in retention.due_for_deletion(session, 365, cap)] == ["expired"]


def test_the_schedule_no_longer_asks_for_a_scheduled_purge():
    text = retention.schedule_text(365)
    assert "run it daily" not in text and "gate service" in text
