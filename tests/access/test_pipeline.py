"""Card and PIN decisions through the access service, lockouts, and face prechecks."""


import pytest
from sqlalchemy import select

from gate.clock import utcnow
from gate.context import GateContext
from gate.core.claims import Claim, ClaimKind
from gate.core.decision import FaceOutcome, Reason
from gate.store import assessments, gates, residents
from gate.store.models import AccessEvent
from tests.store.helpers import resident_with_template


class MovableClock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return MovableClock()


@pytest.fixture
def access_ctx(data_dir, clock):
    context = GateContext.open(data_dir, clock=clock)
    with context.transaction() as session:
        resident = residents.add_resident(session, code="A1", name="Alice", actor="test")
        residents.add_card(session, resident, "123:45678", actor="test")
        residents.set_pin(session, resident, "482915", context.hasher, actor="test")
        residents.add_resident(session, code="B1", name="Bob", actor="test")
    yield context
    context.close()


def test_card_and_pin_grant_and_are_recorded(access_ctx):
    access = access_ctx.access()
    assert access.card("main", "123,45678").decision.granted
    assert access.pin("main", "A1", "482915").decision.granted
    with access_ctx.sessions() as session:
        events = list(session.scalars(select(AccessEvent).order_by(AccessEvent.id)))
    assert [(e.method, e.granted, e.reason) for e in events] == [("card", True, "granted"), ("pin", True, "granted")]


def test_unknown_card_garbage_card_and_unknown_code(access_ctx):
    access = access_ctx.access()
    assert access.card("main", "999").decision.reason is Reason.UNKNOWN_CARD
    assert access.card("main", "\x00garbage").decision.reason is Reason.UNKNOWN_CARD
    assert access.pin("main", "ZZ9", "482915").decision.reason is Reason.UNKNOWN_RESIDENT
    assert access.pin("main", "B1", "482915").decision.reason is Reason.PIN_NOT_SET


def test_moved_out_resident_is_denied(access_ctx):
    with access_ctx.transaction() as session:
        residents.move_out(session, residents.get_resident(session, "A1"), access_ctx.store, actor="op")
    assert access_ctx.access().card("main", "123:45678").decision.reason is Reason.RESIDENT_INACTIVE


def _enable_face(ctx, tmp_path):
    document = tmp_path / "dpia.pdf"
    document.write_bytes(b"assessment")
    with ctx.transaction() as session:
        gate = gates.get_gate(session, "main")
        from datetime import date

        assessments.record_assessment(session, gate, assessed_on=date(2026, 11, 1), approver="DPO",
                                      document=document.read_bytes(), actor="t", site_timezone="UTC")
        gates.set_gate(session, gate, actor="t", methods="card,pin,face,card+face")


def test_face_precheck_refuses_before_any_capture_without_consent(access_ctx, tmp_path):
    _enable_face(access_ctx, tmp_path)
    access = access_ctx.access()
    denial = access.face_precheck("main", Claim(ClaimKind.CODE, "A1"))
    assert denial is not None and denial.reason is Reason.NO_CONSENT
    assert "consent" in denial.message and denial.offer


def test_face_decision_with_a_template(access_ctx, tmp_path):
    _enable_face(access_ctx, tmp_path)
    resident_with_template(access_ctx, "F1", card="7:7777")
    access = access_ctx.access()
    assert access.face_precheck("main", Claim(ClaimKind.CARD, "7:7777")) is None
    assert access.face("main", Claim(ClaimKind.CARD, "7:7777"), FaceOutcome.MATCH).decision.granted
    mismatch = access.face("main", Claim(ClaimKind.CODE, "F1"), FaceOutcome.MISMATCH).decision
    assert mismatch.reason is Reason.FACE_MISMATCH and mismatch.offer


def test_card_and_pin_work_without_the_key_file(access_ctx):
    access_ctx.settings.key_file.unlink()
    access = access_ctx.access()
    assert access.card("main", "123:45678").decision.granted
    assert access.pin("main", "A1", "482915").decision.granted


def test_face_is_rejected_at_a_gate_without_face(access_ctx):
    resident_with_template(access_ctx, "F1")
    decision = access_ctx.access().face("main", Claim(ClaimKind.CODE, "F1"), FaceOutcome.MATCH).decision
    assert decision.reason is Reason.METHOD_NOT_ALLOWED


def test_lock_counters_use_the_shared_scope_spelling(access_ctx):
    from gate.core.lockout import gate_scope, resident_scope
    from gate.store.models import Lockout

    access = access_ctx.access()
    outcome = access.pin("main", "A1", "000111")
    with access_ctx.sessions() as session:
        scopes = set(session.scalars(select(Lockout.scope)))
    assert scopes == {gate_scope(outcome.gate_id), resident_scope(outcome.resident_id)}


def test_online_and_offline_decide_card_and_pin_the_same_way(access_ctx, clock):
    from gate.access.offline import OfflineCache

    with access_ctx.transaction() as session:
        gates.set_gate(session, gates.get_gate(session, "main"), actor="t", methods="card,pin,card+pin")
    access = access_ctx.access()
    cache = OfflineCache(access_ctx.settings, access_ctx.hasher)
    cache.refresh(access_ctx.sessions, "main", clock.now)
    attempts = [("card", ["123:45678"]), ("card", ["9:9"]), ("pin", ["A1", "482915"]), ("pin", ["A1", "1"]),
                ("pin", ["ZZ", "482915"]), ("pin", ["B1", "482915"]), ("card_pin", ["123:45678", "482915"]),
                ("card_pin", ["123:45678", "1"]), ("card_pin", ["9:9", "482915"])]
    for name, args in attempts:
        online = getattr(access, name)("main", *args)
        offline = getattr(cache, name)(*args, clock.now)
        assert (offline.decision, offline.resident_id) == (online.decision, online.resident_id), (name, args)


def test_a_grant_carries_only_the_masked_name_for_the_screen(access_ctx):
    access = access_ctx.access()
    granted = access.card("main", "123,45678").decision
    assert granted.greeting == "A*e"
    assert "Alice" not in repr(granted)
    assert access.pin("main", "A1", "000000").decision.greeting is None  # a refusal names nobody
