"""P2 on the simulators: a resident withdraws face consent and deletes their face data at the kiosk.

The card and the PIN go through the OSDP reader simulator (secure channel, real frames); the door is
the Modbus relay simulator, so "never released" is read from the coil writes the board received.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event, select

from gate.context import GateContext
from gate.core import machine as m
from gate.core.decision import Reason
from gate.store import consent, residents, rights
from gate.store.models import AuditEntry, Consent, FaceTemplate, Lockout
from tests.service.conftest import CARD, CODE, PIN, Gate, make_installation


def _switch_on(data_dir: Path) -> None:
    """`[privacy] kiosk_self_service` is site-wide: switched on in the database, as `gate site set` does."""
    from gate.clock import utcnow
    from gate.store import site_settings

    ctx = GateContext.open(data_dir)
    try:
        with ctx.transaction() as session:
            site_settings.change(session, "privacy.kiosk_self_service", True, actor="test", now=utcnow())
    finally:
        ctx.close()


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[GateContext]:
    """The service conftest's installation with the site's `[privacy] kiosk_self_service` switched on."""
    first = make_installation(tmp_path / "data")
    first.close()
    _switch_on(tmp_path / "data")
    ctx = GateContext.open(tmp_path / "data")
    assert ctx.settings.privacy.kiosk_self_service
    yield ctx
    ctx.close()


def _give_face_data(ctx: GateContext) -> None:
    with ctx.transaction() as session:
        resident = residents.get_resident(session, CODE)
        consent.grant_consent(session, resident, operator="office", retention_days=365)
        encodings = np.random.default_rng(1).normal(size=(3, 128)).astype(np.float32)
        ctx.store.save(session, resident, encodings, "test-model")


def _face_rows(ctx: GateContext) -> int:
    with ctx.sessions() as session:
        return len(list(session.scalars(select(FaceTemplate.id))))


def _phase(gate: Gate, phase: str) -> bool:
    return gate.wait_for(lambda: gate.runtime.snapshot().phase == phase)


def _identify_with_card_and_pin(gate: Gate) -> None:
    assert gate.runtime.snapshot().self_service  # the screen offers "My face data"
    gate.runtime.post(m.OpenSelfService())
    assert _phase(gate, "self_claim")
    gate.card(CARD)
    assert _phase(gate, "self_pin")
    gate.keys(f"{PIN}#")


def test_card_and_pin_then_delete_shows_the_receipt_and_never_opens(gate: Gate) -> None:
    _give_face_data(gate.ctx)
    assert _face_rows(gate.ctx) == 1
    _identify_with_card_and_pin(gate)
    assert _phase(gate, "self_menu")
    assert gate.releases() == 0 and gate.last_access() == {}  # identifying is not an access decision

    gate.runtime.post(m.ConfirmDelete())
    assert _phase(gate, "self_done")
    snap = gate.runtime.snapshot()
    assert snap.receipt is not None
    assert f"Receipt number {snap.receipt}." in snap.message and "card and PIN keep working" in snap.message

    assert _face_rows(gate.ctx) == 0  # template and its key shredded at once (R1)
    with gate.ctx.sessions() as session:
        resident = residents.get_resident(session, CODE)
        assert resident.face_pseudonym is None
        assert consent.current_consent(session, resident) is None
        withdrawn = session.scalars(select(Consent).where(Consent.resident_id == resident.id)).one()
        assert withdrawn.withdrawn_at is not None and withdrawn.withdrawn_by == "kiosk:main"
        printed = rights.receipt(session, snap.receipt)
        assert printed.by == "kiosk:main" and printed.action == "consent.withdraw"
        assert "Cards and PIN: unchanged, they keep working" in printed.deleted
    # Written to the deletion ledger like an operator's deletion, so no restore can undo it (R4, R7).
    assert [e.receipts for e in gate.ctx.ledger.entries()] == [(snap.receipt,)]
    assert gate.releases() == 0

    gate.runtime.post(m.Cancel())
    gate.card(CARD)  # and the card still opens
    assert gate.wait_for(lambda: gate.releases() >= 1)
    assert gate.last_access()["granted"] is True


def test_resident_code_and_pin_on_the_keypad_identify_too(gate: Gate) -> None:
    _give_face_data(gate.ctx)
    gate.runtime.post(m.OpenSelfService())
    assert _phase(gate, "self_claim")
    gate.keys(f"{CODE}#")
    assert _phase(gate, "self_pin")
    gate.keys(f"{PIN}#")
    assert _phase(gate, "self_menu")
    assert gate.releases() == 0


def test_a_wrong_pin_is_counted_by_the_lockouts_and_deletes_nothing(gate: Gate) -> None:
    _give_face_data(gate.ctx)
    gate.runtime.post(m.OpenSelfService())
    gate.keys(f"{CODE}#")
    assert _phase(gate, "self_pin")
    gate.keys("000000#")
    assert _phase(gate, "self_done")
    snap = gate.runtime.snapshot()
    assert snap.reason == Reason.WRONG_PIN.value and snap.receipt is None
    assert snap.message.startswith("Wrong PIN. 4 tries left.") and "Nothing was deleted." in snap.message
    with gate.ctx.sessions() as session:
        resident = residents.get_resident(session, CODE)
        counters = {row.scope: row.failures for row in session.scalars(select(Lockout))}
        assert counters[f"resident:{resident.id}"] == 1
        assert any(scope.startswith("gate:") and n == 1 for scope, n in counters.items())
    assert _face_rows(gate.ctx) == 1 and gate.releases() == 0
    gate.runtime.post(m.ConfirmDelete())  # not identified: nothing to confirm
    gate.runtime.wait_idle()
    assert _face_rows(gate.ctx) == 1


def test_a_resident_without_face_data_is_told_there_is_nothing_to_delete(gate: Gate) -> None:
    _identify_with_card_and_pin(gate)
    assert _phase(gate, "self_done")
    message = gate.runtime.snapshot().message
    assert "nothing to delete" in message and "card and PIN keep working" in message
    with gate.ctx.sessions() as session:
        assert not list(session.scalars(select(AuditEntry).where(AuditEntry.action == "consent.withdraw")))
    assert gate.releases() == 0


def test_a_database_fault_during_deletion_says_so_and_loses_nothing(gate: Gate) -> None:
    _give_face_data(gate.ctx)
    _identify_with_card_and_pin(gate)
    assert _phase(gate, "self_menu")
    # SQLite refuses every write on the gate's own connections from now on (as a read-only mount would).
    read_only = {"on": True}

    def checkout(dbapi_connection: object, _record: object, _proxy: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute(f"PRAGMA query_only={'ON' if read_only['on'] else 'OFF'}")
        cursor.close()

    event.listen(gate.runtime.access.sessions.kw["bind"].pool, "checkout", checkout)
    gate.runtime.post(m.ConfirmDelete())
    assert _phase(gate, "self_done")
    snap = gate.runtime.snapshot()
    assert snap.receipt is None and "nothing was deleted" in snap.message
    assert _face_rows(gate.ctx) == 1  # the whole deletion was rolled back
    with gate.ctx.sessions() as session:
        assert consent.current_consent(session, residents.get_resident(session, CODE)) is not None
    read_only["on"] = False
    assert gate.releases() == 0
    gate.runtime.post(m.Cancel())
    gate.card(CARD)  # the card works all along (from the offline copy while the circuit is open)
    assert gate.wait_for(lambda: gate.releases() >= 1)


def test_switched_off_the_kiosk_offers_no_self_service(tmp_path: Path) -> None:
    ctx = make_installation(tmp_path / "plain")
    try:
        assert ctx.settings.privacy.kiosk_self_service is False
        from gate.service.builder import build_runtime
        from gate.service.simrig import SimRig
        from tests.service.conftest import LOADED_MACHINE_TIMEOUTS

        rig = SimRig(mode="door").start()
        runtime = build_runtime(ctx, rig=rig, timeouts=LOADED_MACHINE_TIMEOUTS).start()
        try:
            assert runtime.self_service is None
            assert runtime.snapshot().self_service is False
            runtime.post(m.OpenSelfService())
            runtime.wait_idle()
            assert runtime.snapshot().phase == "idle"
            assert runtime.snapshot().as_dict()["self_service"] is False
        finally:
            runtime.stop()
            rig.stop()
    finally:
        ctx.close()


# -- the kiosk page ---------------------------------------------------------------------------------
@pytest.fixture
def client(gate: Gate):
    from webui.server import make_app

    app = make_app(gate.ctx, gate.runtime, simulate=True)
    app.config["TESTING"] = True
    return app.test_client()


def test_the_kiosk_page_offers_the_action_and_shows_the_receipt(client, gate: Gate) -> None:
    _give_face_data(gate.ctx)
    page = client.get("/kiosk/").get_data(as_text=True)
    assert "My face data" in page
    assert client.get("/kiosk/state").get_json()["self_service"] is True
    remote = client.post("/kiosk/action", json={"action": "delete_face_data"},
                         environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 403  # only the gate's own screen presses buttons
    assert client.post("/kiosk/action", json={"action": "self_service"}).status_code == 202
    assert _phase(gate, "self_claim")
    assert client.get("/kiosk/state").get_json()["self_service"] is False  # not offered while it runs
    for action, value in (("code", CODE), ("pin", PIN)):
        assert client.post("/kiosk/action", json={"action": action, "value": value}).status_code == 202
    assert _phase(gate, "self_menu")
    assert client.post("/kiosk/action", json={"action": "delete_face_data"}).status_code == 202
    assert _phase(gate, "self_done")
    state = client.get("/kiosk/state").get_json()
    assert isinstance(state["receipt"], int) and f"Receipt number {state['receipt']}." in state["message"]
    assert _face_rows(gate.ctx) == 0 and gate.releases() == 0


@pytest.mark.browser
def test_kiosk_self_service_in_the_browser(gate: Gate, browser) -> None:
    """The journey on the touch screen: button, resident code and PIN on the on-screen keypad, delete."""
    from tests.conftest import serving
    from tests.webui.test_kiosk_browser import SIZE, fits
    from webui.server import make_app

    _give_face_data(gate.ctx)
    with serving(make_app(gate.ctx, gate.runtime, simulate=True)) as url:
        page = browser.new_page(viewport=SIZE)  # the gate's portrait touch screen
        try:
            page.set_default_timeout(20_000)
            page.goto(f"{url}/kiosk/")
            page.get_by_text("Tap your card here").wait_for()
            fits(page, "idle with My face data")
            page.get_by_role("button", name="My face data").click()
            page.get_by_label("Resident or visitor code").fill(CODE)
            page.get_by_label("Resident or visitor code").press("Enter")
            pad = page.get_by_role("group", name="Keypad")
            page.get_by_label("PIN", exact=True).wait_for()
            fits(page, "self-service PIN")
            for digit in PIN:
                pad.get_by_role("button", name=digit, exact=True).click()
            pad.get_by_role("button", name="OK").click()
            delete = page.get_by_role("button", name="Withdraw consent and delete my face data")
            delete.wait_for()
            fits(page, "self-service menu")
            delete.click()
            page.locator("#receipt").get_by_text("Receipt number").wait_for()
            fits(page, "self-service receipt")
            assert "card and PIN keep working" in page.locator("#message").inner_text()
        finally:
            page.close()
    assert _face_rows(gate.ctx) == 0 and gate.releases() == 0
