"""Settings (gates, face rule, assessments, notices, purge) and the privacy dashboard."""

from __future__ import annotations

import io
import json

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gate.store.models import Gate, Notice, OperatorRole
from tests.webui.helpers import add_resident, grant, store_template


def _gate(gctx, name: str = "main") -> Gate:
    with gctx.sessions() as session:
        return session.scalar(select(Gate).where(Gate.name == name).options(selectinload(Gate.assessments)))


def test_face_only_is_refused_with_a_clear_message(client, auth, gctx) -> None:
    auth.login()
    auth.post("/settings/gates/main", {"methods": ["face"]}, token_from="/settings")
    page = client.get("/settings").get_data(as_text=True)
    assert "Face can never be the only way in" in page or "impact assessment" in page
    assert _gate(gctx).methods == "card,pin"
    # With an assessment, face is allowed alongside card and PIN; still never alone.
    auth.post("/settings/gates/main/assessment", {"assessed_on": "2026-01-10", "approver": "DPO",
                                                  "document": (io.BytesIO(b"%PDF-1.4 signed"), "pia.pdf")},
              content_type="multipart/form-data")
    assert len(_gate(gctx).assessments) == 1
    auth.post("/settings/gates/main", {"methods": ["face"]})
    assert "Face can never be the only way in" in client.get("/settings").get_data(as_text=True)
    auth.post("/settings/gates/main", {"methods": ["card", "pin", "face"], "threshold": "0.45", "liveness": "blink"})
    gate = _gate(gctx)
    assert gate.methods == "card,pin,face" and gate.face_threshold == 0.45 and gate.liveness == "blink"


def test_gate_input_is_validated(client, auth, gctx) -> None:
    auth.login()
    for data in ({"methods": ["card"], "threshold": "abc"}, {"methods": ["card"], "threshold": "0.9"},
                 {"methods": ["card"], "pulse_ms": "5"}, {"methods": ["card"], "liveness": "magic"},
                 {"methods": ["teleport"]}, {}):
        auth.post("/settings/gates/main", data, token_from="/settings")
        assert _gate(gctx).methods == "card,pin", data
    assert auth.post("/settings/gates/nowhere", {"methods": ["card"]}).status_code == 404
    auth.post("/settings/gates/main/assessment", {"assessed_on": "2999-01-01", "approver": "X",
                                                  "document": (io.BytesIO(b"doc"), "a.pdf")},
              content_type="multipart/form-data")
    auth.post("/settings/gates/main/assessment", {"assessed_on": "2026-01-01", "approver": "X"})
    assert _gate(gctx).assessments == []
    auth.post("/settings/gates", {"name": "side", "methods": ["card"]})
    assert _gate(gctx, "side").methods == "card"


def test_notice_versions(client, auth, gctx) -> None:
    auth.login()
    form = client.get("/settings/notices/new").get_data(as_text=True)
    assert "Who processes the face data" in form
    fields = {"processor": "Estate Ltd", "contact": "office", "purpose": "doors", "method": "1:1", "retention": "1y",
              "necessity_and_impact": "low", "rights": "ask", "alternatives": "card and PIN",
              "recipients": "no one"}
    incomplete = auth.post("/settings/notices/new", {**fields, "rights": "", "version": "2", "publish": "yes"},
                           token_from="/settings/notices/new")
    assert incomplete.status_code == 400 and "cannot be published" in incomplete.get_data(as_text=True)
    ok = auth.post("/settings/notices/new", {**fields, "version": "2", "publish": "yes"})
    assert ok.status_code == 302
    assert "Current (new consents are given against it), per language:" in client.get("/settings").get_data(
        as_text=True)
    assert "English: <b>2</b>" in client.get("/settings").get_data(as_text=True)
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    with gctx.sessions() as session:
        assert session.scalar(select(Notice.version).where(Notice.id == 2)) == "2"
    # A draft can be published later.
    auth.post("/settings/notices/new", {**fields, "purpose": "doors only", "version": "3", "publish": "no"})
    assert "draft" in client.get("/settings").get_data(as_text=True)
    auth.post("/settings/notices/3/publish", {})
    assert "<b>3</b>" in client.get("/settings").get_data(as_text=True)


def test_purge_and_integrations_are_shown_with_secrets_masked(data_dir, gctx) -> None:
    from tests.webui.conftest import AuthActions
    from webui import create_app

    (data_dir / "gate.toml").write_text('[mqtt]\nhost = "broker.lan"\n', encoding="utf-8")
    from gate.context import GateContext

    context = GateContext.open(data_dir)
    context.hasher = gctx.hasher
    try:
        client = create_app(context, config={"TESTING": True}).test_client()
        auth = AuthActions(client, context)
        auth.login()
        page = client.get("/settings").get_data(as_text=True)
        assert "broker.lan" in page
        response = auth.post("/settings/purge", {}, token_from="/settings")
        assert response.status_code == 302
        assert "Retention purge done" in client.get("/settings").get_data(as_text=True)
    finally:
        context.close()


def test_settings_that_look_secret_are_masked_on_the_page() -> None:
    # No editable key is a secret today; the mask keeps one added later (a broker password) off the page.
    from webui.settings_views import _masked

    assert _masked({"password": "hunter2", "api_token": "t", "host": "broker.lan", "secret": ""}) == {
        "password": "••••", "api_token": "••••", "host": "broker.lan", "secret": ""}


def test_privacy_dashboard_and_report(client, auth, gctx) -> None:
    add_resident(gctx, "A101")
    add_resident(gctx, "A102", "Bob")
    grant(gctx, "A101")
    store_template(gctx, "A101")
    auth.login("aud", OperatorRole.AUDITOR)
    page = client.get("/").get_data(as_text=True)
    assert 'id="face-count">1<' in page and "version 1: 1" in page and "Last purge" in page
    data = json.loads(client.get("/privacy/report.json").get_data(as_text=True))
    assert data["residents_with_face"] == 1 and data["residents_active"] == 2
    assert data["consents_current_by_notice"] == {"1": 1} and data["templates_due_for_deletion"] == 0
    assert data["last_purge"] is None and data["last_key_rotation"] is None
    assert "impact assessment" in client.get("/privacy/report").get_data(as_text=True)


def test_integrations_are_saved_to_the_config_file(client, auth, gctx) -> None:
    import tomllib

    from gate.config import load_settings

    auth.login()
    assert auth.post("/settings/config/mqtt", {"enabled": "1", "host": "broker.lan", "port": "1884",
                                               "topic": "site/gate"}, token_from="/settings").status_code == 302
    auth.post("/settings/config/webhook", {"url": "https://hooks.example/gate", "timeout_seconds": "3"})
    config = gctx.settings.config_file
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    assert data["mqtt"] == {"enabled": True, "host": "broker.lan", "port": 1884, "topic": "site/gate"}
    assert data["webhook"] == {"enabled": False, "url": "https://hooks.example/gate", "timeout_seconds": 3.0}
    assert "# Face templates unused" in config.read_text(encoding="utf-8")  # comments kept
    assert load_settings(gctx.settings.data_dir).mqtt.port == 1884
    before = config.read_text(encoding="utf-8")
    for section, data_ in (("retention", {"template_days": "200"}),  # site-wide: not in the file any more
                           ("mqtt", {"port": "70000"}), ("webhook", {"url": "file:///etc/passwd"}),
                           ("mqtt", {"host": "a\nb = 1"})):
        auth.post(f"/settings/config/{section}", data_)
        assert config.read_text(encoding="utf-8") == before, (section, data_)
    assert auth.post("/settings/config/database", {"url": "sqlite:///x"}).status_code == 404


def test_admin_rotates_the_master_key_in_the_background(client, app, auth, gctx) -> None:
    import numpy as np

    add_resident(gctx, "K1")
    grant(gctx, "K1")
    store_template(gctx, "K1")
    with gctx.sessions() as session:
        from gate.store.residents import get_resident

        before = gctx.store.load(session, get_resident(session, "K1")).encodings
    old_key = gctx.key_file.load().current.id

    auth.login("auditor1", OperatorRole.AUDITOR)
    assert auth.post("/settings/keys/rotate", {}, token_from="/").status_code == 403
    client.post("/logout", data={"csrf_token": auth.token("/")})
    auth.login()
    assert client.post("/settings/keys/rotate", data={}).status_code == 400  # no CSRF token
    response = auth.post("/settings/keys/rotate", {}, token_from="/settings")
    assert response.status_code == 302
    job = app.extensions["key_rotation"]
    assert job.wait(30)
    status = job.status
    assert not status.error and "re-wrapped 1 data keys" in status.result
    new_key = gctx.key_file.load()
    assert new_key.current.id != old_key and new_key.pending is None
    with gctx.sessions() as session:
        from gate.store.residents import get_resident

        assert np.array_equal(gctx.store.load(session, get_resident(session, "K1")).encodings, before)
    page = client.get("/settings").get_data(as_text=True)
    assert "Last rotation: master key is now" in page


def test_record_of_processing_page_and_json(client, auth, gctx) -> None:
    """U2: auditors and admins get the record of processing; operators do not."""
    add_resident(gctx, "A101")
    auth.login("aud", OperatorRole.AUDITOR)
    page = client.get("/privacy/record").get_data(as_text=True)
    assert "Record of processing" in page and "sqlite" in page and str(gctx.settings.key_file) in page
    assert "None: no event is sent outside this system." in page
    assert "Record of processing" in client.get("/").get_data(as_text=True)
    data = json.loads(client.get("/privacy/record.json").get_data(as_text=True))
    assert data["counts"]["residents_active"] == 1 and data["storage"]["database_backend"] == "sqlite"
    auth.logout()
    auth.login("clerk", OperatorRole.OPERATOR)
    assert client.get("/privacy/record").status_code == 403
    assert "Record of processing" not in client.get("/").get_data(as_text=True)


def test_site_wide_settings_are_saved_to_the_database_for_every_gate_and_audited(client, auth, gctx) -> None:
    import json

    from sqlalchemy import select

    from gate.store import site_settings
    from gate.store.models import AuditEntry

    auth.login()
    page = client.get("/settings").get_data(as_text=True)
    assert "retention.template_days" in page and "privacy.kiosk_self_service" in page
    before_file = gctx.settings.config_file.read_text(encoding="utf-8")
    assert auth.post("/settings/site/retention.template_days", {"value": "200"},
                     token_from="/settings").status_code == 302
    assert auth.post("/settings/site/site.forbid_face_for_minors", {"present": "1", "value": "true"}).status_code == 302
    with gctx.sessions() as session:
        assert site_settings.stored(session)["retention.template_days"] == 200
        assert site_settings.stored(session)["site.forbid_face_for_minors"] is True
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "site.setting")))
    assert gctx.settings.template_retention_days == 200  # this gate at once
    assert [(e.subject, json.loads(e.details)["old"], json.loads(e.details)["new"]) for e in entries] == [
        ("site:retention.template_days", 365, 200), ("site:site.forbid_face_for_minors", False, True)]
    assert gctx.settings.config_file.read_text(encoding="utf-8") == before_file  # not a file setting now
    # Unchecking the box switches it off; the same checks as gate.toml refuse bad values, and nothing changes.
    auth.post("/settings/site/site.forbid_face_for_minors", {"present": "1"})
    assert gctx.settings.forbid_face_for_minors is False
    response = auth.post("/settings/site/retention.template_days", {"value": "5000"})
    assert response.status_code == 302
    flashed = client.get("/settings").get_data(as_text=True)
    assert "template_days must be a whole number of days between 1 and 1095" in flashed
    with gctx.sessions() as session:
        assert site_settings.stored(session)["retention.template_days"] == 200
    assert auth.post("/settings/site/database.url", {"value": "sqlite:///x"}).status_code == 404
