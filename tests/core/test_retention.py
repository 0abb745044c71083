"""The retention deadline of a face template: consent, site setting, 3 years from last use and from consent."""

from datetime import UTC, datetime, timedelta

from gate.config import MAX_TEMPLATE_RETENTION_DAYS as CONFIGURED_MAX
from gate.core.decision import MESSAGES, Decision, Evidence, FaceOutcome, Locks, Reason, Subject, decide
from gate.core.policy import GatePolicy, Method
from gate.core.retention import MAX_TEMPLATE_RETENTION_DAYS, deadline, is_expired

T0 = datetime(2020, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def test_the_legal_cap_is_the_one_the_configuration_checks() -> None:
    assert MAX_TEMPLATE_RETENTION_DAYS == CONFIGURED_MAX == 3 * 365


def test_the_shortest_of_consent_and_site_periods_counts_from_last_use() -> None:
    used = T0 + 100 * DAY
    assert deadline(T0, used, T0, 30, 365) == used + 30 * DAY
    assert deadline(T0, used, T0, 365, 60) == used + 60 * DAY


def test_never_more_than_three_years_after_last_use() -> None:
    # Both periods above the cap (e.g. data written before the configuration check existed).
    assert deadline(T0, T0, T0, 5000, 5000) == T0 + MAX_TEMPLATE_RETENTION_DAYS * DAY


def test_a_template_used_every_day_still_ends_three_years_after_consent() -> None:
    yesterday = T0 + (MAX_TEMPLATE_RETENTION_DAYS - 1) * DAY
    assert deadline(T0, yesterday, T0, 365, 365) == T0 + MAX_TEMPLATE_RETENTION_DAYS * DAY
    assert is_expired(T0 + MAX_TEMPLATE_RETENTION_DAYS * DAY, T0, yesterday, T0, 365, 365)


def test_unused_four_years_is_expired_whatever_the_periods_say() -> None:
    assert is_expired(T0 + 4 * 365 * DAY, T0, T0, T0 + 3 * 365 * DAY, MAX_TEMPLATE_RETENTION_DAYS,
                      MAX_TEMPLATE_RETENTION_DAYS)


def test_a_last_use_before_creation_counts_from_creation() -> None:
    assert deadline(T0, T0 - 400 * DAY, T0, 365, 365) == T0 + 365 * DAY


def test_due_at_the_deadline_not_before() -> None:
    assert not is_expired(T0 + 365 * DAY - timedelta(seconds=1), T0, T0, T0, 365, 365)
    assert is_expired(T0 + 365 * DAY, T0, T0, T0, 365, 365)


def test_an_expired_template_is_refused_even_when_the_face_would_match() -> None:
    policy = GatePolicy(gate_id=1, name="main", methods=frozenset({Method.CARD, Method.PIN, Method.FACE}))
    subject = Subject(resident_id=1, has_pin=True, has_card=True, has_consent=True, has_template=True,
                      template_expired=True)
    decision = decide(policy, Method.FACE, subject, Evidence(face=FaceOutcome.MATCH), Locks())
    assert decision == Decision(False, Reason.FACE_EXPIRED, frozenset({Method.CARD, Method.PIN}))
    assert len(Reason.FACE_EXPIRED.value) <= 32
    assert MESSAGES[Reason.FACE_EXPIRED] == ("Your face enrollment has expired; please use your card or PIN "
                                             "and ask the office to renew it.")
