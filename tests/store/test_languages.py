"""Migration 0017 (operator, notice and consent languages), notices per language, translatable errors."""

from __future__ import annotations

from sqlalchemy import select, text

from gate.context import GateContext
from gate.errors import ConflictError, PolicyError
from gate.i18n import catalogue
from gate.i18n.errors import localised, translated
from gate.i18n.marker import N_, Message
from gate.store import consent as consent_service
from gate.store import db, notices
from gate.store import residents as resident_service
from gate.store.models import Consent, Notice, Operator

ZH = catalogue.gettext_for("zh_Hans_CN")


def test_migration_0017_goes_down_and_up_and_fills_old_consents_language(any_ctx: GateContext) -> None:
    from alembic import command

    with any_ctx.transaction() as session:
        resident = resident_service.add_resident(session, code="101", name="Li", actor="t")
        consent_service.grant_consent(session, resident, operator="t", retention_days=30)
    engine = any_ctx.engine
    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0016")
    with engine.connect() as connection:
        columns = [row[0] for row in connection.execute(text("SELECT * FROM consents")).cursor.description]
    assert "notice_language" not in columns
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with any_ctx.sessions() as session:
        consent = session.scalars(select(Consent)).one()
        # An older release's notices were English: the consent given then says so after the upgrade.
        assert consent.notice_language == "en" and consent.notice.language == "en"
        assert session.scalars(select(Operator.language)).all() in ([], [None])


def test_the_current_notice_is_per_language_with_a_fallback(any_ctx: GateContext) -> None:
    with any_ctx.transaction() as session:
        assert notices.current_notice(session, "zh_Hans_CN").language == "en"  # only English published: fallback
        fields = {**notices.default_fields("zh_Hans_CN"), "processor": "某物业公司", "contact": "电话 0571-0000"}
        notices.create_notice(session, "2-zh", fields, "t", site_days=any_ctx.settings.template_retention_days,
                              language="zh_Hans_CN")
        notices.publish_notice(session, "2-zh", "t")
        assert notices.current_notice(session, "zh_Hans_CN").version == "2-zh"
        assert notices.current_notice(session, "en").version == "1"
        assert set(notices.current_notices(session)) == {"en", "zh_Hans_CN"}
        stored = session.scalar(select(Notice).where(Notice.version == "2-zh"))
        assert "天" in notices.fields_of(stored)["retention"]  # generated in the notice's language


def test_the_chinese_default_notice_cannot_be_published_with_its_placeholders(any_ctx: GateContext) -> None:
    with any_ctx.transaction() as session:
        notices.create_notice(session, "zh-draft", notices.default_fields("zh_Hans_CN"), "t", site_days=30,
                              language="zh_Hans_CN")
        try:
            notices.publish_notice(session, "zh-draft", "t")
        except PolicyError as err:
            assert "请填写：" in str(err)
        else:
            raise AssertionError("a placeholder notice was published")


def test_errors_and_messages_translate_where_shown_and_stay_english_as_text() -> None:
    err = ConflictError.of(N_("Resident %(code)s already has a current face consent."), code="101")
    assert str(err) == "Resident 101 already has a current face consent."
    assert translated(err, ZH) == "住户 101 已有有效的人脸识别同意。"
    assert translated(ConflictError("plain English"), ZH) == "plain English"
    line = Message(N_("Cards: %(count)s"), count=2)
    assert line == "Cards: 2" and translated(line, ZH) == "门禁卡：2 张"
    assert localised({"a": [line], "b": 3}, ZH) == {"a": ["门禁卡：2 张"], "b": 3}


def test_going_down_past_the_validity_migration_keeps_every_consent(any_ctx: GateContext) -> None:
    """0013's downgrade once rebuilt `residents` on SQLite, and dropping the old table cascaded to
    every consent and card."""
    from alembic import command

    with any_ctx.transaction() as session:
        resident = resident_service.add_resident(session, code="102", name="Wang", actor="t")
        resident_service.add_card(session, resident, "12345678", actor="t")
        consent_service.grant_consent(session, resident, operator="t", retention_days=30)
    engine = any_ctx.engine
    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0012")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM consents")).scalar() == 1
        assert connection.execute(text("SELECT count(*) FROM cards")).scalar() == 1
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
