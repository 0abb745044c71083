"""Access events (filters, keyset pages, CSV) and the audit log with chain verification."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Blueprint, Response, flash, render_template, request, stream_with_context
from sqlalchemy import select

from gate.core.policy import Method
from gate.errors import GateError, PolicyError
from gate.store import audit
from gate.store.event_query import EventFilter, audit_page, events_page, iter_events
from gate.store.models import Gate, Resident
from webui.base import AUDIT_ROLES, READ_EVENT_ROLES, ctx, db, roles_required

bp = Blueprint("events", __name__)


def _when(name: str) -> datetime | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as err:
        raise PolicyError(f"'{text[:40]}' is not a date and time (use YYYY-MM-DD or YYYY-MM-DDTHH:MM).") from err
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _filter() -> EventFilter:
    args = request.args
    gate_id = resident_id = None
    if args.get("gate"):
        gate_id = db().scalar(select(Gate.id).where(Gate.name == args["gate"][:64]))
        if gate_id is None:
            raise PolicyError(f"No gate named {args['gate'][:64]!r}.")
    if args.get("resident"):
        resident_id = db().scalar(select(Resident.id).where(Resident.code == args["resident"][:32]))
        if resident_id is None:
            raise PolicyError(f"No resident with code {args['resident'][:32]!r}.")
    method = args.get("method") or None
    if method is not None and method not in {m.value for m in Method}:
        raise PolicyError(f"Unknown method {method[:20]!r}.")
    outcome = args.get("outcome") or None
    if outcome not in (None, "granted", "denied"):
        raise PolicyError("Outcome is 'granted' or 'denied'.")
    return EventFilter(gate_id=gate_id, resident_id=resident_id, method=method,
                       granted=None if outcome is None else outcome == "granted",
                       since=_when("since"), until=_when("until"))


@bp.get("/events")
@roles_required(*READ_EVENT_ROLES)
def index():
    gates = list(db().scalars(select(Gate.name).order_by(Gate.name)))
    try:
        rows, cursor = events_page(db(), _filter(), after=request.args.get("after") or None)
        status = 200
    except GateError as err:
        flash(str(err), "error")
        rows, cursor, status = [], None, 400
    args = {k: v for k, v in request.args.items() if k != "after"}
    return render_template("events/index.html", rows=rows, cursor=cursor, args=args, gates=gates,
                           methods=[m.value for m in Method]), status


@bp.get("/events.csv")
@roles_required(*READ_EVENT_ROLES)
def export_csv():
    try:
        flt = _filter()
    except GateError as err:
        return Response(str(err) + "\n", status=400, mimetype="text/plain")
    sessions = ctx().sessions

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["id", "at", "gate", "resident", "method", "granted", "reason"])
        with sessions() as session:
            for n, row in enumerate(iter_events(session, flt), 1):
                writer.writerow([row.id, row.at.isoformat(), _cell(row.gate or ""), _cell(row.resident_code or ""),
                                 row.method, "yes" if row.granted else "no", row.reason])
                if n % 500 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="access-events.csv"'})


def _cell(text: str) -> str:
    """Spreadsheet formula injection: a cell starting with = + - @ is prefixed so it stays text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/audit")
@roles_required(*AUDIT_ROLES)
def audit_index():
    before = request.args.get("before", "")
    action = request.args.get("action", "").strip()[:64] or None
    entries, next_before = audit_page(db(), before_id=int(before) if before.isdigit() else None, action=action)
    return render_template("events/audit.html", entries=entries, next_before=next_before, action=action or "",
                           report=None)


@bp.post("/audit/verify")
@roles_required(*AUDIT_ROLES)
def audit_verify():
    report = audit.verify(db())
    entries, next_before = audit_page(db())
    return render_template("events/audit.html", entries=entries, next_before=next_before, action="",
                           report=report), (200 if report.ok else 409)
