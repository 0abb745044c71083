"""A1 in the web UI: no consent, capture, card removal or PIN clearing that leaves face someone's only way in."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from gate.store import assessments, gates, residents
from gate.store.models import FaceTemplate, Gate, OperatorRole
from tests.webui.helpers import add_resident, grant, resident, store_template

PIN = "482915"


def set_methods(context, tmp_path, methods: str) -> None:
    doc = tmp_path / "dpia.txt"
    doc.write_text("impact assessment")
    with context.transaction() as session:
        gate = gates.get_gate(session, "main")
        if not gate.assessments:
            assessments.record_assessment(session, gate, assessed_on=date(2026, 1, 1), approver="DPO",
                                    document=doc.read_bytes(), actor="test", site_timezone="UTC")
    with context.transaction() as session:
        gates.set_gate(session, gates.get_gate(session, "main"), actor="test", methods=methods)


def test_consent_is_refused_for_a_resident_with_no_card_and_no_pin(client, auth, gctx, tmp_path) -> None:
    set_methods(gctx, tmp_path, "card,pin,face,card+face")
    add_resident(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    refused = auth.post("/residents/A101/face/consent", {"decision": "grant", "notice_version": "1",
                                                         "face_consent": "yes", "retention_days": "200"})
    assert refused.status_code == 400
    assert "has no way in without face at main" in refused.get_data(as_text=True)
    assert resident(gctx, "A101").consents == []


def test_capture_is_refused_before_any_frame_when_face_would_be_the_only_way_in(client, auth, gctx,
                                                                                tmp_path) -> None:
    add_resident(gctx, "A101")
    with gctx.transaction() as session:
        residents.set_pin(session, residents.get_resident(session, "A101"), PIN, gctx.hasher, actor="test")
    set_methods(gctx, tmp_path, "pin,face")
    grant(gctx, "A101")
    set_methods(gctx, tmp_path, "card,card+face")  # consented, no template yet; a PIN does not open here
    auth.login("clerk", OperatorRole.OPERATOR)
    page = client.get("/residents/A101/face/capture")
    assert page.status_code == 302 and page.headers["Location"] == "/residents/A101"
    checked = auth.post("/residents/A101/face/check", {}, token_from="/residents/A101")
    assert checked.status_code == 409 and "refused" in checked.get_json()["error"]
    posted = auth.post("/residents/A101/face/enroll", {}, token_from="/residents/A101", follow_redirects=True)
    assert "has no way in without face at main" in posted.get_data(as_text=True)
    with gctx.sessions() as session:
        assert session.scalar(select(FaceTemplate.id)) is None


def test_the_last_card_of_someone_with_face_data_cannot_be_removed(client, auth, gctx, tmp_path) -> None:
    set_methods(gctx, tmp_path, "card,card+face")
    add_resident(gctx, "A101")
    with gctx.transaction() as session:
        residents.add_card(session, residents.get_resident(session, "A101"), "188:24910", actor="test")
    grant(gctx, "A101")
    store_template(gctx, "A101")
    [uid] = [c.uid for c in resident(gctx, "A101").cards]
    auth.login("clerk", OperatorRole.OPERATOR)
    shown = auth.post("/residents/A101/cards/remove", {"number": uid}, token_from="/residents/A101",
                      follow_redirects=True).get_data(as_text=True)
    assert "with face as the only way in at main" in shown and "withdraw their face consent first" in shown
    assert [c.uid for c in resident(gctx, "A101").cards] == [uid]


def test_a_pin_is_cleared_from_the_resident_page_unless_it_is_the_last_way_in(client, auth, gctx,
                                                                              tmp_path) -> None:
    set_methods(gctx, tmp_path, "pin,face")
    add_resident(gctx, "A101")
    with gctx.transaction() as session:
        residents.set_pin(session, residents.get_resident(session, "A101"), PIN, gctx.hasher, actor="test")
    grant(gctx, "A101")
    store_template(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    page = client.get("/residents/A101").get_data(as_text=True)
    assert 'action="/residents/A101/pin/clear"' in page
    shown = auth.post("/residents/A101/pin/clear", {}, token_from="/residents/A101",
                      follow_redirects=True).get_data(as_text=True)
    assert "Clearing the PIN would leave resident A101 with face as the only way in" in shown
    assert resident(gctx, "A101").pin is not None
    no_csrf = client.post("/residents/A101/pin/clear", data={})
    assert no_csrf.status_code == 400 and resident(gctx, "A101").pin is not None
    with gctx.transaction() as session:
        residents.add_card(session, residents.get_resident(session, "A101"), "188:1", actor="test")
    set_methods(gctx, tmp_path, "card,pin,face")
    shown = auth.post("/residents/A101/pin/clear", {}, token_from="/residents/A101",
                      follow_redirects=True).get_data(as_text=True)
    assert "PIN cleared" in shown and resident(gctx, "A101").pin is None


def test_the_dashboard_names_a_gate_whose_stored_policy_is_invalid(client, auth, gctx) -> None:
    with gctx.transaction() as session:
        session.scalar(select(Gate).where(Gate.name == "main")).methods = "card+face"
    auth.login("auditor", OperatorRole.AUDITOR)
    page = client.get("/").get_data(as_text=True)

    assert "Gate main: its stored policy 'card+face' is invalid." in page
    assert "Face can never be the only way in" in page and "It runs as &#39;card,pin&#39;." in page
