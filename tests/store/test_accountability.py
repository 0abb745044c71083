"""U4 and P1 in the store: the audit log names no card or person once they are gone; every sign-in
failure, view and export is an audit fact; an export states when the face data will be deleted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from gate.store import audit, consent, data_access, operators, residents, rights
from gate.store.models import AuditEntry, OperatorRole, Resident
from tests.store.helpers import random_encodings

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _entries(ctx, action: str | None = None) -> list[AuditEntry]:
    with ctx.sessions() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


def _everything_in_the_log(ctx) -> str:
    return " ".join(f"{e.actor} {e.action} {e.subject} {e.details}" for e in _entries(ctx))


def test_card_numbers_reach_the_audit_log_only_as_a_pseudonym_that_dies_with_the_record(any_ctx) -> None:
    with any_ctx.transaction() as session:
        resident = residents.add_resident(session, code="C7", name="Chen Jing", unit="7-702", actor="t")
        residents.add_card(session, resident, "90817263", actor="t")
        residents.add_card(session, resident, "55512345", actor="t")
        residents.remove_card(session, "55512345", actor="t")
        expected = residents.card_reference(resident, "90817263")
        rights.delete_resident(session, resident, any_ctx.store, actor="t")
    log = _everything_in_the_log(any_ctx)
    for forbidden in ("90817263", "55512345", "Chen", "Jing", "7-702", "C7"):
        assert forbidden not in log, forbidden
    added = [json.loads(e.details)["card_ref"] for e in _entries(any_ctx, "card.add")]
    assert added[0] == expected and len(set(added)) == 2
    removed = json.loads(_entries(any_ctx, "card.remove")[0].details)["card_ref"]
    assert removed == added[1]
    with any_ctx.sessions() as session:
        assert audit.verify(session).ok
        # The key is gone with the record: a new record holding the same card gets an unrelated pseudonym.
        stranger = Resident(id=999, code="X", name="X", audit_salt=None)
        assert residents.card_reference(stranger, "90817263") != expected


def test_failed_sign_ins_are_audited_with_who_when_and_where_but_never_the_password(any_ctx) -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with any_ctx.transaction() as session:
        operators.create_operator(session, hasher, username="wei", password="a long passphrase 7",
                                  role=OperatorRole.OPERATOR, actor="t")
    with any_ctx.transaction() as session:
        assert not operators.authenticate(session, hasher, "wei", "guess-one-secret", now=T0, address="10.0.0.9").ok
        assert not operators.authenticate(session, hasher, "nobody", "guess-two-secret", now=T0, address="10.0.0.9").ok
        assert operators.authenticate(session, hasher, "wei", "a long passphrase 7", now=T0).ok
    failed = _entries(any_ctx, "operator.login_failed")
    assert [(e.subject, e.at) for e in failed] == [("operator:wei", T0), ("operator:nobody", T0)]
    assert [json.loads(e.details) for e in failed] == [
        {"address": "10.0.0.9", "reason": "wrong password"}, {"address": "10.0.0.9", "reason": "unknown username"}]
    assert "guess-" not in _everything_in_the_log(any_ctx)


def test_views_are_audited_and_unknown_views_refused(ctx) -> None:
    with ctx.transaction() as session:
        resident = residents.add_resident(session, code="V1", name="Vera", actor="t")
        data_access.record_view(session, resident, actor="clerk", what="resident page")
        with pytest.raises(ValueError):
            data_access.record_view(session, resident, actor="clerk", what="peek")
    [entry] = _entries(ctx, "resident.view")
    assert (entry.actor, entry.subject, json.loads(entry.details)) == ("clerk", f"resident:{resident.id}",
                                                                       {"what": "resident page"})


def _with_face(ctx, *, consent_days: int, created: datetime, last_used: datetime) -> None:
    with ctx.transaction() as session:
        resident = residents.add_resident(session, code="F1", name="Fang", actor="t")
        consent.grant_consent(session, resident, operator="t", retention_days=consent_days, now=created)
        ctx.store.save(session, resident, random_encodings(), "dlib-test", now=created)
        session.flush()
        from gate.store.models import FaceTemplate

        session.scalar(select(FaceTemplate)).last_used_at = last_used


def _export(ctx, site_days: int, now: datetime, form: str = "json") -> dict:
    with ctx.transaction() as session:
        resident = residents.get_resident(session, "F1")
        return rights.export_resident(session, resident, ctx.store, actor="clerk", site_days=site_days, form=form,
                                      now=now)


@pytest.mark.parametrize(("consent_days", "site_days", "used_after", "deadline_after"), [
    (30, 365, 10, 40),          # the consent's period after the last use
    (300, 100, 10, 110),        # the site's [retention] is shorter
    (1095, 1095, 1090, 1095),   # used every day: still gone 3 years after consent
])
def test_export_states_the_face_deletion_deadline(any_ctx, consent_days, site_days, used_after,
                                                  deadline_after) -> None:
    _with_face(any_ctx, consent_days=consent_days, created=T0, last_used=T0 + timedelta(days=used_after))
    face = _export(any_ctx, site_days, T0 + timedelta(days=used_after))["face"]
    assert face["deletion_deadline"] == (T0 + timedelta(days=deadline_after)).isoformat()
    assert face["consent_granted_at"] == T0.isoformat()
    assert face["created_at"] == T0.isoformat()
    assert face["retention_days_after_last_use"] == min(consent_days, site_days)
    assert "1095 days" in face["deletion_rule"] and "withdraw" in face["deletion_rule"]


def test_export_of_face_data_without_consent_says_it_is_due_now(ctx) -> None:
    _with_face(ctx, consent_days=30, created=T0, last_used=T0)
    with ctx.transaction() as session:
        resident = residents.get_resident(session, "F1")
        resident.consents[0].withdrawn_at = T0  # withdrawn, template not yet purged
    face = _export(ctx, 365, T0 + timedelta(days=1))["face"]
    assert face["deletion_deadline"] == (T0 + timedelta(days=1)).isoformat()
    assert face["deletion_rule"].startswith("Due now because there is no current consent")


def test_every_export_is_audited_with_its_form(ctx) -> None:
    _with_face(ctx, consent_days=30, created=T0, last_used=T0)
    _export(ctx, 365, T0, form="page")
    _export(ctx, 365, T0, form="json")
    details = [json.loads(e.details) for e in _entries(ctx, "rights.export")]
    assert [(d["form"], d["consents"], d["cards"]) for d in details] == [("page", 1, 0), ("json", 1, 0)]
    with pytest.raises(ValueError):
        _export(ctx, 365, T0, form="pdf")


def test_migration_0007_adds_the_salt_and_goes_down_and_up(any_ctx) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from gate.store import db

    engine = any_ctx.engine
    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    assert "audit_salt" not in {c["name"] for c in inspect(engine).get_columns("residents")}
    db.upgrade(engine)
    assert "audit_salt" in {c["name"] for c in inspect(engine).get_columns("residents")}
    assert db.current_revision(engine) == db.head_revision()
