"""The operator journey in Chinese in headless Chromium (issue 13): sign in, add a resident, consent against
the Chinese notice, enroll from a photo, delete the face data and read the 删除回执, with Beijing times.
Screenshots of the operator pages in Chinese at desktop and phone size (390x844) go to a temporary folder,
or to webui/screenshots/ with GATE_UPDATE_SCREENSHOTS=1 (the README's pictures)."""

from __future__ import annotations

import re

import pytest

from gate.store.models import OperatorRole
from tests.webui.conftest import PASSWORD, add_operator
from tests.webui.test_browser import browser, live, shots, sim_gate  # noqa: F401 - the shared fixtures
from tests.webui.test_operator_language import publish_chinese_notice, set_site

pytestmark = [pytest.mark.browser, pytest.mark.faces, pytest.mark.slow]
BEIJING_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\+08:00")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def chinese_site(gctx):
    """A Chinese site in Beijing time with its notice published in Chinese; set before the app starts."""
    set_site(gctx, "site.language", "zh_Hans_CN")
    set_site(gctx, "site.timezone", "Asia/Shanghai")
    publish_chinese_notice(gctx)
    add_operator(gctx, "wang", OperatorRole.OPERATOR)
    add_operator(gctx, "admin", OperatorRole.ADMIN)
    return gctx


def _sign_in(page, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/")


def test_operator_journey_in_chinese(chinese_site, browser, live, faces, shots) -> None:  # noqa: F811
    context = browser.new_context(base_url=live, viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    photo = faces / "special" / "obama" / "obama-480p.jpg"
    pages: dict[str, str] = {}
    try:
        page.goto("/login")
        assert "登录" in page.inner_text("h1") and "时间均为本地时间：Asia/Shanghai。" in page.inner_text("footer")
        pages["login"] = "/login"
        _sign_in(page, "wang")

        # Add a resident, with a PIN so face is never their only way in.
        page.goto("/residents/new")
        assert "添加住户" in page.inner_text("h1")
        page.fill("input[name=code]", "1201")
        page.fill("input[name=name]", "王芳")
        page.fill("input[name=unit]", "3-1-201")
        page.click("main button[type=submit]")
        page.wait_for_url("**/residents/1201")
        assert "已添加住户 1201" in page.inner_text("main")
        page.fill("input[name=pin]", "5821")
        page.fill("input[name=pin2]", "5821")
        page.click("form[action$='/pin'] button:has-text('设置密码')")
        assert "已设置密码" in page.inner_text("main")

        # The notice, in Chinese (the operator's language is the resident's by default), then 单独同意.
        page.click("text=人脸录入：出示告知书")
        notice = page.inner_text("#notice-text")
        assert "湖畔花园物业管理有限公司" in notice and "个人信息处理者" in notice and "保存期限" in notice
        pages["notice"] = page.url
        page.click("text=已出示告知书：继续征求同意")
        assert "人脸识别单独同意" in page.inner_text("h1") and not page.is_checked("#face_consent")
        page.check("#face_consent")
        page.click("button[value=grant]")
        page.wait_for_url("**/receipts/*")
        receipt = page.inner_text("main")
        assert "同意回执" in receipt and "所出示告知书的语言：中文" in receipt and BEIJING_TIME.search(receipt)
        pages["consent-receipt"] = page.url

        # Enroll from a photo: a verdict in words and a quality bar.
        page.click("text=下一步：采集人脸")
        page.wait_for_url("**/face/capture")
        page.set_input_files("#photos", str(photo))
        page.click("#upload-form button[type=submit]")
        page.wait_for_selector("#enroll-ok", timeout=30_000)
        assert "合格：人脸已录入。" in page.inner_text("#verdict") and page.is_visible("#quality-bar")
        assert "照片质量" in page.inner_text("#verdict")
        page.screenshot(path=str(shots / "zh-face-result.png"), full_page=True)

        # Delete the face data: the 删除回执 in Chinese, in Beijing time.
        page.goto("/residents/1201")
        pages["resident"] = "/residents/1201"
        page.click("text=删除人脸信息（撤回同意）")
        page.check("input[name=confirm]")
        page.click("button.danger")
        page.wait_for_url("**/receipts/*")
        receipt = page.inner_text("main")
        assert "删除回执" in receipt and "人脸信息已删除（已撤回同意）" in receipt
        assert "门禁卡和密码：不变，继续有效" in receipt
        assert BEIJING_TIME.search(receipt)
        pages["deletion-receipt"] = page.url

        # The admin's pages too, then every page in Chinese at desktop and phone size.
        _sign_in(page, "admin")
        assert "门禁屏幕将提供：" in page.goto("/settings").text()
        pages["settings"] = "/settings"
        pages["account"] = "/account/password"
        for name, url in pages.items():
            page.goto(url)
            page.screenshot(path=str(shots / f"zh-{name}.png"), full_page=True)
        phone = browser.new_context(base_url=live, viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                    has_touch=True, locale="zh-CN")
        small = phone.new_page()
        _sign_in(small, "admin")
        for name in ("resident", "deletion-receipt", "notice"):
            small.goto(pages[name])
            small.screenshot(path=str(shots / f"zh-phone-{name}.png"), full_page=True)
        phone.close()
    finally:
        context.close()
