"""/health, the kiosk screen and the simulator page: HTTP through the real app, and the kiosk in
headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import stat
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from gate.store import assessments, gates
from tests.conftest import serving
from tests.service.conftest import CODE, PIN, Gate
from webui.server import make_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def client(gate: Gate):
    app = make_app(gate.ctx, gate.runtime, simulate=True)
    app.config["TESTING"] = True
    return app.test_client()


def test_status_reports_devices_face_model_and_events(client, gate: Gate) -> None:
    gate.card("188:24910")
    assert gate.wait_for(lambda: gate.releases() >= 1)
    # a loaded machine can drop the simulated links for a moment: wait for the gate to be ok again
    assert gate.wait_for(lambda: client.get("/api/status").get_json()["ok"] is True)
    data = client.get("/api/status").get_json()
    assert data["gate"] == "main" and data["running"] is True
    assert data["face_model"]["state"] in ("loading", "ready", "unavailable", "disabled")
    assert [e for e in data["last_events"] if e["kind"] == "access"][0]["method"] == "card"
    assert "188" not in str(data["last_events"])  # no card numbers in the status


def _face_model(client) -> dict:
    health = client.get("/health").get_json()
    model = client.get("/api/status").get_json()["face_model"]  # the whole status (this machine may ask)
    assert health["face_engine"] == model.get("engine")  # /health names the engine too, and nothing more
    return model


def test_health_names_the_face_engine_and_its_graph_is_cached_privately(gate_factory, face_graph_seed,
                                                                        caplog) -> None:
    with caplog.at_level("INFO", logger="gate.face"):
        gate = gate_factory()
        client = make_app(gate.ctx, gate.runtime, simulate=True).test_client()
        assert gate.wait_for(lambda: _face_model(client)["state"] != "loading", 60)
    model = _face_model(client)
    assert model["state"] == "ready" and model["engine"] == "onnx" and "engine_fallback" not in model
    folder = gate.ctx.settings.data_dir / "models"
    (cached,) = folder.glob("*.onnx")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(cached.stat().st_mode) == 0o600
    # The gate's own copy of the graph the test session converted once (tests/conftest.py), not a conversion
    assert face_graph_seed is not None and cached.read_bytes() == (face_graph_seed / cached.name).read_bytes()
    messages = [r.getMessage() for r in caplog.records if r.name == "gate.face"]
    assert any(m.startswith("face encoder copied from") for m in messages), messages
    assert not any(m.startswith("face encoder converted") for m in messages), messages


def test_health_says_why_face_runs_on_dlib_without_onnxruntime(gate_factory, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    gate = gate_factory()
    client = make_app(gate.ctx, gate.runtime, simulate=True).test_client()
    assert gate.wait_for(lambda: _face_model(client)["state"] != "loading", 60)
    model = _face_model(client)
    assert model["state"] == "ready" and model["engine"] == "dlib"
    assert "onnxruntime" in model["engine_fallback"]


def test_kiosk_posts_are_json_and_same_origin_only(client, gate: Gate) -> None:
    assert client.post("/kiosk/action", data={"action": "choose", "value": "pin"}).status_code == 415
    cross = client.post("/kiosk/action", json={"action": "choose", "value": "pin"},
                        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert client.post("/kiosk/action", json={"action": "open"}).status_code == 400
    remote = client.post("/kiosk/action", json={"action": "choose", "value": "pin"},
                         environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 403  # only the gate's own screen presses buttons
    assert client.post("/kiosk/action", json={"action": "choose", "value": "pin"}).status_code == 202
    assert gate.wait_for(lambda: client.get("/kiosk/state").get_json()["phase"] == "claim")
    page = client.get("/kiosk/").get_data(as_text=True)
    assert "Full notice" in page and "Card and PIN" in page


def test_sim_page_taps_a_card_through_the_osdp_simulator(client, gate: Gate) -> None:
    assert client.get("/sim/").status_code == 200
    assert client.post("/sim/card", json={"number": "188:24910"}).status_code == 202
    assert gate.wait_for(lambda: gate.releases() >= 1)
    state = client.get("/sim/state").get_json()
    assert state["rig"]["reader_online"] is True


def test_sim_page_is_absent_without_simulate(gate: Gate) -> None:
    app = make_app(gate.ctx, gate.runtime, simulate=False)
    assert app.test_client().get("/sim/").status_code == 404


# -- the kiosk in a browser -------------------------------------------------------------------------
@pytest.fixture
def served(gate: Gate) -> Iterator[str]:
    with serving(make_app(gate.ctx, gate.runtime, simulate=True)) as url:
        yield url


@pytest.fixture
def page(served: str, browser):
    page = browser.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        page.close()


@pytest.mark.browser
def test_kiosk_pin_on_the_screen_opens_the_door(page, served: str, gate: Gate) -> None:
    page.goto(served + "/kiosk/")
    page.get_by_role("button", name="Card").wait_for()
    assert page.get_by_role("button", name="PIN").is_visible()
    assert not page.get_by_role("button", name="Face").is_visible()  # this gate does not accept face
    page.get_by_role("button", name="PIN").click()
    page.get_by_label("Resident or visitor code").fill(CODE)
    page.get_by_label("Resident or visitor code").press("Enter")
    pad = page.get_by_role("group", name="Keypad")  # the PIN typed on the on-screen keypad
    page.get_by_label("PIN", exact=True).wait_for()
    for digit in PIN:
        pad.get_by_role("button", name=digit, exact=True).click()
    pad.get_by_role("button", name="OK").click()
    page.get_by_text("Welcome.").wait_for()
    assert gate.wait_for(lambda: gate.releases() >= 1)
    assert gate.runtime.snapshot().camera.opens == 0


@pytest.mark.browser
def test_kiosk_face_button_is_offered_but_never_alone_or_preselected(page, served: str, gate: Gate,
                                                                     tmp_path: Path) -> None:
    doc = tmp_path / "dpia.txt"
    doc.write_text("assessment")
    with gate.ctx.transaction() as session:
        g = gates.get_gate(session, "main")
        assessments.record_assessment(session, g, assessed_on=date(2026, 1, 1), approver="DPO",
                                      document=doc.read_bytes(), actor="t", site_timezone="UTC")
        gates.set_gate(session, g, actor="t", methods="card,pin,face")
    gate.runtime.reload_policy()
    page.goto(served + "/kiosk/")
    face = page.get_by_role("button", name="Face")
    face.wait_for()
    assert page.get_by_role("button", name="Card").is_visible() and page.get_by_role("button", name="PIN").is_visible()
    assert page.evaluate("document.activeElement.dataset.way") != "face"
    # no consent: told how to enroll, offered card and PIN, the camera indicator never shows
    face.click()
    page.get_by_label("Resident or visitor code").fill(CODE)
    page.get_by_label("Resident or visitor code").press("Enter")
    page.get_by_text("ask the management office to enroll you").wait_for()
    assert not page.locator("#camera-indicator").is_visible()
    assert not face.is_visible()
    assert gate.runtime.snapshot().camera.opens == 0


def test_kiosk_still_works_with_the_database_away(client, gate: Gate, tmp_path: Path) -> None:
    import shutil

    db_file = gate.ctx.settings.data_dir / "gate.db"
    shutil.move(db_file, tmp_path / "away.db")
    gate.ctx.engine.dispose()
    try:
        assert client.get("/kiosk/").status_code == 200
        assert client.post("/kiosk/action", json={"action": "choose", "value": "pin"}).status_code == 202
        assert client.get("/health").status_code == 200
    finally:
        db_file.unlink(missing_ok=True)
        gate.ctx.engine.dispose()
        shutil.move(tmp_path / "away.db", db_file)


def test_sim_page_holds_up_a_shared_photo_or_an_upload(client, gate: Gate) -> None:
    import io

    import numpy as np
    from PIL import Image

    faces = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
    if faces.is_dir():
        gate.runtime.extras["faces_dir"] = str(faces)
        names = client.get("/sim/faces").get_json()
        assert "people/obama/obama.jpg" in names
        assert client.post("/sim/photo", json={"face": "people/obama/obama.jpg"}).status_code == 202
        assert client.get("/sim/state").get_json()["rig"]["photo"] == "people/obama/obama.jpg"
        assert client.post("/sim/photo", json={"face": "../../etc/passwd"}).status_code == 404
    buffer = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 128, dtype=np.uint8)).save(buffer, format="PNG")
    response = client.post("/sim/photo", data={"photo": (io.BytesIO(buffer.getvalue()), "p.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 202
    assert client.get("/sim/state").get_json()["rig"]["photo"] == "uploaded photo"
    bad = client.post("/sim/photo", data={"photo": (io.BytesIO(b"not an image"), "x.png")},
                      content_type="multipart/form-data")
    assert bad.status_code == 400
    assert client.post("/sim/photo", json={"face": ""}).status_code == 202
    assert client.get("/sim/state").get_json()["rig"]["photo"] is None


@pytest.mark.browser
def test_sim_page_in_the_browser_taps_a_card_and_shows_the_relay(page, served: str, gate: Gate) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    page.goto(served + "/sim/")
    assert gate.wait_for(lambda: gate.runtime.snapshot().reader.get("online") is True)
    page.get_by_role("button", name="Tap card").click()
    page.get_by_text("card granted granted").wait_for()
    assert gate.wait_for(lambda: gate.releases() >= 1)
    page.get_by_text("exit button").click()  # the checkbox of input 1 on the simulated board
    assert gate.wait_for(lambda: gate.releases() >= 2)
    assert not errors, errors


def test_kiosk_events_push_every_camera_opening_with_lines_in_both_languages(client, gate: Gate) -> None:
    import json

    response = client.get("/kiosk/events", buffered=False)
    chunks = iter(response.response)
    try:
        assert next(chunks).startswith(b"retry:")  # the browser comes back after the stream ends
        first = json.loads(next(c for c in chunks if c.startswith(b"data:"))[5:])
        assert first["lines"]["zh_Hans_CN"] == ["请刷卡，或选择通行方式。"] and first["lines"]["en"]
        # An opening far shorter than any poll: the stream still pushes it, counted.
        gate.runtime.set_camera(True)
        gate.runtime.set_camera(False)
        pushed = json.loads(next(c for c in chunks if c.startswith(b"data:"))[5:])
        assert pushed["camera_uses"] == first["camera_uses"] + 1
    finally:
        response.close()
