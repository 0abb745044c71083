"""GET /health for anyone (a load balancer, systemd, `curl` on the gate): ok or degraded, which of the
gate's checks failed, and which face engine runs. Nothing else: no events, no resident data, no ids, no
door or alarm state (a forced door is not for passers-by to read). The whole status is GET /api/status
(webui.status_api).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

bp = Blueprint("health", __name__)

#: The device and service checks /health names when they fail, from the alarm that says so.
CHECKS = {"relay_offline": "relay", "reader_offline": "reader", "database_offline": "database",
          "camera_fault": "camera", "face_model_unavailable": "face_model", "key_file_fault": "key_file",
          "site_key": "site_key", "policy_invalid": "policy", "clock_skew": "clock"}


def can_open(snap: dict[str, Any]) -> bool:
    """The gate can take a card and open the door. Face never makes a gate "not ok"."""
    reader_ok = snap["reader"].get("state") == "none" or snap["reader"].get("online") is True
    door_ok = snap["door"].get("state") == "none" or snap["door"].get("link_ok") is True
    return bool(snap["running"]) and reader_ok and door_ok


@bp.get("/health")
def health() -> ResponseReturnValue:
    runtime = current_app.extensions.get("gate_runtime")
    if runtime is None:
        return jsonify({"ok": False, "status": "down", "failed": ["service"]}), 503
    snap = runtime.snapshot().as_dict()
    ok = can_open(snap)
    failed = sorted({CHECKS[a] for a in snap["alarms"] if a in CHECKS})
    status = "down" if not ok else ("degraded" if failed or snap["degraded"] else "ok")
    # Which face engine runs (issue 16: onnx, or dlib after a fallback): a fact about the software, no data.
    engine = snap.get("face_model", {}).get("engine")
    return jsonify({"ok": ok, "status": status, "failed": failed, "face_engine": engine}), 200
