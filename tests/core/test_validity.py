"""Validity periods of residents and cards in the pure decision: dates read in the site's time zone."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gate.core.decision import Evidence, FaceOutcome, Reason, Subject, decide
from gate.core.policy import GatePolicy, Method, parse_methods
from gate.core.validity import Standing, check_order, from_dates

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = GatePolicy(gate_id=1, name="main", methods=parse_methods("card,pin,card+pin,face,card+face"))
LEASE = from_dates(date(2026, 3, 1), date(2027, 2, 28), SHANGHAI)
TENANT = Subject(resident_id=3, has_pin=True, has_card=True, has_consent=True, has_template=True, validity=LEASE)


def at(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).astimezone(UTC)


def test_until_is_inclusive_of_the_whole_local_day():
    assert LEASE.standing(at("2027-02-28 23:59:59")) is Standing.VALID
    assert LEASE.standing(at("2027-03-01 00:00:00")) is Standing.ENDED
    # 2027-02-28 23:30 in Shanghai is 15:30 UTC the same day; 16:00 UTC is already the next local day.
    assert LEASE.standing(datetime(2027, 2, 28, 16, 0, tzinfo=UTC)) is Standing.ENDED
    assert LEASE.standing(at("2026-02-28 23:59:59")) is Standing.NOT_YET
    assert LEASE.standing(at("2026-03-01 00:00:00")) is Standing.VALID


@pytest.mark.parametrize("method, evidence", [
    (Method.CARD, Evidence()),
    (Method.PIN, Evidence(pin_matches=True)),
    (Method.CARD_PIN, Evidence(pin_matches=True)),
    (Method.FACE, Evidence(face=FaceOutcome.MATCH)),
    (Method.CARD_FACE, Evidence(face=FaceOutcome.MATCH)),
])
def test_a_tenant_past_the_end_is_refused_by_every_method(method, evidence):
    inside = decide(POLICY, method, TENANT, evidence, now=at("2026-06-01 12:00"))
    after = decide(POLICY, method, TENANT, evidence, now=at("2027-03-01 00:00"))
    before = decide(POLICY, method, TENANT, evidence, now=at("2026-02-01 12:00"))
    assert inside.granted
    assert (after.granted, after.reason) == (False, Reason.EXPIRED)
    assert (before.granted, before.reason) == (False, Reason.NOT_YET_VALID)
    assert "ended" in after.message


def test_a_card_past_its_own_end_is_refused_while_the_resident_is_valid():
    card_period = from_dates(None, date(2026, 5, 31), SHANGHAI)
    subject = Subject(resident_id=3, has_card=True, card_validity=card_period)
    assert decide(POLICY, Method.CARD, subject, Evidence(), now=at("2026-05-31 20:00")).granted
    refused = decide(POLICY, Method.CARD, subject, Evidence(), now=at("2026-06-01 08:00"))
    assert refused.reason is Reason.CARD_EXPIRED


def test_a_bounded_period_without_now_fails_closed():
    with pytest.raises(ValueError, match="needs `now`"):
        decide(POLICY, Method.CARD, TENANT, Evidence())


def test_unbounded_subject_needs_no_time():
    assert decide(POLICY, Method.CARD, Subject(resident_id=1, has_card=True), Evidence()).granted


def test_end_before_start_is_refused_with_a_sentence():
    assert check_order(date(2026, 3, 1), date(2026, 2, 1)) is not None
    assert check_order(date(2026, 3, 1), date(2026, 3, 1)) is None
    assert from_dates(None, None, SHANGHAI).bounded is False
    assert from_dates(date(2026, 1, 1), None, SHANGHAI).end is None
    assert from_dates(date(2026, 1, 1), None, SHANGHAI).start == at("2026-01-01 00:00")
    assert from_dates(None, date(2026, 1, 1), SHANGHAI).end == at("2026-01-01 00:00") + timedelta(days=1)
