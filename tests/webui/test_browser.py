"""Main journeys in headless Chromium (Debian's /usr/bin/chromium driven by Playwright; one browser per
session): first admin, resident with card and PIN, consent + enrollment from a real photo, verification at
the simulated gate, events, export, deletion. Screenshots of each main page go to a temporary folder, or
to webui/screenshots/ when GATE_UPDATE_SCREENSHOTS=1 (that is how the README's pictures are made).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.access import Claim, ClaimKind
from gate.decision import FaceOutcome
from gate.face.images import read_image_file
from gate.face.verify import verify_frames
from tests.webui.conftest import PASSWORD

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        # A synthetic camera, so the webcam path (getUserMedia -> frame check -> feedback) runs headless.
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium: run scripts/test-services")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def live(face_app, gctx) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, face_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    if os.environ.get("GATE_UPDATE_SCREENSHOTS") == "1":
        target = REPO / "webui" / "screenshots"
        target.mkdir(exist_ok=True)
        return target
    return tmp_path


@pytest.fixture
def page(browser, live):  # type: ignore[no-untyped-def]
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
def test_main_journey(page, gctx, face_engine, faces, shots) -> None:  # type: ignore[no-untyped-def]
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
    page.fill("input[name=number]", "12345678")
    page.click("form[action$='/cards'] button")
    assert "Card 12345678 added" in page.inner_text("main")
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
    page.wait_for_url("**/face/capture")
    assert page.is_visible("#webcam-section")  # getUserMedia exists: the webcam panel is offered
    page.click("#webcam-start")
    page.click("#webcam-grab")
    page.wait_for_selector("#webcam-frames li", timeout=20_000)
    assert "no face" in page.inner_text("#webcam-frames").lower()  # the fake camera shows no face
    page.screenshot(path=str(shots / "face-capture.png"))
    page.set_input_files("#photos", str(photo))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#enroll-ok", timeout=30000)
    assert "No image was kept" in page.inner_text("main")
    page.screenshot(path=str(shots / "face-result.png"), full_page=True)

    # 5. Verify at the simulated gate: card, then a 1:1 face check against another photo of the same person.
    with gctx.sessions() as session:
        from gate.residents import get_resident

        template = gctx.store.load(session, get_resident(session, "A101"))
    result = verify_frames(face_engine, template.encodings, [read_image_file(faces / "people" / "obama" / "obama.jpg")])
    assert result.match, result
    outcome = gctx.access().face("main", Claim(ClaimKind.CARD, "12345678"), FaceOutcome.MATCH)
    assert outcome.decision.granted

    # 6. Events page shows it; filters work in the browser.
    page.goto("/events")
    page.select_option("select[name=method]", "card+face")
    page.click("form.filters button")
    assert "card+face" in page.inner_text("#events") and "granted" in page.inner_text("#events")
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
        assert get_resident(session, "A101").face_pseudonym is None
    denied = gctx.access().face("main", Claim(ClaimKind.CARD, "12345678"), FaceOutcome.MATCH)
    assert not denied.decision.granted and gctx.access().card("main", "12345678").decision.granted

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
