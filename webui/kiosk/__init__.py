"""The gate's own screen at /kiosk: the privacy notice in short and the ways in this gate accepts, and
"My face data" (a resident's own withdrawal and deletion) where `[privacy] kiosk_self_service` allows it.

The page polls /kiosk/state and posts what the person taps to /kiosk/action. A post only queues an
event for the gate service: no decision, camera or database work happens in the request. Posts must
be JSON from this origin (a cross-site form cannot send them), so they do not need a session token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from gate.core import machine as m
from gate.service import self_service_text
from gate.store.notices import current_notice, fields_of
from gate.store.retention import schedule_text

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates", static_folder="static",
               static_url_path="/kiosk-static")

SHORT_FIELDS = ("processor", "purpose", "retention", "rights", "alternatives")


def _runtime() -> Any:
    runtime = current_app.extensions.get("gate_runtime")
    if runtime is None:
        abort(503)
    return runtime


def _notice() -> dict[str, str]:
    """The published notice; {} (the page then says card and PIN work) if the database is away."""
    context = current_app.extensions["gate_context"]
    try:
        with context.sessions() as session:
            notice = current_notice(session)
            if notice is None:
                return {}
            fields = fields_of(notice)
            fields["version"] = notice.version
            return fields
    except SQLAlchemyError:
        return {}


def same_origin_json() -> None:
    """Refuse posts that are not JSON or come from another site (CSRF without a session)."""
    if not request.is_json:
        abort(415)
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        abort(403)
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != request.host_url.rstrip("/"):
        abort(403)


@bp.get("/")
def page() -> ResponseReturnValue:
    notice = _notice()
    return render_template("kiosk.html", notice={k: notice.get(k, "") for k in SHORT_FIELDS},
                           notice_version=notice.get("version"), self_service_button=self_service_text.BUTTON,
                           delete_button=self_service_text.DELETE_BUTTON)


@bp.get("/notice")
def notice_full() -> ResponseReturnValue:
    return render_template("kiosk_notice.html", notice=_notice())


@bp.get("/retention")
def retention_schedule() -> ResponseReturnValue:
    """The written retention schedule (R5), public like the notice that links to it
    (gate.store.notices.RETENTION_SCHEDULE_PATH); generated from the configuration, no database needed."""
    days = current_app.extensions["gate_context"].settings.template_retention_days
    return render_template("kiosk_retention.html", schedule=schedule_text(days))


@bp.get("/state")
def state() -> ResponseReturnValue:
    snap = _runtime().snapshot()
    return jsonify({"phase": snap.phase, "offered": snap.offered, "camera_on": snap.camera_on,
                    "message": snap.message, "granted": snap.granted, "reason": snap.reason,
                    "transaction": snap.transaction, "database_ok": snap.database.ok,
                    "self_service": snap.self_service, "receipt": snap.receipt})


def kiosk_client() -> None:
    """Only the gate's own screen may press buttons: a PIN typed from elsewhere on the network would
    open the door from afar. [gate] kiosk_clients lists the allowed addresses (default: this machine)."""
    allowed = current_app.extensions["gate_context"].settings.gate.kiosk_clients
    if request.remote_addr not in allowed:
        abort(403)


@bp.post("/action")
def action() -> ResponseReturnValue:
    kiosk_client()
    same_origin_json()
    data = request.get_json(silent=True) or {}
    kind = str(data.get("action", ""))
    value = str(data.get("value", ""))[:32]
    runtime = _runtime()
    if kind == "choose" and value in ("card", "pin", "face"):
        runtime.post(m.Choose(value))
    elif kind == "code" and value.strip():
        runtime.post(m.EnterCode(value.strip()))
    elif kind == "pin" and value:
        runtime.post(m.EnterPin(value))
    elif kind == "cancel":
        runtime.post(m.Cancel())
    elif kind == "self_service":  # "My face data"; the machine ignores it where the site does not offer it
        runtime.post(m.OpenSelfService())
    elif kind == "delete_face_data":  # only meaningful to an identified resident (the machine's guard)
        runtime.post(m.ConfirmDelete())
    else:
        return jsonify({"ok": False, "error": "unknown action"}), 400
    return jsonify({"ok": True}), 202
