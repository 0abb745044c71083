"""Consent that means what it says (C3, R5, PIPL art. 14, 17) and minors (N1), on SQLite and PostgreSQL.

A notice with a placeholder cannot be published or consented to; its retention text comes from
[retention]; a material change, or a guardian's consent reaching the 14th birthday, lapses face (never
cards or PINs) until renewed; a consent receipt is printable; forbidding face for minors purges theirs.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gate.clock import utcnow
from gate.context import GateContext
from gate.core.claims import Claim, ClaimKind
from gate.core.decision import Reason
from gate.core.policy import Method
from gate.errors import ConflictError, ConsentError, PolicyError
from gate.install import initialise
from gate.store import assessments, consent, face_standing, gates, notices, residents, retention, rights
from gate.store.face_standing import Lapse
from gate.store.models import AuditEntry, Consent, FaceTemplate, Notice
from tests.conftest import SITE_NOTICE_FIELDS

from .helpers import random_encodings, resident_with_template

SITE_DAYS = 365  # the default [retention] template_days of the fixtures' gate.toml


def publish(ctx: GateContext, version: str, **changes: str) -> Notice:
    with ctx.transaction() as session:
        fields = {**notices.default_fields(), **SITE_NOTICE_FIELDS, **changes}
        notices.create_notice(session, version, fields, "admin", site_days=SITE_DAYS)
        notice = notices.publish_notice(session, version, "admin")
        session.expunge(notice)
        return notice


def lapse_of(ctx: GateContext, code: str, today: date | None = None) -> Lapse | None:
    with ctx.sessions() as session:
        resident = residents.get_resident(session, code)
        current = consent.current_consent(session, resident)
        assert current is not None
        return face_standing.lapse_for(session, resident, current, today or utcnow().date())


def allow_face(ctx: GateContext, tmp_path: Path) -> None:
    doc = tmp_path / "dpia.txt"
    doc.write_text("impact assessment")
    with ctx.transaction() as session:
        main = gates.get_gate(session, "main")
        assessments.record_assessment(session, main, assessed_on=date(2026, 1, 1), approver="DPO",
                                      document=doc.read_bytes(), actor="t", site_timezone="UTC")
        gates.set_gate(session, main, actor="t", methods="card,pin,face")


# -- C3: placeholders ---------------------------------------------------------------------------------

def test_the_default_notice_cannot_be_published_and_the_refusal_names_the_fields(any_ctx) -> None:
    with any_ctx.transaction() as session:
        notices.create_notice(session, "d", notices.default_fields(), "admin", site_days=SITE_DAYS)
        with pytest.raises(PolicyError) as refused:
            notices.publish_notice(session, "d", "admin")
    message = str(refused.value)
    assert "the processor field still holds the placeholder 'REPLACE:'" in message
    assert "the contact field still holds the placeholder" in message and "how to contact them" in message
    # Only a placeholder in the contact is still refused: every field is checked, not just the first.
    with any_ctx.transaction() as session:
        fields = {**notices.default_fields(), **SITE_NOTICE_FIELDS, "contact": "Office; privacy@example.invalid"}
        notices.create_notice(session, "e", fields, "admin", site_days=SITE_DAYS)
        with pytest.raises(PolicyError, match="contact field still holds the placeholder 'example.invalid'"):
            notices.publish_notice(session, "e", "admin")


def test_gate_init_drafts_the_notice_and_publishes_nothing(tmp_path: Path) -> None:
    done = initialise(tmp_path / "data")
    assert any("drafted face notice version 1" in line for line in done)
    ctx = GateContext.open(tmp_path / "data")
    try:
        with ctx.sessions() as session:
            assert notices.current_notice(session) is None
            draft = session.scalar(select(Notice).where(Notice.version == "1"))
            assert draft is not None and draft.published_at is None
        # The admin fills the draft in and publishes it under the same version name.
        published = publish(ctx, "1")
        assert published.version == "1" and published.published_at is not None
    finally:
        ctx.close()


def test_consent_is_refused_against_a_published_notice_that_still_holds_a_placeholder(any_ctx) -> None:
    """Installations from before this check published the default notice: no consent against it."""
    with any_ctx.transaction() as session:
        notices.create_notice(session, "old", {**notices.default_fields(), **SITE_NOTICE_FIELDS,
                                               "contact": "REPLACE: the office"}, "admin", site_days=SITE_DAYS)
        session.scalar(select(Notice).where(Notice.version == "old")).published_at = utcnow() + timedelta(seconds=1)
    with any_ctx.transaction() as session:
        resident = residents.add_resident(session, code="A1", name="Ada", actor="t")
        with pytest.raises(ConsentError) as refused:
            consent.grant_consent(session, resident, operator="t", retention_days=SITE_DAYS)
    assert str(refused.value).startswith("Consent cannot be given against notice version old: the contact field "
                                         "still holds the placeholder 'REPLACE:'")
    with any_ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Consent)) == 0


# -- R5: retention text from configuration -------------------------------------------------------------

def test_the_notice_retention_text_is_generated_from_the_configuration(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "gate.toml").write_text("[retention]\ntemplate_days = 200\n", encoding="utf-8")
    initialise(data)
    ctx = GateContext.open(data)
    try:
        with ctx.transaction() as session:
            # Whatever the admin types as retention is replaced by the generated text.
            fields = {**notices.default_fields(), **SITE_NOTICE_FIELDS, "retention": "kept forever"}
            notice = notices.create_notice(session, "2", fields, "admin",
                                           site_days=ctx.settings.template_retention_days)
            notices.publish_notice(session, "2", "admin")
            text = notices.fields_of(notice)["retention"]
            assert "after 200 days without use" in text and "kept forever" not in text
            assert "1095 days (3 years) after your consent" in text
            assert notices.RETENTION_SCHEDULE_PATH in text  # the written schedule is linked (R5)
            schedule = retention.schedule_text(ctx.settings.template_retention_days)
            assert "for 200 days" in schedule and "1095 days" in schedule
            resident = residents.add_resident(session, code="A1", name="Ada", actor="t")
            # [retention] changed since the notice was written: the notice would now be wrong.
            with pytest.raises(ConsentError, match="it states 200 days of retention but "
                                                   r"\[retention\] template_days is 90"):
                consent.grant_consent(session, resident, operator="t", retention_days=90, site_days=90)
            assert consent.grant_consent(session, resident, operator="t", retention_days=200, site_days=200)
    finally:
        ctx.close()


# -- C3: material changes lapse face consent -------------------------------------------------------------

def test_a_typo_fix_keeps_consents_and_a_material_change_lapses_face_only(any_ctx, tmp_path: Path) -> None:
    allow_face(any_ctx, tmp_path)
    resident_with_template(any_ctx, "A1", card="100", pin="482915")
    assert lapse_of(any_ctx, "A1") is None
    access = any_ctx.access()
    claim = Claim(ClaimKind.CODE, "A1")

    publish(any_ctx, "1.1", necessity_and_impact=notices.default_fields()["necessity_and_impact"] + " (typo fixed)",
            processor="  " + SITE_NOTICE_FIELDS["processor"].replace(" ", "\n  ") + " ")  # re-wrapped, same words
    assert lapse_of(any_ctx, "A1") is None
    assert access.face_precheck("main", claim) is None

    publish(any_ctx, "2", recipients="The district public security bureau, on written request.")
    assert lapse_of(any_ctx, "A1") is Lapse.NOTICE_CHANGED
    refused = access.face_precheck("main", claim)  # before any camera opens
    assert refused is not None and refused.reason is Reason.CONSENT_LAPSED
    assert access.decide("main", Method.CARD, Claim(ClaimKind.CARD, "100")).decision.granted
    assert access.decide("main", Method.PIN, claim, pin="482915").decision.granted
    with any_ctx.sessions() as session:
        due = face_standing.needing_renewal(session, utcnow().date())
        assert [(r.resident.code, r.consent.notice.version, r.lapse) for r in due] == [
            ("A1", "1", Lapse.NOTICE_CHANGED)]
        assert session.scalar(select(func.count()).select_from(FaceTemplate)) == 1  # kept, not deleted

    # Renewal at the office: a new consent against version 2 replaces the old; the template is kept.
    with any_ctx.transaction() as session:
        resident = residents.get_resident(session, "A1")
        renewed = consent.grant_consent(session, resident, operator="office", retention_days=SITE_DAYS)
        assert renewed.notice.version == "2"
        number = rights.consent_receipt_number(session, resident)
    assert lapse_of(any_ctx, "A1") is None
    assert access.face_precheck("main", claim) is None
    with any_ctx.sessions() as session:
        assert face_standing.needing_renewal(session, utcnow().date()) == []
        assert session.scalar(select(func.count()).select_from(FaceTemplate)) == 1
        found = rights.receipt(session, number)
    assert "Renews the consent given against notice version 1" in found.recorded


@pytest.mark.parametrize("field", ["processor", "purpose", "recipients"])
def test_each_material_field_lapses_consent(ctx, field: str) -> None:
    resident_with_template(ctx, "A1")
    publish(ctx, "2", **{field: "Something else entirely"})
    assert lapse_of(ctx, "A1") is Lapse.NOTICE_CHANGED


def test_a_consent_that_has_not_lapsed_is_not_given_twice(ctx) -> None:
    resident_with_template(ctx, "A1")
    with ctx.transaction() as session, pytest.raises(ConflictError, match="already has a current face consent"):
        consent.grant_consent(session, residents.get_resident(session, "A1"), operator="t", retention_days=SITE_DAYS)


def test_a_retention_change_lapses_consent(ctx) -> None:
    resident_with_template(ctx, "A1")
    with ctx.transaction() as session:
        notices.create_notice(session, "2", {**notices.default_fields(), **SITE_NOTICE_FIELDS}, "admin", site_days=180)
        notices.publish_notice(session, "2", "admin")
    assert lapse_of(ctx, "A1") is Lapse.NOTICE_CHANGED


def test_face_enrollment_is_refused_while_the_consent_has_lapsed(ctx) -> None:
    from gate.face.service import FaceService

    resident_with_template(ctx, "A1")
    publish(ctx, "2", purpose="Also to count visitors.")
    with ctx.transaction() as session:
        resident = residents.get_resident(session, "A1")
        with pytest.raises(ConsentError, match="face consent has lapsed .*notice changed materially"):
            FaceService(ctx.store).enroll(session, resident, [], operator="t")


# -- receipts ---------------------------------------------------------------------------------------------

def test_a_consent_receipt_names_the_notice_the_date_who_and_the_retention(any_ctx) -> None:
    with any_ctx.transaction() as session:
        resident = residents.add_resident(session, code="A1", name="Ada", actor="t")
        consent.grant_consent(session, resident, operator="clerk", retention_days=120)
        number = rights.consent_receipt_number(session, resident)
    with any_ctx.sessions() as session:
        found = rights.receipt(session, number)
    assert found.title == "Face consent given" and found.by == "clerk" and found.resident_ref.startswith("resident:")
    assert abs(found.at - utcnow()) < timedelta(minutes=5)
    assert "Notice version shown: 1" in found.recorded
    assert any("at most 120 days after its last use" in line for line in found.recorded)
    assert "Given by the resident themself" in found.recorded


# -- N1: minors ---------------------------------------------------------------------------------------------

def test_under_14_comes_from_the_date_of_birth_in_the_site_local_date(ctx) -> None:
    evening_utc = datetime(2026, 6, 14, 17, 0, tzinfo=UTC)  # already 15 June in Shanghai
    assert face_standing.site_today(evening_utc, "Asia/Shanghai") == date(2026, 6, 15)
    assert face_standing.site_today(evening_utc, "UTC") == date(2026, 6, 14)
    with ctx.transaction() as session:
        kid = residents.add_resident(session, code="K1", name="Kid", birth_date=date(2012, 6, 15), actor="t")
        assert face_standing.is_minor(kid, date(2026, 6, 14)) and not face_standing.is_minor(kid, date(2026, 6, 15))
        exported = rights.export_resident(session, kid, ctx.store, actor="t", site_days=SITE_DAYS)["resident"]
        assert isinstance(exported, dict) and exported["birth_date"] == "2012-06-15"  # P1: what is held
        with pytest.raises(ConsentError, match="guardian"):
            consent.grant_consent(session, kid, operator="t", retention_days=SITE_DAYS, today=date(2026, 6, 14))
        with pytest.raises(PolicyError, match="cannot be in the future"):
            residents.add_resident(session, code="K2", name="Soon", birth_date=date(2999, 1, 1), actor="t")


def test_a_resident_without_a_date_of_birth_keeps_the_old_under_14_flag(ctx) -> None:
    with ctx.transaction() as session:
        legacy = residents.add_resident(session, code="L1", name="Legacy", actor="t")
        legacy.is_minor = True  # set by the manual checkbox before 0006
        assert face_standing.is_minor(legacy, date(2026, 1, 1))
        legacy.birth_date = date(2000, 1, 1)  # a date of birth supersedes the flag
        assert not face_standing.is_minor(legacy, date(2026, 1, 1))


def test_at_14_the_guardians_consent_lapses_and_the_residents_own_is_needed(any_ctx) -> None:
    with any_ctx.transaction() as session:
        kid = residents.add_resident(session, code="K1", name="Kid", birth_date=date(2012, 6, 15), actor="t")
        consent.grant_consent(session, kid, operator="t", retention_days=SITE_DAYS, guardian_name="Parent One",
                              today=date(2026, 6, 1))
        any_ctx.store.save(session, kid, random_encodings(), "dlib-test")
    assert lapse_of(any_ctx, "K1", date(2026, 6, 14)) is None
    assert lapse_of(any_ctx, "K1", date(2026, 6, 15)) is Lapse.TURNED_14
    with any_ctx.sessions() as session:
        assert [r.resident.code for r in face_standing.needing_renewal(session, date(2026, 6, 15))] == ["K1"]
    with any_ctx.transaction() as session:
        own = consent.grant_consent(session, residents.get_resident(session, "K1"), operator="t",
                                    retention_days=SITE_DAYS, guardian_name="Parent One", today=date(2026, 6, 15))
        assert own.guardian_name is None  # no longer a minor: the consent is the resident's own
    assert lapse_of(any_ctx, "K1", date(2026, 6, 15)) is None


def test_forbidding_face_for_minors_purges_their_face_data_with_receipts(any_ctx) -> None:
    today = utcnow().date()
    with any_ctx.transaction() as session:
        kid = residents.add_resident(session, code="K1", name="Kid", birth_date=today.replace(year=today.year - 9),
                                     actor="t")
        consent.grant_consent(session, kid, operator="t", retention_days=SITE_DAYS, guardian_name="Parent One")
        any_ctx.store.save(session, kid, random_encodings(), "dlib-test")
    resident_with_template(any_ctx, "A1", seed=1)
    with any_ctx.transaction() as session:
        assert retention.purge(session, site_days=SITE_DAYS, actor="service").total == 0  # switch off: kept
    with any_ctx.transaction() as session:
        report = retention.purge(session, site_days=SITE_DAYS, actor="service", forbid_minors=True,
                                 timezone="Asia/Shanghai")
    assert report.minor == 1 and report.total == 1
    with any_ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(FaceTemplate)) == 1  # the adult's
        kid = residents.get_resident(session, "K1")
        assert kid.face_pseudonym is None and consent.current_consent(session, kid) is None
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "face.delete_minor"))
        assert entry is not None and entry.subject == f"resident:{kid.id}"
        found = rights.receipt(session, entry.id)
        purge_entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "retention.purge")
                                     .order_by(AuditEntry.id.desc()).limit(1))
        assert json.loads(purge_entry.details)["minor"] == 1
    assert "under 14" in found.title
    assert found.deleted[0].startswith("Face template: 1 encrypted record(s)")
    with any_ctx.transaction() as session:  # idempotent
        assert retention.purge(session, site_days=SITE_DAYS, actor="service", forbid_minors=True).total == 0


def test_the_gate_refuses_a_minors_face_as_soon_as_the_switch_is_on(ctx, tmp_path: Path) -> None:
    allow_face(ctx, tmp_path)
    with ctx.transaction() as session:
        kid = residents.add_resident(session, code="K1", name="Kid", birth_date=date(2020, 1, 1), actor="t")
        residents.add_card(session, kid, "77001", actor="t")  # face is never anyone's only way in (A1)
        consent.grant_consent(session, kid, operator="t", retention_days=SITE_DAYS, guardian_name="Parent One")
        ctx.store.save(session, kid, random_encodings(), "dlib-test")
    assert ctx.access().face_precheck("main", Claim(ClaimKind.CODE, "K1")) is None
    ctx.settings = dataclasses.replace(ctx.settings, site=dataclasses.replace(ctx.settings.site,
                                                                              forbid_face_for_minors=True))
    refused = ctx.access().face_precheck("main", Claim(ClaimKind.CODE, "K1"))
    assert refused is not None and refused.reason is Reason.NO_CONSENT  # before the purge has run


# -- migration 0006 ---------------------------------------------------------------------------------------

def test_migration_0006_fills_the_material_hash_of_old_notices(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from gate.store import db

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = db.alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
    old_fields = {**notices.default_fields(), **SITE_NOTICE_FIELDS}
    del old_fields["recipients"]  # notices before 0006 had no recipients field
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO notices (version, text_sha256, text, published_at, created_at) "
                                "VALUES ('1', 'x', :text, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
                           {"text": json.dumps(old_fields)})
    db.upgrade(engine)
    with db.make_session_factory(engine)() as session:
        old = session.scalar(select(Notice))
        assert old.material_sha256 == notices.material_sha256(old_fields) and old.retention_days is None
        assert notices.fields_of(old)["recipients"] == ""  # still readable
        assert "hand-written retention period" in (notices.consent_blocker(old, SITE_DAYS) or "")
    engine.dispose()
