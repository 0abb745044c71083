"""GET /health: the gate service's snapshot as JSON (devices, face model, database, last events).

No PIN, card number, image or name is ever part of it: events carry the internal resident id only.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> ResponseReturnValue:
    runtime = current_app.extensions.get("gate_runtime")
    if runtime is None:
        return jsonify({"ok": False, "service": "not running"}), 503
    snap = runtime.snapshot().as_dict()
    reader_ok = snap["reader"].get("state") == "none" or snap["reader"].get("online") is True
    door_ok = snap["door"].get("state") == "none" or snap["door"].get("link_ok") is True
    # ok = the gate can take a card and open the door. Face never makes a gate "not ok".
    snap["ok"] = bool(snap["running"]) and reader_ok and door_ok
    context = current_app.extensions.get("gate_context")
    # A newer, compatible schema (another gate upgraded first): the gate works; say so until it is upgraded.
    snap["schema_note"] = getattr(context, "schema_note", None)
    return jsonify(snap), 200
