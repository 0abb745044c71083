"""Access decisions and system events (filters, keyset pages, CSV) and the audit log (filters, names,
CSV, chain verification).

Decisions and system events (door and reader events: "reader online", "link restored") live in one
table but are listed apart: a system event refused nobody, so it is never shown as "denied". Dates
typed by people are the site's local dates ([site] timezone) and times are shown and exported in it,
with the UTC offset.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select

from gate.core.policy import Method
from gate.errors import GateError, PolicyError
from gate.i18n.timefmt import iso_with_offset
from gate.store import audit
from gate.store.audit_query import AuditFilter, actors, audit_page, iter_audit
from gate.store.event_query import DECISIONS, SYSTEM, EventFilter, events_page, iter_events
from gate.store.models import Gate, Resident
from webui.base import AUDIT_ROLES, READ_EVENT_ROLES, actor, ctx, db, roles_required
from webui.i18n import site_zone

bp = Blueprint("events", __name__)

#: System events a gate records (gate.service.door_watch, the runtime's reader and remote-open events),
#: in words; an unknown kind is shown as its code with spaces.
SYSTEM_KINDS = {
    "reader_online": lazy_gettext("reader online"), "reader_offline": lazy_gettext("reader offline"),
    "reader_fault": lazy_gettext("reader fault"), "link_lost": lazy_gettext("relay board link lost"),
    "link_restored": lazy_gettext("relay board link restored"), "door_opened": lazy_gettext("door opened"),
    "door_closed": lazy_gettext("door closed"), "door_forced": lazy_gettext("door forced open"),
    "held_open": lazy_gettext("door held open"), "passage": lazy_gettext("someone passed"),
    "granted_not_used": lazy_gettext("granted, nobody passed"), "exit_request": lazy_gettext("exit button"),
    "fire_alarm": lazy_gettext("fire alarm"), "fire_alarm_cleared": lazy_gettext("fire alarm cleared"),
    "remote_open": lazy_gettext("opened remotely"), "grant_failed": lazy_gettext("relay did not release"),
    "grant_too_late": lazy_gettext("release too late"),
}


def _zone() -> ZoneInfo:
    return site_zone()


def _when(name: str, *, end: bool = False) -> datetime | None:
    """A date (the whole local day; `end`: up to the end of it) or a local date and time."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1) if end else day, time(), _zone())
        value = datetime.fromisoformat(text)
    except ValueError as err:
        raise PolicyError(_("'%(text)s' is not a date (use YYYY-MM-DD).", text=text[:40])) from err
    return value if value.tzinfo else value.replace(tzinfo=_zone())


def _local_text(at: datetime) -> str:
    """ISO 8601 in the site's time zone, with its UTC offset: a spreadsheet reader knows which clock."""
    return iso_with_offset(at, _zone())


def _filter(kind: str | None) -> EventFilter:
    args = request.args
    gate_id = resident_id = None
    if args.get("gate"):
        gate_id = db().scalar(select(Gate.id).where(Gate.name == args["gate"][:64]))
        if gate_id is None:
            raise PolicyError(_("No gate named %(name)s.", name=repr(args["gate"][:64])))
    if args.get("resident"):
        resident_id = db().scalar(select(Resident.id).where(Resident.code == args["resident"][:32]))
        if resident_id is None:
            raise PolicyError(_("No resident with code %(code)s.", code=repr(args["resident"][:32])))
    method = args.get("method") or None
    if method is not None and method not in {m.value for m in Method}:
        raise PolicyError(_("Unknown method %(method)s.", method=repr(method[:20])))
    outcome = args.get("outcome") or None
    if outcome not in (None, "granted", "denied"):
        raise PolicyError(_("Outcome is 'granted' or 'denied'."))
    reason = (args.get("event") or None) if kind == SYSTEM else None
    if reason is not None and reason not in SYSTEM_KINDS:
        raise PolicyError(_("Unknown system event %(kind)s.", kind=repr(reason[:32])))
    return EventFilter(gate_id=gate_id, resident_id=resident_id if kind != SYSTEM else None,
                       method=method if kind != SYSTEM else None,
                       granted=None if outcome is None or kind == SYSTEM else outcome == "granted",
                       since=_when("since"), until=_when("until", end=True), kind=kind, reason=reason)


def _page(kind: str, template: str):
    gates = list(db().scalars(select(Gate.name).order_by(Gate.name)))
    try:
        rows, cursor = events_page(db(), _filter(kind), after=request.args.get("after") or None)
        status = 200
    except GateError as err:
        flash(str(err), "error")
        rows, cursor, status = [], None, 400
    args = {k: v for k, v in request.args.items() if k != "after" and v != ""}
    return render_template(template, rows=rows, cursor=cursor, args=args, gates=gates,
                           methods=[m.value for m in Method], kinds=SYSTEM_KINDS), status


@bp.get("/events")
@roles_required(*READ_EVENT_ROLES)
def index():
    """Access decisions: who was let in or refused, where, how."""
    return _page(DECISIONS, "events/index.html")


@bp.get("/events/system")
@roles_required(*READ_EVENT_ROLES)
def system():
    """Door and reader events: no one was refused anything."""
    return _page(SYSTEM, "events/system.html")


FIRST_ROWS = 100


def _csv_stream(header: list[str], rows: Callable[[], Iterable[list[str]]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield buffer.getvalue()  # the first byte leaves at once, before the first query
    buffer.seek(0)
    buffer.truncate()
    for n, row in enumerate(rows(), 1):
        writer.writerow([_cell(cell) for cell in row])
        if n % 500 == 0 or n == FIRST_ROWS:  # the first rows leave early: the download visibly starts
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@bp.get("/events.csv")
@roles_required(*READ_EVENT_ROLES)
def export_csv():
    """Every matching event, streamed. `kind=decisions` or `kind=system` narrows it as the pages do."""
    kind = request.args.get("kind") or None
    try:
        if kind not in (None, DECISIONS, SYSTEM):
            raise PolicyError(_("Kind is 'decisions' or 'system'."))
        flt = _filter(kind)
    except GateError as err:
        return Response(str(err) + "\n", status=400, mimetype="text/plain")
    sessions, local = ctx().sessions, _local_text

    def rows() -> Iterator[list[str]]:
        with sessions() as session:
            for row in iter_events(session, flt):
                yield [str(row.id), local(row.at), row.gate or "", row.resident_code or "", row.method,
                       "" if row.is_system else "yes" if row.granted else "no", row.reason]

    # The columns of before: a script reading the export keeps working. No names: an export of every
    # event with names would be a register of everyone's movements; the page shows them one page at a time.
    header = ["id", "at", "gate", "resident", "method", "granted", "reason"]
    return Response(stream_with_context(_csv_stream(header, rows)), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="access-events.csv"'})


def _cell(text: str) -> str:
    """Spreadsheet formula injection: a cell starting with = + - @ is prefixed so it stays text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _audit_filter() -> AuditFilter:
    args = request.args
    return AuditFilter(actor=args.get("actor", "").strip()[:64] or None,
                       action=args.get("action", "").strip()[:64] or None,
                       since=_when("since"), until=_when("until", end=True))


def _audit_render(report: audit.ChainReport | None = None):
    before = request.args.get("before", "")
    args = {k: v for k, v in request.args.items() if k != "before" and v != ""}
    try:
        entries, next_before = audit_page(db(), _audit_filter(), before_id=int(before) if before.isdigit() else None)
        status = 200 if report is None or report.ok else 409
    except GateError as err:
        flash(str(err), "error")
        entries, next_before, status = [], None, 400
    return render_template("events/audit.html", entries=entries, next_before=next_before, args=args,
                           action=args.get("action", ""), actors=actors(db()), report=report), status


@bp.get("/audit")
@roles_required(*AUDIT_ROLES)
def audit_index():
    return _audit_render()


@bp.get("/audit.csv")
@roles_required(*AUDIT_ROLES)
def audit_csv():
    """The matching entries, newest first, streamed; subjects by name where the resident still exists.
    The export itself is audited: it carries names."""
    try:
        flt = _audit_filter()
    except GateError as err:
        return Response(str(err) + "\n", status=400, mimetype="text/plain")
    audit.record(db(), actor(), "audit.export", "", filter_actor=flt.actor, filter_action=flt.action,
                 since=flt.since, until=flt.until)
    db().commit()
    sessions, local = ctx().sessions, _local_text

    def rows() -> Iterator[list[str]]:
        with sessions() as session:
            for row in iter_audit(session, flt):
                yield [str(row.id), local(row.at), row.actor, row.action, row.subject, row.subject_label,
                       row.details_text]

    header = ["id", "at", "actor", "action", "subject", "subject_name", "details"]
    return Response(stream_with_context(_csv_stream(header, rows)), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})


@bp.post("/audit/verify")
@roles_required(*AUDIT_ROLES)
def audit_verify():
    return _audit_render(audit.verify(db()))
