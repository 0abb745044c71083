"""C3/N1 in the operator UI: a placeholder notice is refused with the field to fill in; lapsed face
consents are listed for renewal and renewed at the office with a receipt; date of birth, not a checkbox."""

from __future__ import annotations

from sqlalchemy import select

from gate.clock import utcnow
from gate.store import notices
from gate.store.models import Notice, OperatorRole
from tests.conftest import SITE_NOTICE_FIELDS
from tests.webui.helpers import add_resident, grant


def _form(**changes: str) -> dict[str, str]:
    return {**notices.default_fields(), **SITE_NOTICE_FIELDS, **changes}


def test_publishing_a_notice_with_a_placeholder_says_which_field_to_fill_in(client, auth) -> None:
    auth.login()
    form = client.get("/settings/notices/new").get_data(as_text=True)
    assert "generated from" in form and "after 365 days without use" in form  # retention is not typed
    refused = auth.post("/settings/notices/new",
                        {**_form(contact="Office; privacy@example.invalid"), "version": "2", "publish": "yes"},
                        token_from="/settings/notices/new")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert ("Notice version 2 cannot be published: the contact field still holds the placeholder "
            "&#39;example.invalid&#39; (fill in how to contact them).") in page


def test_consent_against_a_published_placeholder_notice_is_refused_with_one_sentence(client, auth, gctx) -> None:
    with gctx.transaction() as session:  # as an installation from before the check had published it
        notices.create_notice(session, "old", _form(processor="REPLACE: company"), "admin", site_days=365)
        session.scalar(select(Notice).where(Notice.version == "old")).published_at = utcnow()
    add_resident(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    shown = client.get("/residents/A101/face").get_data(as_text=True)
    sentence = ("Consent cannot be given against notice version old: the processor field still holds the "
                "placeholder &#39;REPLACE:&#39; (fill in who processes the face data); an admin must publish a "
                "completed version first.")
    assert sentence in shown and "continue to consent" not in shown
    refused = auth.post("/residents/A101/face/consent",
                        {"decision": "grant", "notice_version": "old", "face_consent": "yes"},
                        token_from="/residents/A101/face/consent")
    assert refused.status_code == 400 and sentence in refused.get_data(as_text=True)


def test_a_material_change_lists_the_resident_for_renewal_until_renewed_at_the_office(client, auth, gctx) -> None:
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    assert "No face consent needs renewal" in client.get("/residents/renewals").get_data(as_text=True)
    with gctx.transaction() as session:
        notices.create_notice(session, "2", _form(recipients="The city's smart-community platform."), "admin",
                              site_days=365)
        notices.publish_notice(session, "2", "admin")
    listed = client.get("/residents/renewals").get_data(as_text=True)
    assert "A101" in listed and "the face notice changed materially" in listed
    assert "Face consent needs renewal" in client.get("/residents/A101").get_data(as_text=True)
    assert '<span class="n">1</span> face consents to renew' in client.get("/").get_data(as_text=True)
    renewed = auth.post("/residents/A101/face/consent",
                        {"decision": "grant", "notice_version": "2", "face_consent": "yes"},
                        token_from="/residents/A101/face/consent")
    assert renewed.status_code == 302 and renewed.headers["Location"].startswith("/receipts/")
    receipt = client.get(renewed.headers["Location"]).get_data(as_text=True)
    assert "Consent receipt no." in receipt and "Renews the consent given against notice version 1" in receipt
    assert "No face consent needs renewal" in client.get("/residents/renewals").get_data(as_text=True)


def test_a_new_resident_gets_a_date_of_birth_not_an_under_14_checkbox(client, auth, gctx) -> None:
    auth.login("clerk", OperatorRole.OPERATOR)
    form = client.get("/residents/new").get_data(as_text=True)
    assert 'type="date" name="birth_date"' in form and 'name="is_minor"' not in form
    added = auth.post("/residents/new", {"code": "K1", "name": "Kid", "birth_date": "2020-05-01"},
                      token_from="/residents/new")
    assert added.status_code == 302
    assert "Date of birth</dt><dd>2020-05-01" in client.get("/residents/K1").get_data(as_text=True)
    assert "under 14: the consent must come from a guardian" in client.get(
        "/residents/K1/face/consent").get_data(as_text=True)
    future = auth.post("/residents/new", {"code": "K2", "name": "Soon", "birth_date": "2999-01-01"})
    assert future.status_code == 400 and "cannot be in the future" in future.get_data(as_text=True)
