"""The kiosk's self-service identification (P2): card or code + PIN, counted by the same PIN lock-outs,
never an access decision. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gate.clock import utcnow
from gate.context import GateContext
from gate.core.claims import Claim, ClaimKind
from gate.core.decision import Reason
from gate.store import gates, residents
from gate.store.models import AccessEvent, Lockout
from tests.store.helpers import resident_with_template

CARD = "123:45678"
PIN = "482915"


class MovableClock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):  # noqa: ANN204 - a Clock
        return self.now


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def kiosk_ctx(any_data_dir: Path, clock: MovableClock) -> Iterator[GateContext]:
    # The shared clock moves too: lock-outs are timed by the site's (the database's) clock.
    context = GateContext.open(any_data_dir, clock=clock, shared_clock=lambda _session: clock())
    resident_with_template(context, "A1", card=CARD, pin=PIN)
    with context.transaction() as session:
        plain = residents.add_resident(session, code="B1", name="Bob", actor="test")
        residents.set_pin(session, plain, PIN, context.hasher, actor="test")
        # A gate whose only way in is a card: card + PIN still identifies at its kiosk.
        gates.set_gate(session, gates.get_gate(session, "main"), actor="test", methods="card")
    yield context
    context.close()


def _events(ctx: GateContext) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(AccessEvent)) or 0


def test_card_and_pin_identify_whatever_the_gate_accepts_and_write_no_access_event(kiosk_ctx: GateContext) -> None:
    access = kiosk_ctx.access()
    identity = access.identify("main", Claim(ClaimKind.CARD, CARD), PIN)
    with kiosk_ctx.sessions() as session:
        alice = residents.get_resident(session, "A1")
        assert identity.resident_id == alice.id and identity.refusal is None and identity.has_face_data
    code = access.identify("main", Claim(ClaimKind.CODE, "B1"), PIN)
    assert code.refusal is None and code.resident_id is not None and not code.has_face_data
    assert _events(kiosk_ctx) == 0  # not a way in: nothing in the access log, no anti-passback booking


def test_a_card_alone_or_an_unknown_claim_identifies_nobody(kiosk_ctx: GateContext) -> None:
    access = kiosk_ctx.access()
    alone = access.identify("main", Claim(ClaimKind.CARD, CARD), "")
    assert alone.resident_id is None and alone.refusal is not None and alone.refusal.reason is Reason.WRONG_PIN
    unknown = access.identify("main", Claim(ClaimKind.CARD, "999:99999"), PIN)
    assert unknown.resident_id is None and unknown.refusal is not None
    assert unknown.refusal.reason is Reason.UNKNOWN_CARD


def test_wrong_pins_here_count_on_the_gate_s_counters(kiosk_ctx: GateContext, clock: MovableClock) -> None:
    access = kiosk_ctx.access()
    with kiosk_ctx.transaction() as session:
        gates.set_gate(session, gates.get_gate(session, "main"), actor="test", methods="card,pin")
    first = access.identify("main", Claim(ClaimKind.CODE, "A1"), "000000")
    assert first.refusal is not None and first.refusal.tries_left == 4
    clock.now += timedelta(minutes=3)
    # the same resident counter as at the gate: a wrong PIN there is the second one
    assert access.pin("main", "A1", "000000").decision.tries_left == 3
    last = None
    for _ in range(3):
        clock.now += timedelta(minutes=3)  # past the keypad's wait, well inside the resident's window
        last = access.identify("main", Claim(ClaimKind.CODE, "A1"), "000000")
    assert last is not None and last.refusal is not None and last.refusal.tries_left == 0
    assert "ask the management office" in last.refusal.message  # a card cannot identify here
    clock.now += timedelta(seconds=25)  # past the keypad's 20 s wait, inside the resident's 30 s lock
    with kiosk_ctx.sessions() as session:
        alice = residents.get_resident(session, "A1")
        row = session.get(Lockout, f"resident:{alice.id}")
        assert row is not None and row.lockouts == 1 and row.locked_until is not None
    # locked: even the right PIN identifies nobody, here and at the gate
    locked = access.identify("main", Claim(ClaimKind.CODE, "A1"), PIN)
    assert locked.resident_id is None and locked.refusal is not None
    assert locked.refusal.reason is Reason.LOCKED_OUT
    assert access.pin("main", "A1", PIN).decision.reason is Reason.LOCKED_OUT
