"""Issue 13, the operator side: each operator's own language, service errors and receipts in it, notices
per language with the consent recording which one was shown, settings that explain the ways in, and
resident codes a keypad can type."""

from __future__ import annotations

import html
import json
import re

from flask.testing import FlaskClient
from sqlalchemy import select

from gate.context import GateContext
from gate.core import machine
from gate.core.policy import Method, parse_methods, policy_problem
from gate.core.transaction import Rules, State
from gate.store import notices, site_settings
from gate.store.models import AuditEntry, Consent, Operator, OperatorRole
from tests.webui.conftest import AuthActions
from tests.webui.helpers import add_resident, grant, store_template

ZH_NOTICE = {"processor": "湖畔花园物业管理有限公司",
             "contact": "物业服务中心（1 号楼）；电话 0571-8800 1234；privacy@lakeside-gardens.cn"}


def publish_chinese_notice(context: GateContext, version: str = "1-zh") -> None:
    with context.transaction() as session:
        notices.create_notice(session, version, {**notices.default_fields("zh_Hans_CN"), **ZH_NOTICE}, "test",
                              site_days=context.settings.template_retention_days, language="zh_Hans_CN")
        notices.publish_notice(session, version, "test")


def set_site(context: GateContext, name: str, value: object) -> None:
    from gate.clock import utcnow

    with context.transaction() as session:
        site_settings.change(session, name, value, actor="test", now=utcnow())
    context.refresh_site_settings()


def _language_of(context: GateContext, username: str) -> str | None:
    with context.sessions() as session:
        return session.scalar(select(Operator.language).where(Operator.username == username))


def test_the_header_switch_stores_a_signed_in_operators_language_and_it_follows_them(
        client: FlaskClient, auth: AuthActions, gctx: GateContext) -> None:
    auth.login("clerk", OperatorRole.OPERATOR)
    assert _language_of(gctx, "clerk") is None and '<html lang="en">' in client.get("/residents/new").get_data(
        as_text=True)
    auth.post("/language", {"language": "zh_Hans_CN", "next": "/residents/new"})
    assert _language_of(gctx, "clerk") == "zh_Hans_CN"
    # Another browser (no cookie): the stored preference decides once signed in, over the site's English.
    other = AuthActions(client.application.test_client(), gctx)
    other.login("clerk", OperatorRole.OPERATOR)
    page = other.client.get("/residents/new").get_data(as_text=True)
    assert '<html lang="zh-Hans-CN">' in page and "添加住户" in page and "姓名" in page
    # The account page sets it back to the site's language ("" = follow the site).
    other.post("/account/language", {"language": ""}, token_from="/account/password")
    assert _language_of(gctx, "clerk") is None
    other.client.delete_cookie("gate_lang")
    assert "Add a resident" in other.client.get("/residents/new").get_data(as_text=True)
    refused = other.post("/account/language", {"language": "klingon"}, token_from="/account/password")
    assert refused.status_code == 302 and _language_of(gctx, "clerk") is None


def test_a_service_error_is_shown_in_the_operators_language_and_stays_english_below(
        client: FlaskClient, auth: AuthActions, gctx: GateContext) -> None:
    from gate.errors import ConflictError
    from gate.store import residents

    add_resident(gctx, "B202")
    auth.login("clerk", OperatorRole.OPERATOR)
    auth.post("/language", {"language": "zh_Hans_CN", "next": "/"})
    page = auth.post("/residents/new", {"code": "B202", "name": "重复"}, token_from="/residents/new")
    assert page.status_code == 400 and "住户编号 'B202' 已存在。" in html.unescape(page.get_data(as_text=True))
    with gctx.sessions() as session:
        try:
            residents.add_resident(session, code="B202", name="x", actor="t")
        except ConflictError as err:
            assert str(err) == "A resident with code 'B202' already exists."
        else:
            raise AssertionError("no conflict")


def test_the_notice_is_shown_in_the_residents_language_falling_back_and_saying_so(
        client: FlaskClient, auth: AuthActions, gctx: GateContext) -> None:
    add_resident(gctx, "A101", name="王芳")
    auth.login("clerk", OperatorRole.OPERATOR)
    # Only the English notice is published (the suite's site): asked for Chinese, English is shown, said so.
    page = client.get("/residents/A101/face?language=zh_Hans_CN").get_data(as_text=True)
    assert 'id="notice-fallback"' in page and "Lakeside Gardens" in page
    publish_chinese_notice(gctx)
    page = client.get("/residents/A101/face?language=zh_Hans_CN").get_data(as_text=True)
    assert 'id="notice-fallback"' not in page and "湖畔花园物业管理有限公司" in page and "个人信息处理者" in page
    consent_page = client.get("/residents/A101/face/consent?language=zh_Hans_CN").get_data(as_text=True)
    version = re.search(r'name="notice_version" value="([^"]+)"', consent_page).group(1)
    assert version == "1-zh"
    response = auth.post("/residents/A101/face/consent", {"decision": "grant", "face_consent": "yes",
                                                          "notice_version": version, "language": "zh_Hans_CN"},
                         token_from="/residents/A101/face/consent?language=zh_Hans_CN")
    assert response.status_code == 302
    with gctx.sessions() as session:
        consent = session.scalars(select(Consent)).one()
        assert (consent.notice.version, consent.notice_language) == ("1-zh", "zh_Hans_CN")
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Language of the notice shown: 中文" in receipt
    auth.post("/language", {"language": "zh_Hans_CN", "next": "/"})
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "同意回执" in receipt and "所出示告知书的语言：中文" in receipt and "所出示告知书的版本：1-zh" in receipt


def test_publishing_the_other_language_does_not_lapse_a_consent(gctx: GateContext) -> None:
    """A consent lapses when the notice its person read changes materially, not when the other language's
    version is published."""
    from gate.store import face_standing
    from gate.store import residents as resident_service

    add_resident(gctx, "A101")
    grant(gctx, "A101")  # against the English notice
    publish_chinese_notice(gctx)
    with gctx.sessions() as session:
        resident = resident_service.get_resident(session, "A101")
        consent = session.scalars(select(Consent)).one()
        assert notices.current_notice(session).version == "1-zh"  # the newest of any language
        assert notices.current_notice(session, "en").version == "1"
        assert face_standing.lapse_for(session, resident, consent, resident.created_at.date()) is None
        assert face_standing.needing_renewal(session, resident.created_at.date()) == []


def test_deletion_receipt_and_export_in_chinese_with_local_times(
        client: FlaskClient, auth: AuthActions, gctx: GateContext) -> None:
    set_site(gctx, "site.timezone", "Asia/Shanghai")
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    store_template(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    data = json.loads(client.get("/residents/A101/export.json").get_data(as_text=True))
    assert data["exported_at"].endswith("+08:00") and data["consents"][0]["granted_at"].endswith("+08:00")
    auth.post("/language", {"language": "zh_Hans_CN", "next": "/"})
    data = json.loads(client.get("/residents/A101/export.json").get_data(as_text=True))
    assert data["face"]["what"].startswith("加密的人脸特征数据") and "最后一次使用后" in data["face"]["deletion_rule"]
    response = auth.post("/residents/A101/face/delete", {"confirm": "yes"}, token_from="/residents/A101/face/delete")
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "删除回执" in receipt and "人脸信息已删除（已撤回同意）" in receipt
    assert "门禁卡和密码：不变，继续有效" in receipt
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\+08:00", receipt)


def test_settings_explain_each_way_in_and_preview_what_the_screen_offers(
        client: FlaskClient, auth: AuthActions, gctx: GateContext) -> None:
    auth.login("admin", OperatorRole.ADMIN)
    page = client.get("/settings").get_data(as_text=True)
    assert 'id="methods-explained"' in page and "Card + PIN: the resident holds their card" in page
    assert 'id="preview-main"' in page and "<b>Card · Resident code + PIN</b>" in page  # the stored card,pin
    preview = auth.post("/settings/gates/main", {"methods": ["card", "card+face"], "action": "preview"},
                        token_from="/settings").get_data(as_text=True)
    assert "<b>Card · Face</b>" in preview
    with gctx.sessions() as session:
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "gate.update")) is None  # not saved
    refused = auth.post("/settings/gates/main", {"methods": ["face"], "action": "preview"},
                        token_from="/settings").get_data(as_text=True)
    assert "This combination cannot be saved: Face can never be the only way in" in refused


def test_the_preview_is_the_kiosks_own_offer() -> None:
    """webui.gate_methods.preview names exactly the buttons gate.core.machine.offered gives the screen."""
    from webui import create_app
    from webui.gate_methods import BUTTONS, preview

    combos = [["card"], ["pin"], ["card+pin"], ["card", "pin", "face"], ["card", "card+face"], ["card+pin", "pin"]]
    with create_app.__globals__["Flask"]("t").test_request_context():
        from flask_babel import Babel

        Babel(__import__("flask").current_app)
        for ticked in combos:
            methods = parse_methods(",".join(ticked))
            expected = [BUTTONS[w] for w in machine.offered(State(), Rules(methods=methods))]
            assert preview(ticked).buttons == expected, ticked
            assert preview(ticked).problem == policy_problem(methods)
    assert Method.FACE.uses_face


def test_resident_codes_are_what_the_keypad_can_type_unless_the_site_says_letters(
        client: FlaskClient, auth: AuthActions, gctx: GateContext) -> None:
    set_site(gctx, "site.resident_codes", "digits")
    auth.login("clerk", OperatorRole.OPERATOR)
    form = client.get("/residents/new").get_data(as_text=True)
    assert 'pattern="[0-9]{1,32}"' in form and 'inputmode="numeric"' in form
    refused = auth.post("/residents/new", {"code": "A1", "name": "X"}, token_from="/residents/new")
    assert refused.status_code == 400 and "1-32 digits" in refused.get_data(as_text=True)
    assert auth.post("/residents/new", {"code": "1201", "name": "X"}, token_from="/residents/new").status_code == 302
    add_resident(gctx, "B7")  # stored before (or by an import that allowed letters): kept, flagged
    page = client.get("/residents/B7").get_data(as_text=True)
    assert 'id="code-not-typeable"' in page
    assert 'id="code-not-typeable"' not in client.get("/residents/1201").get_data(as_text=True)
    set_site(gctx, "site.resident_codes", "letters")
    assert auth.post("/residents/new", {"code": "A1", "name": "X"}, token_from="/residents/new").status_code == 302


def test_the_kiosk_shows_each_languages_own_notice_and_the_full_notice_follows_the_toggle(gctx: GateContext) -> None:
    from webui.server import make_app

    publish_chinese_notice(gctx)
    client = make_app(gctx, object(), simulate=False).test_client()  # type: ignore[arg-type]
    page = client.get("/kiosk/").get_data(as_text=True)
    chinese = page.split('data-lang="zh_Hans_CN"', 1)[1].split("</div>", 1)[0]
    english = page.split('data-lang="en"', 1)[1].split("</div>", 1)[0]
    assert ZH_NOTICE["processor"] in chinese
    assert ZH_NOTICE["processor"] not in english and "version 1" in english
    assert 'href="/kiosk/notice?lang=zh_Hans_CN"' in chinese and 'href="/kiosk/notice?lang=en"' in english
    assert ZH_NOTICE["processor"] in client.get("/kiosk/notice?lang=zh_Hans_CN").get_data(as_text=True)
    assert ZH_NOTICE["processor"] not in client.get("/kiosk/notice?lang=en").get_data(as_text=True)


def test_the_record_of_processing_reads_in_chinese_and_leaves_site_text_as_typed(
        client: FlaskClient, auth: AuthActions, gctx: GateContext) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    with gctx.transaction() as session:
        notices.create_notice(session, "2", {**notices.default_fields("en"), "processor": "Lakeside Ltd",
                                             "contact": "office", "purpose": hostile}, "test",
                              site_days=gctx.settings.template_retention_days)
        notices.publish_notice(session, "2", "test")
    auth.login("admin", OperatorRole.ADMIN)
    auth.post("/language", {"language": "zh_Hans_CN", "next": "/"})
    page = client.get("/privacy/record").get_data(as_text=True)
    assert "人脸识别不得作为唯一验证方式：刷卡和密码始终可用。" in page and "身份信息" in page and "在册住户" in page
    assert "Face is never the only way in" not in page
    assert hostile not in page and "&lt;img src=x" in page  # the notice's own purpose: shown as typed, escaped
