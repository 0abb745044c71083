"""Residents: list/search, add, edit, move out, cards (typed and captured), PINs (shown once, never again)."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from gate.secrets import passwords
from gate.store.models import AuditEntry, OperatorRole, ResidentStatus
from tests.webui.helpers import add_resident, resident


def test_add_search_show_and_edit(client, auth, gctx) -> None:
    auth.login("clerk", OperatorRole.OPERATOR)
    response = auth.post("/residents/new", {"code": "B202", "name": "Grace Hopper", "unit": "2-02"})
    assert response.status_code == 302 and response.headers["Location"] == "/residents/B202"
    assert "Grace Hopper" in client.get("/residents?q=hopp").get_data(as_text=True)
    assert "Grace Hopper" not in client.get("/residents?q=zzz").get_data(as_text=True)
    assert auth.post("/residents/new", {"code": "B202", "name": "Dup"}).status_code == 400
    edited = auth.post("/residents/B202/edit", {"name": "Grace B. Hopper", "unit": "2-03",
                                                "birth_date": "2016-02-29", "guardian_name": "Walter"})
    assert edited.status_code == 302
    stored = resident(gctx, "B202")
    assert stored and stored.name == "Grace B. Hopper" and stored.guardian_name == "Walter"
    assert stored.birth_date == date(2016, 2, 29)
    assert auth.post("/residents/B202/edit", {"name": "Grace B. Hopper", "birth_date": "29/02/2016"}).status_code == 400
    assert client.get("/residents/NOPE").status_code == 404


def test_hostile_input_is_escaped_or_refused(client, auth, gctx) -> None:
    auth.login("clerk", OperatorRole.OPERATOR)
    script = "<script>alert(1)</script>"
    hostile = {"code": "C1", "name": script, "unit": '"><img src=x onerror=alert(1)>'}
    assert auth.post("/residents/new", hostile).status_code == 302
    page = client.get("/residents/C1").get_data(as_text=True)
    assert script not in page and "&lt;script&gt;" in page and "<img src=x" not in page
    for code in ("../etc", "a b", "x" * 40, "", "<b>"):
        response = auth.post("/residents/new", {"code": code, "name": "X"})
        assert response.status_code == 400, code
    assert auth.post("/residents/new", {"code": "D1", "name": "   "}).status_code == 400
    page = client.get("/residents?q=%25%27%3B--").get_data(as_text=True)
    assert "%" not in page.split("<table")[0].split("Search")[0]
    assert client.get("/residents?q=" + "x" * 5000).status_code == 200


def test_cards_add_remove_and_conflicts(client, auth, gctx) -> None:
    add_resident(gctx, "A101")
    add_resident(gctx, "A102", "Other")
    auth.login("clerk", OperatorRole.OPERATOR)
    assert auth.post("/residents/A101/cards", {"number": "12345678", "label": "blue"}).status_code == 302
    assert len(resident(gctx, "A101").cards) == 1
    auth.post("/residents/A102/cards", {"number": "12345678"})
    assert "already registered" in client.get("/residents/A102").get_data(as_text=True)
    auth.post("/residents/A101/cards", {"number": "not a card!"})
    assert len(resident(gctx, "A101").cards) == 1
    uid = resident(gctx, "A101").cards[0].uid
    auth.post("/residents/A102/cards/remove", {"number": uid})  # not A102's card
    assert len(resident(gctx, "A101").cards) == 1
    assert auth.post("/residents/A101/cards/remove", {"number": uid}).status_code == 302
    assert resident(gctx, "A101").cards == []


def test_card_capture_button_only_with_a_reader(gctx) -> None:
    from webui import create_app

    class Runtime:
        def capture_card(self, timeout: float) -> str | None:
            assert timeout <= 10
            return "0x00AB12CD"

    add_resident(gctx, "A101")
    for runtime, shown in ((None, False), (Runtime(), True)):
        app = create_app(gctx, config={"TESTING": True}, gate_runtime=runtime)
        client = app.test_client()
        from tests.webui.conftest import AuthActions

        auth = AuthActions(client, gctx)
        auth.login("clerk", OperatorRole.OPERATOR)
        page = client.get("/residents/A101").get_data(as_text=True)
        assert ("capture its number" in page) is shown
        response = auth.post("/residents/A101/cards/capture", {})
        assert response.status_code == 302
        assert (len(resident(gctx, "A101").cards) == 1) is shown


def test_pin_set_is_never_shown_and_generated_pin_shown_once(client, auth, gctx) -> None:
    add_resident(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    assert auth.post("/residents/A101/pin", {"mode": "typed", "pin": "1111", "pin2": "1111"}).status_code == 302
    assert resident(gctx, "A101").pin is None  # too easy, refused
    auth.post("/residents/A101/pin", {"mode": "typed", "pin": "5821", "pin2": "5820"})
    assert resident(gctx, "A101").pin is None  # mismatch
    auth.post("/residents/A101/pin", {"mode": "typed", "pin": "5821", "pin2": "5821"})
    assert passwords.verify(gctx.hasher, resident(gctx, "A101").pin.pin_hash, "5821")
    assert "5821" not in client.get("/residents/A101").get_data(as_text=True)
    generated = auth.post("/residents/A101/pin", {"mode": "generate"})
    assert generated.status_code == 200 and generated.headers["Cache-Control"] == "no-store"
    pin = re.search(r'id="pin">(\d+)<', generated.get_data(as_text=True)).group(1)
    assert passwords.verify(gctx.hasher, resident(gctx, "A101").pin.pin_hash, pin)
    assert pin not in client.get("/residents/A101").get_data(as_text=True)
    cookie = client.get_cookie("gate_session")
    assert cookie is None or pin not in cookie.value
    with gctx.sessions() as session:
        assert all(pin not in e.details for e in session.scalars(select(AuditEntry)))


def test_move_out_needs_the_code_typed(client, auth, gctx) -> None:
    add_resident(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    auth.post("/residents/A101/move-out", {"confirm": "wrong"})
    assert resident(gctx, "A101").status is ResidentStatus.ACTIVE
    auth.post("/residents/A101/move-out", {"confirm": "A101"})
    assert resident(gctx, "A101").status is ResidentStatus.MOVED_OUT
