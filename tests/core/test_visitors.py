"""Visitor codes in the pure core: their shape, the decision, and the machine deciding them at once."""

from datetime import UTC, datetime, timedelta

import pytest

from gate.core import machine as m
from gate.core.claims import ClaimKind
from gate.core.decision import Locks, Reason
from gate.core.policy import GatePolicy, Method, parse_methods
from gate.core.validity import Validity
from gate.core.visitors import VisitorPass, decide_visitor, is_visitor_code, make_code, spaced, split_code
from gate.errors import PolicyError

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
POLICY = GatePolicy(gate_id=2, name="north", methods=parse_methods("card,pin"))
PASS = VisitorPass(visitor_id=11, window=Validity(NOW - timedelta(hours=1), NOW + timedelta(hours=3)), remaining=2,
                   gate_ids=frozenset({2}))


def test_shape():
    code = make_code("0042", "13579")
    assert code == "9004213579" and is_visitor_code(code) and split_code(code) == ("0042", "13579")
    assert spaced(code) == "9 0042 13579"
    for other in ("1004213579", "900421357", "90042135790", "A004213579", "101"):
        assert not is_visitor_code(other)


@pytest.mark.parametrize("visitor, matches, locks, reason", [
    (PASS, True, Locks(), Reason.GRANTED),
    (None, None, Locks(), Reason.VISITOR_UNKNOWN),
    (PASS, False, Locks(), Reason.VISITOR_UNKNOWN),
    (PASS, True, Locks(gate_wait_seconds=5), Reason.PIN_WAIT),
    (VisitorPass(11, PASS.window, 2, frozenset({2}), revoked=True), True, Locks(), Reason.VISITOR_REVOKED),
    (VisitorPass(11, PASS.window, 2, frozenset({1})), True, Locks(), Reason.VISITOR_WRONG_GATE),
    (VisitorPass(11, Validity(NOW + timedelta(minutes=1), None), 2, frozenset({2})), True, Locks(),
     Reason.VISITOR_NOT_YET_VALID),
    (VisitorPass(11, Validity(None, NOW), 2, frozenset({2})), True, Locks(), Reason.VISITOR_EXPIRED),
    (VisitorPass(11, PASS.window, 0, frozenset({2})), True, Locks(), Reason.VISITOR_USED_UP),
])
def test_decide_visitor(visitor, matches, locks, reason):
    decision = decide_visitor(POLICY, visitor, matches, locks, NOW)
    assert decision.reason is reason
    assert decision.granted is (reason is Reason.GRANTED)
    assert decision.message


def test_visitor_is_not_a_policy_method():
    with pytest.raises(PolicyError, match="Unknown method"):
        parse_methods("card,visitor")


@pytest.mark.parametrize("first", [[], [m.Choose("pin")], [m.Choose("face")], [m.EnterCode("A1")]])
def test_the_machine_decides_a_visitor_code_at_once_and_never_with_face(first):
    rules = m.Rules(methods=frozenset({Method.CARD, Method.PIN, Method.FACE}))
    state = m.State()
    for event in first:
        state, _ = m.step(state, event, rules)
    state, effects = m.step(state, m.EnterCode("9004213579"), rules)
    assert state.phase is m.Phase.DECISION
    decide = [e for e in effects if isinstance(e, m.Decide)]
    assert len(decide) == 1 and decide[0].method is Method.VISITOR and decide[0].claim.kind is ClaimKind.VISITOR
    assert not any(isinstance(e, (m.StartFace, m.Precheck)) for e in effects)


def test_a_resident_code_still_waits_for_the_pin():
    rules = m.Rules(methods=frozenset({Method.CARD, Method.PIN}))
    state, _ = m.step(m.State(), m.EnterCode("1004213579"), rules)
    assert state.phase is m.Phase.CHOICE
