"""The kiosk as a new user meets it, in Chromium at the portrait touch screen's size (800x1280), in
Chinese and in English: card, PIN, face with the camera indicator pushed over /kiosk/events, a refusal
with its alternatives as buttons, the fire alarm, and the 中文 / EN toggle returning to the site's
language after the transaction, the door held open, the tone and `[gate] kiosk_sound = false`. Every
state is checked to fit the screen: nothing outside it, no cut-off label, no two things on top of each
other, no text under 20 px. One browser and one gate for the module; screenshots of each state go to
webui/screenshots/ when GATE_UPDATE_SCREENSHOTS=1 (the README's pictures)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.context import GateContext
from gate.face.images import read_image_file
from gate.service.simrig import DOOR_SENSOR, FIRE_ALARM
from gate.store import site_settings
from tests.conftest import CHROMIUM, serving
from tests.service.conftest import CARD, CODE, Gate, allow_face, make_installation
from tests.service.test_face_e2e import FACES, enroll_resident
from tests.webui.test_browser import REPO
from webui.server import make_app

pytestmark = [pytest.mark.browser, pytest.mark.faces]
SIZE = {"width": 800, "height": 1280}
WORDS = {"en": {"welcome": "Welcome", "denied": "Access denied", "camera": "Camera on", "tap": "Tap your card here",
                "fire": "Fire alarm: doors released", "wrong": "Wrong PIN", "face": "Resident code + face",
                "pin": "Resident code + PIN", "code": "Resident or visitor code", "pin_label": "PIN",
                "name": "T*t R*t"},
         "zh_Hans_CN": {"welcome": "请通行", "denied": "禁止通行", "camera": "摄像头已开启", "tap": "请将卡片靠近此处",
                        "fire": "消防报警：门已释放", "wrong": "密码错误", "face": "住户编号 + 刷脸",
                        "pin": "住户编号 + 密码", "code": "住户编号或访客码", "pin_label": "密码", "name": "T*t R*t"}}


@pytest.fixture(scope="module")
def kiosk_gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gate]:
    from gate.face.engine import FaceEngine
    from gate.service.builder import build_runtime
    from gate.service.runtime import Timeouts
    from gate.service.simrig import SimRig

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium: run scripts/test-services")
    if not (FACES / "people" / "obama").is_dir():
        pytest.skip(f"real face photos not found at {FACES}")
    engine = FaceEngine()
    if not engine.available:
        pytest.skip("the face model is not installed")
    folder = tmp_path_factory.mktemp("kiosk")
    ctx = make_installation(folder / "data")
    rig = SimRig(pulse_ms=300).start()
    runtime = build_runtime(ctx, rig=rig, timeouts=Timeouts(face=60, decision=60, refusal=3, passage=2,
                                                                    held_open=1),
                            face_engine=engine)
    runtime.start()
    gate = Gate(ctx, rig, runtime)
    allow_face(gate, folder, methods="card,pin,face")  # code + face only: no card+face (no traps)
    enroll_resident(gate, engine, FACES / "people" / "obama" / "obama.jpg")
    try:
        yield gate
    finally:
        runtime.stop()
        rig.stop()
        ctx.close()


@pytest.fixture(scope="module")
def served(kiosk_gate: Gate) -> Iterator[str]:
    with serving(make_app(kiosk_gate.ctx, kiosk_gate.runtime, simulate=True)) as url:
        yield url


@pytest.fixture(scope="module")
def kiosk_page(served: str, browser) -> Iterator[object]:
    page = browser.new_page(viewport=SIZE)
    page.set_default_timeout(20_000)
    yield page
    page.close()


#: What is wrong with the screen as shown, for a person standing at it: the page scrolls, something
#: is outside the screen, a text sticks out of its box (a cut-off label), two things shown side by side
#: overlap, or a text is smaller than 20 px.
PROBLEMS_JS = """() => {
  const problems = [], W = innerWidth, H = innerHeight, root = document.documentElement;
  if (root.scrollWidth > W || root.scrollHeight > H) {
    problems.push(`the page is ${root.scrollWidth}x${root.scrollHeight}`);
  }
  const shown = (el) => el.getClientRects().length > 0 && !el.closest(".sr-only");
  const name = (el) => el.id ? "#" + el.id : el.tagName.toLowerCase() + "." + (el.getAttribute("class") || "")
    + " " + JSON.stringify((el.textContent || "").trim().slice(0, 24));
  const inside = (r, box) => r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1
    && r.bottom <= box.bottom + 1;
  const screen = {left: 0, top: 0, right: W, bottom: H};
  const all = Array.from(document.querySelectorAll("main *"))
    .filter((el) => shown(el) && !el.parentElement.closest("svg"));
  for (const el of all) {
    const box = el.getBoundingClientRect();
    if (!inside(box, screen)) problems.push(`${name(el)} is outside the screen`);
    for (const other of Array.from(el.parentElement.children)) {
      const before = el.compareDocumentPosition(other) & Node.DOCUMENT_POSITION_PRECEDING;
      if (other === el || before || !all.includes(other)) continue;
      const o = other.getBoundingClientRect();
      const w = Math.min(box.right, o.right) - Math.max(box.left, o.left);
      const h = Math.min(box.bottom, o.bottom) - Math.max(box.top, o.top);
      if (w > 1 && h > 1) problems.push(`${name(el)} overlaps ${name(other)}`);
    }
    for (const node of el.childNodes) {
      if (node.nodeType !== Node.TEXT_NODE || !node.textContent.trim()) continue;
      const range = document.createRange(); range.selectNodeContents(node);
      const text = range.getBoundingClientRect();  // a glyph may rise above a tight line box: sideways only
      if (text.left < box.left - 1 || text.right > box.right + 1 || !inside(text, screen)) {
        problems.push(`the text of ${name(el)} sticks out`);
      }
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < 20) problems.push(`${name(el)} is in ${size} px type`);
    }
  }
  return problems;
}"""


def fits(page, state: str) -> None:
    problems = page.evaluate(PROBLEMS_JS)
    assert not problems, f"{state}: {problems}"


def shots() -> Path | None:
    return REPO / "webui" / "screenshots" if os.environ.get("GATE_UPDATE_SCREENSHOTS") == "1" else None


def snap(page, name: str, language: str) -> None:
    fits(page, f"{name} ({language})")
    folder = shots()
    if folder is not None:
        page.screenshot(path=str(folder / f"kiosk-{name}-{'zh' if language != 'en' else 'en'}.png"))


def set_language(gate: Gate, language: str) -> None:
    from gate.clock import utcnow

    with gate.ctx.transaction() as session:
        site_settings.change(session, "site.language", language, actor="test", now=utcnow())
    gate.ctx.load_site_settings()


def idle(page, gate: Gate) -> None:
    from gate.core import machine as m

    gate.runtime.post(m.Cancel())
    page.locator("body[data-view=idle]").wait_for()


@pytest.mark.parametrize("language", ["zh_Hans_CN", "en"])
def test_card_pin_face_refusal_and_fire_alarm_at_the_kiosk(kiosk_page, served: str, kiosk_gate: Gate,
                                                           language: str) -> None:
    page, gate, words = kiosk_page, kiosk_gate, WORDS[language]
    set_language(gate, language)
    page.goto(served + "/kiosk/")
    assert page.locator("html").get_attribute("lang") == ("en" if language == "en" else "zh-Hans-CN")
    page.get_by_text(words["tap"]).wait_for()
    # No trap: this gate takes face after a resident code only, and the tile says so.
    assert page.get_by_role("button", name=words["face"]).is_visible()
    for tile in page.locator("#ways .tile:visible").all():
        assert tile.bounding_box()["height"] >= 120
    snap(page, "idle", language)

    # Card: a full-screen green panel with the masked name, never the full one.
    gate.card(CARD)
    page.locator("body[data-view=open]").wait_for()
    assert page.locator("#headline").inner_text() == words["welcome"]
    assert page.locator("#greeting").inner_text() == words["name"]
    assert "Test Resident" not in page.content()
    assert page.locator("#panel").get_attribute("aria-live") == "assertive"
    assert page.locator("body").get_attribute("data-tones") == "1"  # the rising tone ([gate] kiosk_sound)
    assert page.locator("body").get_attribute("data-sound") == "open"
    snap(page, "open", language)
    idle(page, gate)

    # PIN on the on-screen keypad, wrong first: a red panel, two lines at most, the other ways as buttons.
    page.get_by_role("button", name=words["pin"]).click()
    page.get_by_label(words["code"]).wait_for()
    snap(page, "code", language)
    page.get_by_label(words["code"]).fill(CODE)
    page.get_by_label(words["code"]).press("Enter")
    pad = page.get_by_role("group", name="Keypad" if language == "en" else "键盘")
    page.get_by_label(words["pin_label"], exact=True).wait_for()
    fits(page, f"pin ({language})")
    for digit in "000000":
        pad.get_by_role("button", name=digit, exact=True).click()
    pad.locator("[data-key=ok]").click()
    page.locator("body[data-view=refusal]").wait_for()
    assert page.locator("#headline").inner_text() == words["denied"]
    assert words["wrong"] in page.locator("#lines").inner_text()
    assert page.locator("#lines p").count() <= 2
    assert page.locator("#ways .tile:visible").count() >= 1
    assert page.locator("body").get_attribute("data-tones") == "2"
    assert page.locator("body").get_attribute("data-sound") == "refusal"
    snap(page, "refused", language)
    idle(page, gate)

    # Face: resident code, then the camera, whose indicator the server pushes however short the opening.
    gate.rig.show_photo(read_image_file(FACES / "people" / "obama" / "obama2.jpg"), "obama2")
    page.get_by_role("button", name=words["face"]).click()
    page.get_by_label(words["code"]).fill(CODE)
    page.get_by_label(words["code"]).press("Enter")
    page.locator("#camera-indicator", has_text=words["camera"]).wait_for()
    fits(page, f"face ({language})")
    page.locator("body[data-view=open]").wait_for()
    snap(page, "face-open", language)
    idle(page, gate)

    # Fire alarm: its own full-screen state, whatever the screen showed.
    gate.rig.set_input(FIRE_ALARM, False)
    try:
        page.locator("body[data-view=alarm]").wait_for()
        assert page.locator("#headline").inner_text() == words["fire"]
        snap(page, "fire", language)
    finally:
        gate.rig.set_input(FIRE_ALARM, True)
    page.locator("body[data-view=idle]").wait_for()


def test_the_language_toggle_lasts_one_transaction(kiosk_page, served: str, kiosk_gate: Gate) -> None:
    page, gate = kiosk_page, kiosk_gate
    set_language(gate, "zh_Hans_CN")
    page.goto(served + "/kiosk/")
    page.get_by_text("请将卡片靠近此处").wait_for()
    page.get_by_role("button", name="语言").click()
    page.get_by_text("Tap your card here").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    gate.card(CARD)
    page.locator("#headline", has_text="Welcome").wait_for()
    page.get_by_text("请将卡片靠近此处").wait_for()  # the transaction ended: the site's language again
    assert page.locator("html").get_attribute("lang") == "zh-Hans-CN"


def test_a_door_held_open_fills_the_screen_until_it_closes(kiosk_page, served: str, kiosk_gate: Gate) -> None:
    """[gate] held_open_seconds is 1 s here: the resident walks through and leaves the door open."""
    page, gate = kiosk_page, kiosk_gate
    set_language(gate, "zh_Hans_CN")
    page.goto(served + "/kiosk/")
    page.get_by_text("请将卡片靠近此处").wait_for()
    gate.card(CARD)
    page.locator("body[data-view=open]").wait_for()
    gate.rig.set_input(DOOR_SENSOR, False)  # the door sensor's contact opens (on = closed)
    try:
        # The held-open alarm outlasts the transaction: the screen still says it at idle.
        page.locator("body[data-view=alarm][data-phase=idle]").wait_for()
        assert "door_held_open" in gate.runtime.snapshot().alarms
        assert page.locator("#headline").inner_text() == "门长时间未关闭"
        assert page.locator("#lines").inner_text() == "请随手关门。"
        assert page.locator("#ways .tile:visible").count() == 0 and page.locator("#notice").is_hidden()
        snap(page, "held", "zh_Hans_CN")
        page.get_by_role("button", name="语言").click()
        assert page.locator("#headline").inner_text() == "Door held open"
        assert page.locator("#lines").inner_text() == "Please close the door behind you."
        snap(page, "held", "en")
    finally:
        gate.rig.set_input(DOOR_SENSOR, True)
    page.locator("body[data-view=idle]").wait_for()  # the door closed: the alarm clears by itself
    assert "door_held_open" not in gate.runtime.snapshot().alarms
    page.get_by_text("Tap your card here").wait_for()


def test_kiosk_sound_false_plays_no_tone(kiosk_page, kiosk_gate: Gate) -> None:
    """The same gate's screen served from a gate.toml with `[gate] kiosk_sound = false`: the page's
    configuration says so and a grant plays nothing (the module's other tests count the tones when on)."""
    page, gate = kiosk_page, kiosk_gate
    set_language(gate, "en")
    toml = gate.ctx.settings.data_dir / "gate.toml"
    written = toml.read_text(encoding="utf-8")
    assert "# kiosk_sound = true" in written
    toml.write_text(written.replace("# kiosk_sound = true", "kiosk_sound = false", 1), encoding="utf-8")
    quiet = GateContext.open(gate.ctx.settings.data_dir)
    try:
        assert quiet.settings.gate.kiosk_sound is False
        with serving(make_app(quiet, gate.runtime, simulate=True)) as url:
            page.goto(url + "/kiosk/")
            assert json.loads(page.locator("#kiosk-config").text_content())["sound"] is False
            page.get_by_text("Tap your card here").wait_for()
            gate.card(CARD)
            page.locator("body[data-view=open]").wait_for()
            assert page.locator("body").get_attribute("data-tones") == "0"
            assert page.locator("body").get_attribute("data-sound") is None
            idle(page, gate)
    finally:
        toml.write_text(written, encoding="utf-8")
        quiet.close()
