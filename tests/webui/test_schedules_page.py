"""Schedules, holidays and anti-passback in the web UI: the CLI's checks, audited, admins only."""

from __future__ import annotations

from sqlalchemy import func, select

from gate.store import gates as gate_service
from gate.store.models import AuditEntry, Holiday, OperatorRole, PassbackPair, ScheduleAssignment, ScheduleWindow
from tests.webui.helpers import add_resident

WEEKDAYS = {f"day{i}": "1" for i in range(5)}


def _count(gctx, model) -> int:
    with gctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _actions(gctx) -> list[tuple[str, str, str]]:
    with gctx.sessions() as session:
        return [tuple(row) for row in session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.subject).order_by(AuditEntry.id)
            .where(AuditEntry.action.like("schedule.%") | AuditEntry.action.like("holiday.%")
                   | AuditEntry.action.like("passback.%")))]


def test_schedule_round_trip_is_audited_and_read_back(client, auth, gctx) -> None:
    add_resident(gctx, "A101", "Ada Lovelace")
    auth.login()
    page = "/settings/schedules"
    assert auth.post(page + "/window", {"schedule": "office", **WEEKDAYS, "start": "08:00", "end": "18:00"},
                     token_from=page).status_code == 302
    assert auth.post(page + "/assign", {"schedule": "office", "resident": "A101"}, token_from=page).status_code == 302
    assert auth.post("/settings/holidays", {"day": "2026-10-01", "name": "National Day"},
                     token_from=page).status_code == 302
    with gctx.transaction() as session:
        gate_service.add_gate(session, "lobby-out", "card", actor="test")
    assert auth.post("/settings/passback", {"name": "lobby", "entry": "main", "exit": "lobby-out",
                                            "reset_minutes": "60"}, token_from=page).status_code == 302
    shown = client.get(page).get_data(as_text=True)
    assert "office" in shown and "Mon Tue Wed Thu Fri" in shown and "08:00" in shown and "Ada Lovelace (A101)" in shown
    assert "2026-10-01" in shown and "National Day" in shown and "lobby-out" in shown
    with gctx.sessions() as session:
        window = session.scalar(select(ScheduleWindow))
        assert (window.days, window.start, window.end) == ("1111100", "08:00", "18:00")
        assert session.scalar(select(PassbackPair.reset_minutes)) == 60
    # The last window of an assigned schedule stays until the assignment goes.
    assert auth.post(f"{page}/window/{window.id}/remove", token_from=page).status_code == 400
    with gctx.sessions() as session:
        assignment_id = session.scalar(select(ScheduleAssignment.id))
    for path in (f"{page}/assignment/{assignment_id}/remove", f"{page}/window/{window.id}/remove",
                 "/settings/holidays/2026-10-01/remove", "/settings/passback/lobby/remove"):
        assert auth.post(path, token_from=page).status_code == 302, path
    assert [_count(gctx, m) for m in (ScheduleWindow, ScheduleAssignment, Holiday, PassbackPair)] == [0, 0, 0, 0]
    assert [(a, action) for a, action, _s in _actions(gctx)] == [("admin", x) for x in (
        "schedule.window", "schedule.assign", "holiday.add", "passback.add", "schedule.unassign",
        "schedule.window_remove", "holiday.remove", "passback.remove")]


def test_invalid_input_is_refused_with_a_sentence_and_changes_nothing(client, auth, gctx) -> None:
    auth.login()
    page = "/settings/schedules"
    refusals = [
        (page + "/window", {"schedule": "x", **WEEKDAYS, "start": "18:00", "end": "08:00"}, "ends after it starts"),
        (page + "/window", {"schedule": "x", **WEEKDAYS, "start": "8am", "end": "18:00"}, "HH:MM"),
        (page + "/window", {"schedule": "x", "start": "08:00", "end": "18:00"}, "at least one day"),
        (page + "/window", {"schedule": " ", **WEEKDAYS, "start": "08:00", "end": "18:00"}, "needs a name"),
        (page + "/assign", {"schedule": "nothing", "group": "staff"}, "No schedule named"),
        (page + "/assign", {"schedule": "nothing"}, "either a resident code or a group"),
        ("/settings/holidays", {"day": "01/10/2026"}, "YYYY-MM-DD"),
        ("/settings/passback", {"name": "p", "entry": "main", "exit": "main", "reset_minutes": "60"}, "must differ"),
        ("/settings/passback", {"name": "p", "entry": "main", "exit": "nowhere", "reset_minutes": "60"}, "nowhere"),
        ("/settings/passback", {"name": "p", "entry": "main", "exit": "main", "reset_minutes": "0"}, "1 to 10080"),
        ("/settings/passback", {"name": "p", "entry": "main", "exit": "main", "reset_minutes": "soon"}, "whole number"),
    ]
    for path, data, sentence in refusals:
        response = auth.post(path, data, token_from=page)
        assert response.status_code == 400, (path, data)
        assert sentence in response.get_data(as_text=True), (path, sentence)
    assert auth.post("/settings/holidays", {"day": "2026-10-01"}, token_from=page).status_code == 302
    again = auth.post("/settings/holidays", {"day": "2026-10-01"}, token_from=page)
    assert again.status_code == 400 and "already a holiday" in again.get_data(as_text=True)
    assert [_count(gctx, m) for m in (ScheduleWindow, ScheduleAssignment, Holiday, PassbackPair)] == [0, 0, 1, 0]
    assert [action for _a, action, _s in _actions(gctx)] == ["holiday.add"]


def test_operators_cannot_edit_schedules(client, auth, gctx) -> None:
    auth.login("op", OperatorRole.OPERATOR)
    assert client.get("/settings/schedules").status_code == 403
    assert auth.post("/settings/holidays", {"day": "2026-10-01"}).status_code == 403
    assert _count(gctx, Holiday) == 0
