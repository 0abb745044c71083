"""The Site page lists every gate with its release, last heartbeat, clock offset and state."""

from __future__ import annotations

import html
from datetime import timedelta

from gate.clock import utcnow
from gate.store import gates, heartbeats
from gate.store.gates import get_gate
from gate.store.models import OperatorRole


def test_the_site_page_lists_gates_with_version_last_seen_clock_offset_and_state(auth, gctx):
    with gctx.transaction() as session:
        gates.add_gate(session, "north", actor="test")
        gates.add_gate(session, "south", actor="test")
        me = heartbeats.Instance(host="gate-north", pid=101, version="9.8.7")
        heartbeats.beat(session, get_gate(session, "north"), me, "running", utcnow())
        skewed = heartbeats.Instance(host="gate-south", pid=202, version="9.8.6")
        heartbeats.beat(session, get_gate(session, "south"), skewed, "degraded", utcnow() + timedelta(minutes=10))
    auth.login()
    page = html.unescape(auth.client.get("/site").get_data(as_text=True))
    north = page[page.index('id="site-north"'):page.index('id="site-south"')]
    south = page[page.index('id="site-south"'):]
    assert "running" in north and "9.8.7" in north and "s ago" in north and "gate-north" in north
    assert "degraded" in south and "9.8.6" in south and "+600" in south and "check its time sync" in south
    main = page[page.index('id="site-main"'):page.index('id="site-north"')]
    assert "not seen" in main


def test_the_site_page_is_for_admins(auth):
    auth.login("clerk", OperatorRole.OPERATOR)
    assert auth.client.get("/site").status_code == 403
