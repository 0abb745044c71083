"""GET /api/status: the gate's whole status as JSON for tools (`gate status`, monitoring, the multi-gate
tests): devices, face model, database, alarms with when they were raised, the door command in force, and
the last events with internal resident ids.

Who may read it: a signed-in operator (any role), a tool with `Authorization: Bearer` and the token of
`[metrics] token_file`, or this machine itself (loopback, not through an untrusted proxy). Anyone else
gets 401. It is GET only, so no CSRF token is involved.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify
from flask.typing import ResponseReturnValue

from webui.base import ctx
from webui.health import can_open
from webui.metrics import token_from
from webui.security import bearer_matches, is_local_request

bp = Blueprint("status_api", __name__, url_prefix="/api")


def _allowed() -> bool:
    if g.get("operator") is not None:
        return True
    settings = ctx().settings
    token = token_from(settings)
    if token is not None and bearer_matches(token):
        return True
    return is_local_request(settings.web.proxy_hops > 0)


@bp.get("/status")
def status() -> ResponseReturnValue:
    if not _allowed():
        return jsonify({"error": "Sign in as an operator, or send the bearer token of [metrics] token_file."}), 401
    runtime = current_app.extensions.get("gate_runtime")
    if runtime is None:
        return jsonify({"ok": False, "service": "not running"}), 503
    snap = runtime.snapshot().as_dict()
    snap["ok"] = can_open(snap)
    # A newer, compatible schema (another gate upgraded first): the gate works; say so until it is upgraded.
    snap["schema_note"] = getattr(ctx(), "schema_note", None)
    snap["alarms_since"] = {name: at.isoformat() for name, at in runtime.alarm_times().items()}
    override = runtime.door_override()
    snap["door_override"] = override.as_dict() if override is not None else None
    return jsonify(snap), 200
