"""Main journeys in headless Chromium (Debian's /usr/bin/chromium driven by Playwright; one browser per
session): first admin, resident with card and PIN, consent + enrollment from a real photo, verification at
the simulated gate, events, export, deletion. Screenshots of each main page go to a temporary folder, or
to webui/screenshots/ when GATE_UPDATE_SCREENSHOTS=1 (that is how the README's pictures are made).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gate.face.images import read_image_file
from gate.service.simrig import DOOR_SENSOR, FIRE_ALARM
from gate.store.models import OperatorRole
from tests.conftest import serving
from tests.webui.conftest import PASSWORD, add_operator

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]


@contextmanager
def simulated_gate(gctx, **options) -> Iterator[tuple]:
    """The gate service on simulated devices (reader, relay board, camera), as `gate serve --simulate` runs it:
    yields (rig, runtime); `options` go to build_runtime (face_engine, timeouts)."""
    from gate.service.builder import build_runtime
    from gate.service.simrig import SimRig

    rig = SimRig().start()
    runtime = build_runtime(gctx, rig=rig, **options)
    runtime.start()
    try:
        yield rig, runtime
    finally:
        runtime.stop()
        rig.stop()


@pytest.fixture
def sim_gate(gctx, face_engine):
    with simulated_gate(gctx, face_engine=face_engine) as gate:
        yield gate


@pytest.fixture
def live(gctx, face_engine, sim_gate) -> Iterator[str]:
    from webui import create_app

    app = create_app(gctx, config={"TESTING": True}, gate_runtime=sim_gate[1])
    app.extensions["face_engine"] = face_engine
    with serving(app) as url:
        yield url


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    if os.environ.get("GATE_UPDATE_SCREENSHOTS") == "1":
        target = REPO / "webui" / "screenshots"
        target.mkdir(exist_ok=True)
        return target
    return tmp_path


@pytest.fixture
def page(browser, live):
    context = browser.new_context(base_url=live, viewport={"width": 1200, "height": 900},
                                  permissions=["camera"])
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors


@pytest.mark.faces
def wait_for(runtime, predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runtime.wait_idle(1.0)
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def last_access(runtime) -> dict:
    events = [e for e in runtime.snapshot().last_events if e["kind"] == "access"]
    return events[0] if events else {}


def test_main_journey(page, gctx, face_engine, faces, shots, sim_gate) -> None:
    rig, runtime = sim_gate
    photo = faces / "special" / "obama" / "obama-480p.jpg"
    # 1. First run: create the first admin.
    page.goto("/")
    assert page.url.endswith("/setup")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.screenshot(path=str(shots / "first-admin.png"))
    page.click("main button[type=submit]")
    page.wait_for_url("**/")
    assert "Privacy dashboard" in page.inner_text("h1")

    # 2. Settings: record the impact assessment and allow card+face next to card and PIN at gate main.
    page.goto("/settings")
    page.fill("#gate-main input[name=assessed_on]", "2026-01-10")
    page.fill("#gate-main input[name=approver]", "Data protection officer")
    page.set_input_files("#gate-main input[name=document]", files=[
        {"name": "pia.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 assessment"}])
    page.click("#gate-main form[action$='/assessment'] button")
    assert "Impact assessment recorded" in page.inner_text("main")
    page.uncheck("#gate-main input[value=card]")
    page.uncheck("#gate-main input[value=pin]")
    page.uncheck("#gate-main input[value='card+pin']")
    page.check("#gate-main input[value='card+face']")
    page.click("#gate-main form[action$='/gates/main'] button")
    assert "Face can never be the only way in" in page.inner_text("main")
    page.check("#gate-main input[value=card]")
    page.check("#gate-main input[value=pin]")
    page.check("#gate-main input[value=face]")
    page.check("#gate-main input[value='card+face']")
    page.click("#gate-main form[action$='/gates/main'] button")
    assert "Gate main saved" in page.inner_text("main")
    page.screenshot(path=str(shots / "settings.png"), full_page=True)

    # 3. Add a resident with a card and a PIN.
    page.goto("/residents/new")
    page.fill("input[name=code]", "A101")
    page.fill("input[name=name]", "Robin Example")
    page.fill("input[name=unit]", "1-01")
    page.click("main button[type=submit]")
    page.wait_for_url("**/residents/A101")
    # "Present a card on the reader": the simulated reader reads a card while the button waits for it.
    presenter = threading.Timer(1.0, rig.present_card, args=("12345678",))
    presenter.start()
    page.click("text=Present a card on the reader to capture its number")
    presenter.join()
    assert "Card 12345678 read from the reader and added" in page.inner_text("main")
    page.fill("input[name=pin]", "5821")
    page.fill("input[name=pin2]", "5821")
    page.click("form[action$='/pin'] button:has-text('Set PIN')")
    assert "cannot be shown again" in page.inner_text("main")

    # 4. Consent wizard: notice, separate consent (unticked by default), upload a real photo.
    page.click("text=Face enrollment: show the notice")
    assert "Notice version" in page.inner_text("main") or "version" in page.inner_text("main")
    page.screenshot(path=str(shots / "face-notice.png"), full_page=True)
    page.click("text=continue to consent")
    assert not page.is_checked("#face_consent")
    page.screenshot(path=str(shots / "face-consent.png"))
    page.check("#face_consent")
    page.click("button[value=grant]")
    page.wait_for_url("**/receipts/*")  # the consent receipt, printable, then on to the capture
    assert "Consent receipt no." in page.inner_text("main")
    page.click("text=Continue: capture the face")
    page.wait_for_url("**/face/capture")
    assert page.is_visible("#webcam-section")  # getUserMedia exists: the webcam panel is offered
    page.click("#webcam-start")
    page.wait_for_selector("#webcam-grab:not([disabled])")
    for n in (1, 2):
        page.click("#webcam-grab")
        page.wait_for_selector(f"#webcam-frames li:nth-child({n})", timeout=20_000)
    assert page.inner_text("#webcam-frames").count("good") == 2, page.inner_text("#webcam-frames")
    # The live picture is masked: the photos in ../shared/faces must never end up in the repository.
    page.screenshot(path=str(shots / "face-capture.png"), mask=[page.locator("#webcam")], mask_color="#4a5568")
    page.click("#webcam-enroll")  # the good frames go up with the ordinary form; nothing is kept in the browser
    page.wait_for_selector("#enroll-ok", timeout=30_000)
    # Feedback in words and a quality bar (issue 13), not the raw figures.
    assert "Good: the face is enrolled." in page.inner_text("#verdict") and page.is_visible("#quality-bar")
    # Enroll again from an uploaded photo: the webcam template is replaced (shredded), not added to.
    page.goto("/residents/A101/face/capture")
    page.set_input_files("#photos", str(photo))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#enroll-ok", timeout=30000)
    assert "No image was kept" in page.inner_text("main")
    with gctx.sessions() as session:
        from sqlalchemy import func, select

        from gate.store.models import FaceTemplate

        assert session.scalar(select(func.count(FaceTemplate.id))) == 1  # the webcam template was replaced
    page.screenshot(path=str(shots / "face-result.png"), full_page=True)

    # 5. Verify at the simulated gate: the gate camera sees another photo of the same person; face by code.
    from gate.core import machine as m

    rig.show_photo(read_image_file(faces / "people" / "obama" / "obama.jpg"), "obama")
    assert wait_for(runtime, lambda: runtime.snapshot().phase == "idle")
    runtime.post(m.Choose("face"))
    runtime.post(m.EnterCode("A101"))
    granted = wait_for(runtime, lambda: last_access(runtime).get("reason") == "granted")
    assert granted, runtime.snapshot().last_events[:3]
    assert last_access(runtime)["method"] == "face"

    # 6. Events page shows it; filters work in the browser.
    page.goto("/events")
    page.select_option("select[name=method]", "face")
    page.click("form.filters button")
    assert "face" in page.inner_text("#events") and "granted" in page.inner_text("#events")
    page.screenshot(path=str(shots / "events.png"))

    # 7. Export (readable page) shows the face as held, without template bytes.
    page.goto("/residents/A101/export")
    text = page.inner_text("main")
    assert "encoding(s)" in text and "not exported" in text
    page.screenshot(path=str(shots / "export.png"), full_page=True)

    # 8. Delete face data in one step; the receipt says what went and what stays.
    page.goto("/residents/A101")
    page.screenshot(path=str(shots / "resident.png"), full_page=True)
    page.click("text=Delete face data (withdraw consent)")
    page.check("input[name=confirm]")
    page.click("button.danger")
    page.wait_for_url("**/receipts/*")
    assert "Face data deleted" in page.inner_text("h1 + p") or "Face data deleted" in page.inner_text("main")
    page.screenshot(path=str(shots / "deletion-receipt.png"), full_page=True)
    with gctx.sessions() as session:
        from gate.store.residents import get_resident

        assert get_resident(session, "A101").face_pseudonym is None
    # At the gate, face now refuses at once (no consent, camera not opened) and the card still opens.
    assert wait_for(runtime, lambda: runtime.snapshot().phase == "idle")
    opens = runtime.snapshot().camera.opens
    runtime.post(m.Choose("face"))
    runtime.post(m.EnterCode("A101"))
    assert wait_for(runtime, lambda: last_access(runtime).get("reason") == "no_consent"), (
        runtime.snapshot().phase, runtime.snapshot().message, runtime.snapshot().last_events[:3])
    assert runtime.snapshot().camera.opens == opens
    assert wait_for(runtime, lambda: runtime.snapshot().phase == "idle")
    rig.present_card("12345678")
    granted = wait_for(runtime, lambda: last_access(runtime).get("reason") == "granted"
                       and last_access(runtime).get("method") == "card")
    assert granted, (runtime.snapshot().phase, runtime.snapshot().last_events[:3])

    # 9. Dashboard and audit log.
    page.goto("/")
    assert page.inner_text("#face-count") == "0"
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    page.goto("/audit")
    page.click("text=Verify chain")
    assert "The chain is intact" in page.inner_text("#chain-report")
    page.screenshot(path=str(shots / "audit.png"))
    page.goto("/residents")
    page.screenshot(path=str(shots / "residents.png"))


# -- the operator journey in Chinese ------------------------------------------------------------------
BEIJING_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\+08:00")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def chinese_site(gctx):
    """A Chinese site in Beijing time with its notice published in Chinese; set before the app starts."""
    from gate.store.models import OperatorRole
    from tests.webui.conftest import add_operator
    from tests.webui.test_operator_language import publish_chinese_notice, set_site

    set_site(gctx, "site.language", "zh_Hans_CN")
    set_site(gctx, "site.timezone", "Asia/Shanghai")
    publish_chinese_notice(gctx)
    add_operator(gctx, "wang", OperatorRole.OPERATOR)
    add_operator(gctx, "admin", OperatorRole.ADMIN)
    return gctx


def sign_in(page, username: str) -> None:
    """Sign in as `username` (PASSWORD) on the login form; its own button, not the header's language switch."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/")


@pytest.mark.faces
@pytest.mark.slow
def test_operator_journey_in_chinese(chinese_site, browser, live, faces, shots) -> None:
    """Issue 13: sign in, add a resident, consent against the Chinese notice, enroll from a photo, delete the
    face data and read the 删除回执, all in Chinese with Beijing times; screenshots at desktop and phone size
    (390x844) of the operator pages in Chinese (zh-*.png)."""
    context = browser.new_context(base_url=live, viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    photo = faces / "special" / "obama" / "obama-480p.jpg"
    pages: dict[str, str] = {}
    try:
        page.goto("/login")
        assert "登录" in page.inner_text("h1") and "时间均为本地时间：Asia/Shanghai。" in page.inner_text("footer")
        pages["login"] = "/login"
        sign_in(page, "wang")

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
        sign_in(page, "admin")
        assert "门禁屏幕将提供：" in page.goto("/settings").text()
        pages["settings"] = "/settings"
        pages["account"] = "/account/password"
        for name, url in pages.items():
            page.goto(url)
            page.screenshot(path=str(shots / f"zh-{name}.png"), full_page=True)
        phone = browser.new_context(base_url=live, viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                    has_touch=True, locale="zh-CN")
        small = phone.new_page()
        sign_in(small, "admin")
        for name in ("resident", "deletion-receipt", "notice"):
            small.goto(pages[name])
            small.screenshot(path=str(shots / f"zh-phone-{name}.png"), full_page=True)
        phone.close()
    finally:
        context.close()


# -- the operations view and the phone layout ---------------------------------------------------------
# Here, not in a module of their own: a second session-wide Playwright in the same worker refuses to start.
PHONE_PAGES = ["/", "/operations/", "/residents", "/events", "/audit", "/settings", "/site", "/operators",
               "/residents/new"]
PHONE_SHOTS = {"/operations/": "operations", "/residents": "residents", "/events": "events"}


def signed_in(browser, live, gctx, viewport):
    add_operator(gctx, "alice", OperatorRole.ADMIN)
    context = browser.new_context(base_url=live, viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, "alice")
    return context, page


def test_the_operations_view_follows_the_door_live_and_an_alarm_is_acknowledged(browser, live, sim_gate,
                                                                                 gctx) -> None:
    rig, runtime = sim_gate
    context, page = signed_in(browser, live, gctx, {"width": 1200, "height": 900})
    try:
        page.goto("/operations/")
        page.wait_for_selector("#door-state.door-locked")
        rig.set_input(DOOR_SENSOR, False)  # the door contact opens with nobody granted: forced
        page.wait_for_selector("#door-state.door-forced")  # pushed by the stream, no reload
        page.wait_for_selector("li.alarm[data-alarm=door_forced]:not(.acknowledged)")
        rig.set_input(FIRE_ALARM, False)  # the fire loop opens: the door is held released
        page.wait_for_selector("li.alarm[data-alarm=fire_alarm]")
        page.wait_for_selector("dd.state.door-forced, dd.state.door-held")
        page.goto("/operations/")  # the banner is part of the page: it shows on the next page loaded
        banner = page.locator("#alarm-banner form", has_text="Fire alarm")
        banner.locator("button").click()
        page.wait_for_selector("li.alarm.acknowledged[data-alarm=fire_alarm]")
        assert page.locator("#alarm-banner form", has_text="Fire alarm").count() == 0
        assert page.locator("#alarm-banner form", has_text="Door forced").count() == 1
        rig.set_input(FIRE_ALARM, True)
        rig.set_input(DOOR_SENSOR, True)
        page.wait_for_selector("#door-state.door-locked")
        page.wait_for_selector("li.none")  # both alarms cleared by their causes
    finally:
        context.close()


def test_operator_pages_fit_a_phone(browser, live, sim_gate, gctx, shots) -> None:
    context, page = signed_in(browser, live, gctx, {"width": 390, "height": 844})
    try:
        for path in PHONE_PAGES:
            page.goto(path)
            width = page.evaluate("document.scrollingElement.scrollWidth")
            assert width <= 390, (path, width)
            if path in PHONE_SHOTS:  # the README's English phone pictures (the Chinese ones: the journey above)
                page.screenshot(path=str(shots / f"en-phone-{PHONE_SHOTS[path]}.png"), full_page=True)
        page.goto("/operations/")
        assert not page.locator("header.top nav").is_visible()  # collapsed behind the menu button
        page.click("label.nav-button")
        assert page.locator("header.top nav").is_visible()
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    finally:
        context.close()
