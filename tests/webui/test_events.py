"""Events with filters and keyset pages, CSV export, and the audit log with chain verification."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from gate.store.event_query import EventFilter, events_page
from gate.store.models import AccessEvent, AuditEntry, Gate, OperatorRole
from tests.webui.helpers import add_events, add_resident


def _next(page: str) -> str | None:
    match = re.search(r'href="([^"]+)" rel="next"', page)
    return match.group(1).replace("&amp;", "&") if match else None


def test_pages_walk_every_event_once_newest_first(client, auth, gctx) -> None:
    add_events(gctx, 120)
    auth.login("aud", OperatorRole.AUDITOR)
    url: str | None = "/events"
    seen: list[str] = []
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += re.findall(r"<tr><td>(2026-[^<]+)</td>", page)
        url = _next(page)
    assert len(seen) == 120 and seen == sorted(seen, reverse=True) and len(set(seen)) == 120


def test_filters(client, auth, gctx) -> None:
    resident_id = add_resident(gctx, "A101")
    add_events(gctx, 30, resident_id=resident_id)
    add_events(gctx, 10, start=datetime(2026, 3, 1, tzinfo=UTC))
    auth.login("aud", OperatorRole.AUDITOR)
    rows = lambda q: re.findall(r"<tr><td>2026", client.get("/events?" + q).get_data(as_text=True))  # noqa: E731
    assert len(rows("resident=A101")) == 30
    assert len(rows("since=2026-02-01")) == 10
    assert len(rows("until=2026-02-01&method=card")) == 15
    assert len(rows("outcome=denied&since=2026-03-01")) == 4
    assert len(rows("gate=main&outcome=granted&until=2026-02-01")) == 20
    for bad in ("gate=nowhere", "resident=ZZZ", "method=teleport", "outcome=maybe", "since=yesterday",
                "after=garbage!!"):
        response = client.get("/events?" + bad)
        assert response.status_code == 400, bad
    assert client.get("/events?resident=%3Cscript%3E").status_code == 400


def test_csv_export_streams_all_matching_rows_and_neutralises_formulas(client, auth, gctx) -> None:
    add_events(gctx, 1203)
    with gctx.transaction() as session:
        session.execute(update(Gate).values(name="=HYPERLINK(1)"))
    auth.login("aud", OperatorRole.AUDITOR)
    response = client.get("/events.csv?outcome=denied")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["id", "at", "gate", "resident", "method", "granted", "reason"]
    assert len(rows) - 1 == 401 and {r[5] for r in rows[1:]} == {"no"}
    assert rows[1][2] == "'=HYPERLINK(1)"
    assert client.get("/events.csv?since=bad").status_code == 400


def test_keyset_page_cost_does_not_grow_with_depth(gctx) -> None:
    """60,000 rows: the last page costs what the first does (no OFFSET scan)."""
    with gctx.transaction() as session:
        gate_id = session.scalar(select(Gate.id))
        base = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
        session.execute(insert(AccessEvent), [
            {"at": datetime.fromtimestamp(base + i, UTC), "gate_id": gate_id, "resident_id": None,
             "method": "card", "granted": True, "reason": "granted", "detail": ""} for i in range(60_000)])
    with gctx.sessions() as session:
        first, cursor = events_page(session, EventFilter())
        started = time.perf_counter()
        for _ in range(20):
            events_page(session, EventFilter(), after=cursor)
        shallow = time.perf_counter() - started
        from gate.store.event_query import encode_cursor
        deep_cursor = encode_cursor(datetime.fromtimestamp(base + 60, UTC), 61)
        started = time.perf_counter()
        for _ in range(20):
            rows, _ = events_page(session, EventFilter(), after=deep_cursor)
        deep = time.perf_counter() - started
    assert len(first) == 50 and len(rows) == 50
    assert deep < shallow * 5 + 0.05, (shallow, deep)


def test_audit_log_and_chain_verification(client, auth, gctx) -> None:
    add_resident(gctx, "A101")
    auth.login("aud", OperatorRole.AUDITOR)
    page = client.get("/audit").get_data(as_text=True)
    assert "resident.add" in page and "operator.login" in page
    assert "resident.add" in client.get("/audit?action=resident.add").get_data(as_text=True)
    ok = auth.post("/audit/verify", {}, token_from="/audit")
    assert ok.status_code == 200 and "The chain is intact" in ok.get_data(as_text=True)
    with gctx.transaction() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "resident.add"))
        entry.actor = "someone else"
    broken = auth.post("/audit/verify", {}, token_from="/audit")
    assert broken.status_code == 409 and "edited after it was written" in broken.get_data(as_text=True)
    assert client.get("/audit?before=notanumber").status_code == 200


def test_operator_reads_events_but_not_the_audit_log(client, auth) -> None:
    auth.login("clerk", OperatorRole.OPERATOR)
    assert client.get("/events").status_code == 200
    assert client.get("/audit").status_code == 403
