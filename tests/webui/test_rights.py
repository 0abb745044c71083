"""Delete face (withdrawal), delete resident, receipts, export: nothing biometric leaves the system."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import func, select

from gate.store.models import AccessEvent, AuditEntry, DataKey, FaceTemplate, OperatorRole, Resident
from tests.webui.helpers import add_events, add_resident, grant, resident, store_template


def _setup(gctx) -> int:
    resident_id = add_resident(gctx, "A101", "Ada Lovelace", unit="1-01")
    grant(gctx, "A101")
    store_template(gctx, "A101")
    return resident_id


def test_delete_face_in_one_step_with_receipt(client, auth, gctx) -> None:
    _setup(gctx)
    auth.login("clerk", OperatorRole.OPERATOR)
    auth.post("/residents/A101/cards", {"number": "777"})
    assert "Delete face data" in client.get("/residents/A101/face/delete").get_data(as_text=True)
    unconfirmed = auth.post("/residents/A101/face/delete", {})
    assert unconfirmed.status_code == 400
    assert resident(gctx, "A101").face_pseudonym is not None
    response = auth.post("/residents/A101/face/delete", {"confirm": "yes"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/receipts/")
    with gctx.sessions() as session:
        assert session.scalar(select(func.count(FaceTemplate.id))) == 0
        assert session.scalar(select(func.count(DataKey.template_id))) == 0
    stored = resident(gctx, "A101")
    assert stored.face_pseudonym is None and stored.consents[0].withdrawn_at is not None
    assert stored.consents[0].withdrawn_by == "clerk" and [c.uid for c in stored.cards] == ["777"]
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    # The deletion is in the ledger beside the key file (R4, R7), under its receipt number.
    (entry,) = gctx.ledger.entries()
    assert entry.receipts == (int(response.headers["Location"].rsplit("/", 1)[1]),) and entry.consents
    assert "Face data deleted" in receipt and "Ada Lovelace (A101)" in receipt and "clerk" in receipt
    assert "crypto-shredded" in receipt and "keep working" in receipt
    # Deleting again has nothing to delete and says so.
    again = auth.post("/residents/A101/face/delete", {"confirm": "yes"})
    assert again.status_code == 302 and again.headers["Location"] == "/residents/A101"


def test_delete_resident_keeps_only_the_audit_facts(client, auth, gctx) -> None:
    resident_id = _setup(gctx)
    add_events(gctx, 3, resident_id=resident_id)
    auth.login("clerk", OperatorRole.OPERATOR)
    auth.post("/residents/A101/cards", {"number": "777"})
    assert auth.post("/residents/A101/delete", {"confirm": "A10"}).status_code == 400
    response = auth.post("/residents/A101/delete", {"confirm": "A101"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Resident record deleted" in page and "Ada Lovelace (A101)" in page
    assert "What is kept, and why" in page and "audit log" in page
    with gctx.sessions() as session:
        assert session.get(Resident, resident_id) is None
        assert session.scalar(select(func.count(FaceTemplate.id))) == 0
        assert session.scalar(select(func.count(AccessEvent.id)).where(AccessEvent.resident_id.is_not(None))) == 0
        assert session.scalar(select(func.count(AccessEvent.id))) == 3
        details = " ".join(e.details + e.subject for e in session.scalars(select(AuditEntry)))
    assert "Ada" not in details and "Lovelace" not in details and "1-01" not in details
    # Card changes were logged as a keyed pseudonym, not the number (the hex pseudonyms may hold "777"
    # by chance, about once in 300 runs: look for the number standing on its own).
    assert not re.search(r"(?<![0-9a-f])777(?![0-9a-f])", details)
    assert "pseudonym of the card number" in page and "viewed or exported" in page
    number = re.search(r"Deletion receipt no\. (\d+)", page).group(1)
    reprint = client.get(f"/receipts/{number}").get_data(as_text=True)
    assert "Resident record deleted" in reprint and "Ada" not in reprint and "no longer held" in reprint
    assert client.get("/residents/A101").status_code == 404
    assert client.get("/receipts/1").status_code == 404  # audit entry 1 is not a deletion
    assert client.get("/receipts/999999").status_code == 404


def test_export_json_and_page_without_template_bytes(client, auth, gctx) -> None:
    resident_id = _setup(gctx)
    add_events(gctx, 2, resident_id=resident_id)
    auth.login("clerk", OperatorRole.OPERATOR)
    auth.post("/residents/A101/pin", {"mode": "typed", "pin": "5821", "pin2": "5821"})
    response = client.get("/residents/A101/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert 'filename="resident-A101.json"' in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["resident"]["name"] == "Ada Lovelace" and data["face"]["held"] is True
    assert data["face"]["encodings"] == 2 and data["consents"][0]["notice_version"] == "1"
    assert data["consents"][0]["notice"]["purpose"] and len(data["access_events"]) == 2
    assert data["pin"]["set"] is True
    text = response.get_data(as_text=True)
    with gctx.sessions() as session:
        template = session.scalar(select(FaceTemplate))
        pin_hash = session.scalar(select(Resident)).pin.pin_hash
    for secret in (template.ciphertext.hex()[:32], template.pseudonym, pin_hash, "argon2"):
        assert secret not in text
    page = client.get("/residents/A101/export").get_data(as_text=True)
    assert "Everything held about Ada Lovelace" in page and "template itself is not exported" in page
    assert template.pseudonym not in page
    with gctx.sessions() as session:
        assert session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "rights.export")) == 2


def test_auditor_cannot_delete_or_export(client, auth, gctx) -> None:
    _setup(gctx)
    auth.login("aud", OperatorRole.AUDITOR)
    assert client.get("/residents/A101/export.json").status_code == 403
    assert auth.post("/residents/A101/face/delete", {"confirm": "yes"}).status_code == 403
    assert resident(gctx, "A101").face_pseudonym is not None


def test_views_exports_and_failed_sign_ins_are_in_the_audit_log(client, auth, gctx) -> None:
    """U4: who saw whose data, when and in which form; who tried to sign in, from where, never the password."""
    resident_id = _setup(gctx)
    auth.login("clerk", OperatorRole.OPERATOR)
    assert client.get("/residents/A101").status_code == 200
    assert client.get("/residents/A101/edit").status_code == 200
    client.get("/residents/A101/export")
    client.get("/residents/A101/export.json")
    auth.logout()
    auth.login("clerk", OperatorRole.OPERATOR, password="not-the-passphrase")
    client.post("/login", data={"username": "ghost", "password": "another-guess", "csrf_token": auth.token("/login")})
    with gctx.sessions() as session:
        rows = [(e.actor, e.action, e.subject, json.loads(e.details)) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(
                ["resident.view", "rights.export", "operator.login_failed"])).order_by(AuditEntry.id))]
        log = " ".join(e.details for e in session.scalars(select(AuditEntry)))
    subject = f"resident:{resident_id}"
    assert [(a, action, s) for a, action, s, _ in rows] == [
        ("clerk", "resident.view", subject), ("clerk", "resident.view", subject),
        ("clerk", "rights.export", subject), ("clerk", "rights.export", subject),
        ("anonymous", "operator.login_failed", "operator:clerk"),
        ("anonymous", "operator.login_failed", "operator:ghost")]
    assert [d.get("what") or d.get("form") for _, _, _, d in rows[:4]] == ["resident page", "edit form", "page",
                                                                            "json"]
    assert rows[4][3] == {"address": "127.0.0.1", "reason": "wrong password"}
    assert "not-the-passphrase" not in log and "another-guess" not in log


def test_export_page_states_the_face_deletion_deadline(client, auth, gctx) -> None:
    """P1: the copy given to the resident says by when their face data will be gone, and why then."""
    _setup(gctx)  # consent for 365 days; the site's default is longer
    auth.login("clerk", OperatorRole.OPERATOR)
    with gctx.sessions() as session:
        template = session.scalar(select(FaceTemplate))
        # In the site's local time with its offset, to the second (gate.i18n.timefmt.iso_with_offset).
        expected = (max(template.created_at, template.last_used_at) + timedelta(days=365)).isoformat(
            timespec="seconds")
    data = json.loads(client.get("/residents/A101/export.json").get_data(as_text=True))
    assert data["face"]["deletion_deadline"] == expected
    page = client.get("/residents/A101/export").get_data(as_text=True)
    assert f"Deleted at the latest on {expected}" in page and "legal cap of 1095 days" in page
