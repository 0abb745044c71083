"""The offline copy on its own: card, PIN and card+PIN decided with the same pure decide(), bounded age."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gate.access.offline import CacheExpired, OfflineCache
from gate.clock import utcnow
from gate.context import GateContext
from gate.core.decision import Reason
from gate.store import gates
from tests.service.conftest import CARD, CODE, PIN


def test_cache_decides_card_pin_and_card_plus_pin_and_expires(installation: GateContext) -> None:
    ctx = installation
    with ctx.transaction() as session:
        gates.set_gate(session, gates.get_gate(session, "main"), actor="t", methods="card,pin,card+pin")
    cache = OfflineCache(ctx.settings, ctx.hasher, max_age_seconds=3600)
    now = utcnow()
    assert cache.refresh(ctx.sessions, "main", now) == 1
    assert cache.card(CARD, now).decision.granted
    assert cache.card("1:1", now).decision.reason is Reason.UNKNOWN_CARD
    assert cache.pin(CODE, PIN, now).decision.granted
    assert cache.pin(CODE, "000000", now).decision.reason is Reason.WRONG_PIN
    assert cache.card_pin(CARD, PIN, now).decision.granted
    left = []
    while not left or left[-1]:
        decision = cache.pin(CODE, "000000", now).decision
        now += timedelta(seconds=decision.retry_after_seconds or 0)
        if decision.reason is Reason.WRONG_PIN:
            left.append(decision.tries_left)
    assert left == [4, 3, 2, 1, 0]
    refused = cache.pin(CODE, PIN, now - timedelta(seconds=1)).decision
    assert (refused.granted, refused.retry_after_seconds) == (False, 1)
    assert cache.card(CARD, now).decision.granted  # the resident's PIN lock never stops the card
    assert cache.pin(CODE, PIN, now).decision.granted
    with pytest.raises(CacheExpired):
        cache.card(CARD, now + timedelta(hours=2))
