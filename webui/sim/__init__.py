"""The simulator page at /sim (only with `gate serve --simulate`): tap a virtual card, type on the
virtual keypad, hold a photo up to the virtual camera, flip the board's inputs, watch the relay.
Only the kiosk clients ([gate] kiosk_clients, by default this machine) may use it: presenting a card
or raising the fire input from elsewhere on the network would open the door from afar.

Each control acts on the far side of the simulated cables (the OSDP reader and Modbus board
simulators), so the gate sees exactly what real hardware would send.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from gate.face.errors import ImageRejected
from gate.face.images import decode_image, read_image_file
from webui.kiosk import kiosk_client, same_origin_json

bp = Blueprint("sim", __name__, url_prefix="/sim", template_folder="templates", static_folder="static",
               static_url_path="/sim-static")

MAX_PHOTO_BYTES = 8 * 1024 * 1024


@bp.before_request
def _only_kiosk_clients() -> None:
    kiosk_client()


def _runtime() -> Any:
    runtime = current_app.extensions.get("gate_runtime")
    if runtime is None or "rig" not in runtime.extras:
        abort(404)
    return runtime


def _faces_dir() -> Path | None:
    folder = _runtime().extras.get("faces_dir")
    return Path(folder) if folder and Path(folder).is_dir() else None


@bp.get("/")
def page():
    _runtime()
    return render_template("sim.html")


@bp.get("/state")
def state():
    runtime = _runtime()
    snap = runtime.snapshot()
    return jsonify({"rig": runtime.extras["rig"].state(), "phase": snap.phase, "message": snap.message,
                    "camera_on": snap.camera_on, "door": snap.door, "alarms": snap.alarms,
                    "events": snap.last_events[:8]})


@bp.get("/faces")
def faces():
    folder = _faces_dir()
    if folder is None:
        return jsonify([])
    names = sorted(str(p.relative_to(folder)) for p in (folder / "people").rglob("*")
                   if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return jsonify(names)


@bp.post("/card")
def card():
    same_origin_json()
    number = str((request.get_json(silent=True) or {}).get("number", "")).strip()[:32]
    try:
        _runtime().extras["rig"].present_card(number)
    except Exception as err:  # noqa: BLE001 - e.g. a number that does not fit a 26-bit frame
        return jsonify({"ok": False, "error": str(err)}), 400
    return jsonify({"ok": True}), 202


@bp.post("/keys")
def keys():
    same_origin_json()
    typed = str((request.get_json(silent=True) or {}).get("keys", ""))[:32]
    if not all(c in "0123456789*#" for c in typed) or not typed:
        return jsonify({"ok": False, "error": "keys are 0-9, * and #"}), 400
    _runtime().extras["rig"].type_keys(typed)
    return jsonify({"ok": True}), 202


@bp.post("/input")
def set_input():
    same_origin_json()
    data = request.get_json(silent=True) or {}
    index = data.get("index")
    if not isinstance(index, int) or not 0 <= index < 4:
        return jsonify({"ok": False, "error": "input 0..3"}), 400
    _runtime().extras["rig"].set_input(index, bool(data.get("on")))
    return jsonify({"ok": True}), 202


@bp.post("/photo")
def photo():
    rig = _runtime().extras["rig"]
    if request.is_json:
        same_origin_json()
        name = str((request.get_json(silent=True) or {}).get("face", ""))
        folder = _faces_dir()
        if not name:
            rig.show_photo(None)
            return jsonify({"ok": True}), 202
        if folder is None:
            return jsonify({"ok": False, "error": "no shared faces folder"}), 404
        path = (folder / name).resolve()
        if folder.resolve() not in path.parents or not path.is_file():
            return jsonify({"ok": False, "error": "no such photo"}), 404
        try:
            rig.show_photo(read_image_file(path), name)
        except ImageRejected as err:
            return jsonify({"ok": False, "error": str(err)}), 400
        return jsonify({"ok": True}), 202
    # An uploaded photo: same-origin only; decoded safely in memory, never written anywhere.
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        abort(403)
    upload = request.files.get("photo")
    if upload is None:
        return jsonify({"ok": False, "error": "no photo"}), 400
    data = upload.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        return jsonify({"ok": False, "error": "photo too large"}), 413
    try:
        rig.show_photo(decode_image(data), "uploaded photo")
    except ImageRejected as err:
        return jsonify({"ok": False, "error": str(err)}), 400
    return jsonify({"ok": True}), 202
