"""The live operations view: this gate's door, devices and alarms, updated by server-sent events; the
site's other gates from their heartbeats; acknowledging alarms; open once, keep open and lock down.

Door commands go to the gate runtime's own queue (`GateRuntime.command`), which audits them before the
door moves (gate.service.remote_open, gate.service.door_override).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from gate.service import controls as c
from gate.service.door_override import END, KEEP_OPEN, LOCK_DOWN
from gate.store import alarm_acks
from webui import sse
from webui.base import READ_EVENT_ROLES, RESIDENT_ROLES, actor, ctx, db, now, roles_required, runtime
from webui.ops_view import ALARM_LABELS, DOOR_LABELS, operations

bp = Blueprint("operations", __name__, url_prefix="/operations")


def _slots() -> sse.StreamSlots:
    slots = current_app.extensions.get("operations_streams")
    if slots is None:
        slots = sse.StreamSlots(sse.slots_for(ctx().settings.web.threads))
        current_app.extensions["operations_streams"] = slots
    return slots


def _panel() -> str:
    with ctx().sessions() as session:
        view = operations(runtime(), session)
    return render_template("operations/_panel.html", ops=view, DOOR_LABELS=DOOR_LABELS)


@bp.get("/")
@roles_required(*READ_EVENT_ROLES)
def index() -> ResponseReturnValue:
    return render_template("operations/index.html", panel=_panel(), has_runtime=runtime() is not None,
                           KEEP_OPEN=KEEP_OPEN, LOCK_DOWN=LOCK_DOWN, END=END)


@bp.get("/stream")
@roles_required(*READ_EVENT_ROLES)
def stream() -> ResponseReturnValue:
    gate = runtime()
    if gate is None:
        return Response(_("The gate service is not running in this process.") + "\n", 503, mimetype="text/plain")
    slots = _slots()
    if not slots.take():
        return Response(_("Too many live views are open; this one tries again in a moment.") + "\n", 503,
                        headers={"Retry-After": "5"}, mimetype="text/plain")
    signal = gate.changes  # type: ignore[attr-defined]

    def body() -> Iterator[str]:
        try:
            yield from sse.stream(_panel, signal.wait, signal.version, clock=time.monotonic)
        finally:
            slots.give_back()

    return Response(stream_with_context(body()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@bp.post("/acknowledge")
@roles_required(*RESIDENT_ROLES)
def acknowledge() -> ResponseReturnValue:
    gate, alarm = request.form.get("gate", ""), request.form.get("alarm", "")
    try:
        raised_at = datetime.fromisoformat(request.form.get("raised_at", ""))
    except ValueError:
        abort(400)
    if alarm not in ALARM_LABELS or raised_at.tzinfo is None:
        abort(400)
    done = alarm_acks.acknowledge(db(), alarm_acks.Raising(gate, alarm, raised_at), actor=actor(), now=now())
    db().commit()
    flash(_("Alarm acknowledged.") if done else _("Someone had already acknowledged this alarm."), "ok")
    return redirect(_back())


@bp.post("/door")
@roles_required(*RESIDENT_ROLES)
def door() -> ResponseReturnValue:
    gate = runtime()
    if gate is None:
        flash(_("The gate service is not running in this process, so the door cannot be controlled from here."),
              "error")
        return redirect(url_for("operations.index"))
    action = request.form.get("action", "")
    reason = request.form.get("reason", "").strip()[:200]
    if not reason:
        flash(_("Give a reason: it goes into the audit log with your name."), "error")
        return redirect(url_for("operations.index"))
    reply: queue.Queue[str | None] = queue.Queue()
    if action == "open_once":
        item: c.RemoteOpen | c.Override = c.RemoteOpen(actor(), f"web: {reason}", reply)
    elif action in (KEEP_OPEN, LOCK_DOWN, END):
        try:
            minutes = float(request.form.get("minutes", "0") or 0) if action != END else 0.0
        except ValueError:
            minutes = -1.0
        item = c.Override(action, actor(), reason, minutes * 60, reply)
    else:
        abort(400)
    refusal = gate.command(item)  # type: ignore[attr-defined]
    if refusal is None:
        flash({"open_once": _("The door was opened once."), KEEP_OPEN: _("The door is kept open."),
               LOCK_DOWN: _("The gate is locked down."), END: _("The gate is back to normal.")}[action], "ok")
    else:
        flash(refusal, "error")
    return redirect(url_for("operations.index"))


def _back() -> str:
    """The page the form was on (the banner is on every page), if it is one of ours."""
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else url_for("operations.index")
