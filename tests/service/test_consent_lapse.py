"""C3/N1 at the gate: a lapsed face consent is told in one sentence, before any camera opens; the written
retention schedule is public beside the notice that links to it (R5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.core import machine as m
from gate.core.decision import MESSAGES, Reason
from gate.store import consent, notices, residents
from tests.conftest import SITE_NOTICE_FIELDS
from tests.service.conftest import CARD, CODE, Gate, allow_face
from tests.store.helpers import random_encodings
from webui.server import make_app


def enroll_and_change_the_notice(gate: Gate) -> None:
    with gate.ctx.transaction() as session:
        resident = residents.get_resident(session, CODE)
        consent.grant_consent(session, resident, operator="office", retention_days=365)
        gate.ctx.store.save(session, resident, random_encodings(), "dlib-test")
        fields = {**notices.default_fields(), **SITE_NOTICE_FIELDS, "purpose": "Also to count visitors."}
        notices.create_notice(session, "2", fields, "admin", site_days=gate.ctx.settings.template_retention_days)
        notices.publish_notice(session, "2", "admin")


def test_a_lapsed_consent_is_told_at_the_gate_and_the_camera_stays_off(gate_factory, tmp_path: Path) -> None:
    gate = gate_factory(face_engine=None)
    allow_face(gate, tmp_path)
    enroll_and_change_the_notice(gate)
    gate.runtime.post(m.Choose("face"))
    gate.runtime.post(m.EnterCode(CODE))
    assert gate.wait_for(lambda: gate.last_access().get("reason") == Reason.CONSENT_LAPSED.value)
    assert gate.wait_for(lambda: gate.runtime.snapshot().phase == "refusal")
    snap = gate.runtime.snapshot()
    assert snap.message == MESSAGES[Reason.CONSENT_LAPSED]
    assert snap.message == ("Your face consent must be renewed at the management office; "
                            "please use your card or PIN.")
    assert snap.offered == ["card", "pin"] and snap.camera.opens == 0
    gate.card(CARD)  # the card is unaffected
    assert gate.wait_for(lambda: gate.last_access().get("reason") == Reason.GRANTED.value)


@pytest.fixture
def client(gate: Gate):
    app = make_app(gate.ctx, gate.runtime, simulate=False)
    app.config["TESTING"] = True
    return app.test_client()


def test_the_notice_links_the_written_retention_schedule(client, gate: Gate) -> None:
    notice_page = client.get("/kiosk/notice").get_data(as_text=True)
    assert f'href="{notices.RETENTION_SCHEDULE_PATH}' in notice_page  # with the page's ?lang=
    assert notices.RETENTION_SCHEDULE_PATH in notice_page.split("Retention", 1)[1]  # named in the text too
    schedule = client.get(notices.RETENTION_SCHEDULE_PATH)
    assert schedule.status_code == 200
    days = gate.ctx.settings.template_retention_days
    assert f"not been used at a gate for {days} days" in schedule.get_data(as_text=True)


def test_the_simulator_demo_publishes_a_complete_notice_so_consent_can_be_tried(tmp_path: Path) -> None:
    """`make run` starts from `gate init`, which only drafts the notice: the demo fills in and publishes one."""
    from gate.context import GateContext
    from gate.install import initialise
    from gate.service.demo import DEMO_CODE, DEMO_NOTICE_VERSION, seed_demo

    initialise(tmp_path / "data")
    ctx = GateContext.open(tmp_path / "data")
    try:
        assert any(DEMO_NOTICE_VERSION in line for line in seed_demo(ctx))
        with ctx.transaction() as session:
            published = notices.current_notice(session)
            assert published is not None and published.version == DEMO_NOTICE_VERSION
            assert notices.consent_blocker(published, ctx.settings.template_retention_days) is None
            consent.grant_consent(session, residents.get_resident(session, DEMO_CODE), operator="demo",
                                  retention_days=30, site_days=ctx.settings.template_retention_days)
        assert not any(DEMO_NOTICE_VERSION in line for line in seed_demo(ctx))  # only once
    finally:
        ctx.close()


def test_switching_on_forbid_face_for_minors_deletes_their_face_data_at_the_service_start(
        installation, gate_factory) -> None:
    import dataclasses
    from datetime import date

    from sqlalchemy import select

    from gate.store import rights
    from gate.store.models import AuditEntry

    with installation.transaction() as session:
        kid = residents.add_resident(session, code="K1", name="Kid", birth_date=date(2020, 1, 1), actor="office")
        consent.grant_consent(session, kid, operator="office", retention_days=365, guardian_name="Parent One")
        installation.store.save(session, kid, random_encodings(), "dlib-test")
    installation.settings = dataclasses.replace(
        installation.settings, site=dataclasses.replace(installation.settings.site, forbid_face_for_minors=True))
    gate = gate_factory(face_engine=None)
    assert gate.runtime.purger is not None and gate.runtime.purger.wait_for_runs(1, 20)
    assert gate.runtime.purger.last_report is not None and gate.runtime.purger.last_report.purge is not None
    assert gate.runtime.purger.last_report.purge.minor == 1
    with installation.sessions() as session:
        assert residents.get_resident(session, "K1").face_pseudonym is None
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "face.delete_minor"))
        assert entry is not None and entry.actor == "service"
        assert "under 14" in rights.receipt(session, entry.id).title
