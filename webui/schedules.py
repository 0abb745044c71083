"""Schedules, holidays and anti-passback (admins): the command line's checks and audit entries
(gate.store.schedule_edit), on one page."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select

from gate.errors import GateError, PolicyError
from gate.store import residents as resident_service
from gate.store import schedule_edit
from gate.store.models import Gate, Holiday, PassbackPair, Resident, Schedule, ScheduleAssignment
from webui.base import SETTINGS_ROLES, actor, db, fail, now, roles_required

bp = Blueprint("schedules", __name__)

#: Monday first, as the days string is.
WEEKDAYS = (lazy_gettext("Mon"), lazy_gettext("Tue"), lazy_gettext("Wed"), lazy_gettext("Thu"), lazy_gettext("Fri"),
            lazy_gettext("Sat"), lazy_gettext("Sun"))


def _page(status: int = 200) -> ResponseReturnValue:
    session = db()
    schedules = list(session.scalars(select(Schedule).order_by(Schedule.name)))
    assignments: dict[int, list[tuple[ScheduleAssignment, Resident | None]]] = {s.id: [] for s in schedules}
    for row, resident in session.execute(select(ScheduleAssignment, Resident).outerjoin(
            Resident, Resident.id == ScheduleAssignment.resident_id).order_by(ScheduleAssignment.id)):
        assignments.setdefault(row.schedule_id, []).append((row, resident))
    gates = {g.id: g.name for g in session.scalars(select(Gate).order_by(Gate.name))}
    return render_template(
        "settings/schedules.html", schedules=schedules, assignments=assignments, weekdays=WEEKDAYS,
        holidays=list(session.scalars(select(Holiday).order_by(Holiday.day))),
        pairs=list(session.scalars(select(PassbackPair).order_by(PassbackPair.name))), gates=gates,
        form=request.form), status


def _change(action: Callable[[], str]) -> ResponseReturnValue:
    """Run one change; commit and go back with its message, or show the page again with the refusal."""
    try:
        message = action()
        db().commit()
    except GateError as err:
        fail(err)
        return _page(400)
    flash(message, "ok")
    return redirect(url_for("schedules.index"))


@bp.get("/settings/schedules")
@roles_required(*SETTINGS_ROLES)
def index() -> ResponseReturnValue:
    return _page()


@bp.post("/settings/schedules/window")
@roles_required(*SETTINGS_ROLES)
def add_window() -> ResponseReturnValue:
    form = request.form
    name = form.get("schedule", "")[:100]
    days = "".join("1" if form.get(f"day{i}") else "0" for i in range(7))
    start, end = form.get("start", "").strip()[:5], form.get("end", "").strip()[:5]

    def act() -> str:
        if days == "0000000" and not form.get("on_holidays"):
            raise PolicyError(_("Tick at least one day (or 'on holidays') for the window."))
        schedule_edit.add_window(db(), name, days, start, end, bool(form.get("on_holidays")), actor=actor(),
                                 now=now())
        return _("Window %(start)s-%(end)s added to schedule %(name)s.", start=start, end=end, name=name.strip())
    return _change(act)


@bp.post("/settings/schedules/window/<int:window_id>/remove")
@roles_required(*SETTINGS_ROLES)
def remove_window(window_id: int) -> ResponseReturnValue:
    def act() -> str:
        schedule = schedule_edit.remove_window(db(), window_id, actor=actor())
        return _("Window removed from schedule %(name)s.", name=schedule.name)
    return _change(act)


@bp.post("/settings/schedules/assign")
@roles_required(*SETTINGS_ROLES)
def assign() -> ResponseReturnValue:
    form = request.form
    name, code, group = form.get("schedule", "")[:64], form.get("resident", "").strip()[:32], \
        form.get("group", "").strip()[:65]

    def act() -> str:
        if bool(code) == bool(group):
            raise PolicyError(_("Give either a resident code or a group, not both."))
        resident = resident_service.get_resident(db(), code) if code else None
        schedule_edit.assign(db(), name, resident=resident, group=group or None, actor=actor())
        return _("Schedule %(name)s assigned to %(who)s.", name=name, who=code or group)
    return _change(act)


@bp.post("/settings/schedules/assignment/<int:assignment_id>/remove")
@roles_required(*SETTINGS_ROLES)
def unassign(assignment_id: int) -> ResponseReturnValue:
    def act() -> str:
        schedule_edit.unassign(db(), assignment_id, actor=actor())
        return _("Assignment removed.")
    return _change(act)


@bp.post("/settings/holidays")
@roles_required(*SETTINGS_ROLES)
def add_holiday() -> ResponseReturnValue:
    def act() -> str:
        holiday = schedule_edit.add_holiday(db(), request.form.get("day", "")[:20],
                                            request.form.get("name", "")[:200], actor=actor())
        return _("Holiday %(day)s added.", day=holiday.day.isoformat())
    return _change(act)


@bp.post("/settings/holidays/<day>/remove")
@roles_required(*SETTINGS_ROLES)
def remove_holiday(day: str) -> ResponseReturnValue:
    def act() -> str:
        schedule_edit.remove_holiday(db(), day[:20], actor=actor())
        return _("Holiday %(day)s removed.", day=day[:20])
    return _change(act)


@bp.post("/settings/passback")
@roles_required(*SETTINGS_ROLES)
def add_passback() -> ResponseReturnValue:
    form = request.form
    minutes = form.get("reset_minutes", "").strip()

    def act() -> str:
        if not minutes.isdigit():
            raise PolicyError(_("The reset time is a whole number of minutes."))
        pair = schedule_edit.add_passback(db(), form.get("name", "")[:100], form.get("entry", "")[:64],
                                          form.get("exit", "")[:64], int(minutes[:6]), actor=actor())
        return _("Anti-passback pair %(name)s added.", name=pair.name)
    return _change(act)


@bp.post("/settings/passback/<name>/remove")
@roles_required(*SETTINGS_ROLES)
def remove_passback(name: str) -> ResponseReturnValue:
    def act() -> str:
        schedule_edit.remove_passback(db(), name[:64], actor=actor())
        return _("Anti-passback pair %(name)s removed.", name=name[:64])
    return _change(act)
