"""Events and audit for people: decisions and system events apart, names beside codes, local dates,
audit subjects by name, readable details, filters and a streamed CSV with the UTC offset."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from gate.store import audit
from gate.store import residents as resident_service
from gate.store.models import AccessEvent, AuditEntry, Gate, OperatorRole
from tests.webui.helpers import add_events, add_resident

START = datetime(2026, 1, 1, tzinfo=UTC)


def _door_events(gctx, kinds: list[str], start: datetime = START) -> None:
    with gctx.transaction() as session:
        gate_id = session.scalar(select(Gate.id).where(Gate.name == "main"))
        session.execute(insert(AccessEvent), [
            {"at": start + timedelta(seconds=30 + i), "gate_id": gate_id, "resident_id": None, "method": "door",
             "granted": False, "reason": kind, "detail": f"detail {i}"} for i, kind in enumerate(kinds)])


def _local_zone(gctx, zone: str) -> None:
    gctx.settings = dataclasses.replace(gctx.settings, site=dataclasses.replace(gctx.settings.site, timezone=zone))


def test_system_events_are_listed_apart_and_never_as_denied(client, auth, gctx) -> None:
    add_events(gctx, 6)
    _door_events(gctx, ["reader_online", "link_restored", "door_forced"])
    auth.login("aud", OperatorRole.AUDITOR)
    decisions = client.get("/events").get_data(as_text=True)
    assert len(re.findall(r"<tr><td>2026", decisions)) == 6
    assert "reader online" not in decisions and "link restored" not in decisions
    system = client.get("/events/system").get_data(as_text=True)
    assert len(re.findall(r"<tr><td>2026", system)) == 3
    assert "reader online" in system and "relay board link restored" in system and "denied" not in system
    assert len(re.findall(r"<tr><td>2026", client.get("/events/system?event=door_forced").get_data(as_text=True))) == 1
    assert client.get("/events/system?event=teleport").status_code == 400
    rows = list(csv.reader(io.StringIO(client.get("/events.csv?kind=system").get_data(as_text=True))))
    assert [r[6] for r in rows[1:]] == ["door_forced", "link_restored", "reader_online"]
    assert {r[5] for r in rows[1:]} == {""}  # neither granted nor denied
    everything = list(csv.reader(io.StringIO(client.get("/events.csv").get_data(as_text=True))))
    assert len(everything) - 1 == 9  # no kind: every row, as before
    assert client.get("/events.csv?kind=other").status_code == 400


def test_names_and_units_beside_codes_while_the_resident_exists(client, auth, gctx) -> None:
    resident_id = add_resident(gctx, "B202", "Grace Hopper", unit="7-1203")
    add_events(gctx, 2, resident_id=resident_id)
    auth.login("aud", OperatorRole.AUDITOR)
    page = client.get("/events").get_data(as_text=True)
    assert page.count("Grace Hopper (B202)") == 2 and page.count("7-1203") == 2
    with gctx.transaction() as session:
        resident_service.remove_resident(session, resident_service.get_resident(session, "B202"), gctx.store,
                                         actor="test")
    page = client.get("/events").get_data(as_text=True)
    assert "Grace Hopper" not in page and len(re.findall(r"<tr><td>2026", page)) == 2


def test_dates_are_whole_local_days_and_times_carry_the_offset(client, auth, gctx) -> None:
    _local_zone(gctx, "Asia/Shanghai")
    # 2026-01-01 15:30 UTC is 23:30 on 1 January in Shanghai; 16:30 UTC is already 2 January there.
    add_events(gctx, 1, start=datetime(2026, 1, 1, 15, 30, tzinfo=UTC))
    add_events(gctx, 1, start=datetime(2026, 1, 1, 16, 30, tzinfo=UTC))
    auth.login("aud", OperatorRole.AUDITOR)
    count = lambda q: len(re.findall(r"<tr><td>2026", client.get("/events?" + q).get_data(as_text=True)))  # noqa: E731
    assert count("since=2026-01-01&until=2026-01-01") == 1  # the "to" day is included, in local time
    assert count("since=2026-01-02&until=2026-01-02") == 1
    assert "2026-01-02 00:30:00" in client.get("/events").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(client.get("/events.csv").get_data(as_text=True))))
    assert [r[1] for r in rows[1:]] == ["2026-01-02T00:30:00+08:00", "2026-01-01T23:30:00+08:00"]


def test_audit_names_residents_that_exist_and_shows_details_as_key_value(client, auth, gctx) -> None:
    kept = add_resident(gctx, "K1", "Katherine Johnson")
    gone = add_resident(gctx, "G1", "Gone Person")
    with gctx.transaction() as session:
        audit.record(session, "alice", "resident.view", f"resident:{kept}", what="resident page", count=2)
        audit.record(session, "bob", "resident.view", f"resident:{gone}", what="edit form", ok=True)
        resident_service.remove_resident(session, resident_service.get_resident(session, "G1"), gctx.store,
                                         actor="bob")
    auth.login("aud", OperatorRole.AUDITOR)
    page = client.get("/audit?action=resident.view").get_data(as_text=True)
    assert "Katherine Johnson (K1)" in page and f"resident:{gone}" in page and "Gone Person" not in page
    assert "<dt>what</dt><dd>resident page</dd>" in page and "<dt>ok</dt><dd>yes</dd>" in page
    assert "{&#34;" not in page and '{"' not in page  # no raw JSON
    assert "Katherine" in client.get("/audit?actor=alice").get_data(as_text=True)
    assert "Katherine" not in client.get("/audit?actor=bob").get_data(as_text=True)
    assert "Katherine" not in client.get("/audit?since=2099-01-01").get_data(as_text=True)
    assert client.get("/audit?since=someday").status_code == 400


def test_audit_csv_is_streamed_with_names_offsets_and_is_itself_audited(client, auth, gctx) -> None:
    _local_zone(gctx, "Asia/Shanghai")
    kept = add_resident(gctx, "K1", "Katherine Johnson")
    with gctx.transaction() as session:  # rows, not the chain: the export reads them as they are
        session.execute(insert(AuditEntry), [
            {"at": START + timedelta(minutes=n), "actor": "alice", "action": "resident.view",
             "subject": f"resident:{kept}", "details": f'{{"what": "view {n}"}}', "prev_hash": f"p{n}",
             "entry_hash": f"e{n}"} for n in range(520)])
    auth.login("aud", OperatorRole.AUDITOR)
    response = client.get("/audit.csv?actor=alice")
    assert response.mimetype == "text/csv" and response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["id", "at", "actor", "action", "subject", "subject_name", "details"]
    assert len(rows) == 521 and rows[1][5] == "Katherine Johnson (K1)" and rows[1][6] == "what: view 519"
    assert all(r[1].endswith("+08:00") for r in rows[1:])
    with gctx.sessions() as session:
        assert session.scalar(select(AuditEntry.actor).where(AuditEntry.action == "audit.export")) == "aud"
    auth.login("op", OperatorRole.OPERATOR)
    assert client.get("/audit.csv").status_code == 403


def test_system_events_in_chinese_are_never_refusals(client, auth, gctx) -> None:
    _door_events(gctx, ["reader_online", "link_restored"])
    auth.login("aud", OperatorRole.AUDITOR)
    client.set_cookie("gate_lang", "zh_Hans_CN")
    page = client.get("/events/system").get_data(as_text=True)
    assert "读卡器在线" in page and "继电器板连接恢复" in page and "系统事件" in page
    assert "禁止通行" not in page and "reader online" not in page
