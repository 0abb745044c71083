"""Web pages for tenants and visitors: validity in the resident form and per card, the move-out list,
visitor codes issued once with their QR image, listed, revoked."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from gate.core.decision import Reason
from gate.core.visitors import is_visitor_code
from gate.store import gates
from gate.store import residents as resident_service
from gate.store.face_standing import site_today
from gate.store.models import AuditEntry, OperatorRole, Pin, ResidentStatus, Visitor
from tests.webui.helpers import add_resident, resident


def test_validity_in_the_form_per_card_and_the_move_out_list(client, auth, gctx) -> None:
    today = site_today(gctx.clock(), gctx.settings.site.timezone)
    auth.login("clerk", OperatorRole.OPERATOR)
    ended = (today - timedelta(days=1)).isoformat()
    assert auth.post("/residents/new", {"code": "T1", "name": "Tenant One", "valid_until": ended}).status_code == 302
    assert resident(gctx, "T1").valid_until == today - timedelta(days=1)
    bad = auth.post("/residents/T1/edit", {"name": "Tenant One", "valid_from": today.isoformat(), "valid_until": ended})
    assert bad.status_code == 400 and "before its start" in bad.get_data(as_text=True)
    add_resident(gctx, "T2")
    auth.post("/residents/T2/cards", {"number": "12345678"})
    uid = resident(gctx, "T2").cards[0].uid
    assert auth.post("/residents/T2/cards/validity", {"number": uid, "valid_until": ended}).status_code == 302
    assert gctx.access().card("main", uid).decision.reason is Reason.CARD_EXPIRED

    page = client.get("/move-out").get_data(as_text=True)
    assert "T1" in page and "T2" not in page
    assert auth.post("/move-out/T2").status_code == 302  # not on the list: refused
    assert resident(gctx, "T2").status is ResidentStatus.ACTIVE
    assert auth.post("/move-out/T1", token_from="/move-out").status_code == 302
    assert resident(gctx, "T1").status is ResidentStatus.MOVED_OUT
    assert "T1" not in client.get("/move-out").get_data(as_text=True).split("<tbody>")[1]


def test_visitor_code_issued_once_with_qr_then_listed_and_revoked(client, auth, gctx) -> None:
    # Times read in the site's zone, with its offset (the localtime filter), as on every operator page.
    gctx.settings = dataclasses.replace(gctx.settings, site=dataclasses.replace(gctx.settings.site,
                                                                                timezone="Asia/Shanghai"))
    with gctx.sessions() as session:
        gate_id = gates.get_gate(session, "main").id
    auth.login("clerk", OperatorRole.OPERATOR)
    page = client.get("/visitors").get_data(as_text=True)
    start = re.search(r'name="valid_from" required value="([^"]+)"', page)
    end = re.search(r'name="valid_until" required value="([^"]+)"', page)
    assert start and end
    shown_start = start.group(1).replace("T", " ") + " UTC+08:00"
    shown_end = end.group(1).replace("T", " ") + " UTC+08:00"
    issued = auth.post("/visitors", {"label": "plumber for 3-201", "valid_from": start.group(1),
                                     "valid_until": end.group(1), "entries": "1", "gate": str(gate_id)},
                       token_from="/visitors")
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    html = issued.get_data(as_text=True)
    shown = re.search(r'id="visitor-code">([0-9 ]+)<', html)
    assert shown is not None
    code = shown.group(1).replace(" ", "")
    assert is_visitor_code(code)
    assert "<svg" in html and "data:image/png;base64," in html
    assert shown_start in html and shown_end in html
    listing = client.get("/visitors").get_data(as_text=True)
    assert shown_start in listing.split('id="visitors-active"')[1]
    assert "plumber for 3-201" in listing and code not in listing and code[-5:] not in listing

    assert gctx.access().visitor("main", code).decision.granted
    assert gctx.access().visitor("main", code).decision.reason is Reason.VISITOR_USED_UP

    with gctx.sessions() as session:
        visitor_id = session.scalar(select(Visitor.id))
    assert auth.post(f"/visitors/{visitor_id}/revoke", token_from="/visitors").status_code == 302
    closed = client.get("/visitors").get_data(as_text=True).split('id="visitors-closed"')[1]
    assert "revoked by clerk" in closed and shown_end in closed
    refused = auth.post("/visitors", {"valid_from": start.group(1), "valid_until": end.group(1), "entries": "1"},
                        token_from="/visitors")
    assert refused.status_code == 400 and "at least one gate" in refused.get_data(as_text=True)
    with gctx.sessions() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("visitor.%"))))
    assert actions == ["visitor.issue", "visitor.revoke"]


def test_auditors_cannot_issue_visitor_codes(client, auth) -> None:
    auth.login("eve", OperatorRole.AUDITOR)
    assert client.get("/visitors").status_code == 403
    assert client.get("/move-out").status_code == 403


def test_the_gate_settings_never_offer_visitor_as_a_policy_method(client, auth) -> None:
    auth.login()
    page = client.get("/settings").get_data(as_text=True)
    assert 'value="card+pin"' in page and 'value="visitor"' not in page


def test_the_resident_page_shows_dates_of_the_site_day(client, auth, gctx) -> None:
    """A PIN set at 17:00 UTC on 1 January was set on 2 January in Shanghai."""
    gctx.settings = dataclasses.replace(gctx.settings, site=dataclasses.replace(gctx.settings.site,
                                                                                timezone="Asia/Shanghai"))
    add_resident(gctx, "T3")
    with gctx.transaction() as session:
        resident_service.set_pin(session, resident_service.get_resident(session, "T3"), "482915", gctx.hasher,
                                 actor="test")
        session.execute(update(Pin).values(set_at=datetime(2026, 1, 1, 17, 0, tzinfo=UTC)))
    auth.login("clerk", OperatorRole.OPERATOR)
    assert "(since 2026-01-02)" in client.get("/residents/T3").get_data(as_text=True)
