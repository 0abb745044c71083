"""The gate's own screen at /kiosk: the privacy notice in short and the ways in this gate accepts, and
"My face data" (a resident's own withdrawal and deletion) where `[privacy] kiosk_self_service` allows it.

The page listens to /kiosk/events (server-sent events: the snapshot each time the runtime's change
signal moves; /kiosk/state when the stream fails) and posts what the person taps to /kiosk/action. A
post only queues an event for the gate service: no decision, camera or database work happens in the
request. Posts must be JSON from this origin (a cross-site form cannot send them), so they do not need
a session token.

Language: the site's `[site] language`; the page's 中文 / EN toggle picks the other for one transaction.
Every payload carries the screen's lines in each supported language, so the toggle needs no request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, gettext
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from gate.core import machine as m
from gate.i18n import locales
from gate.service.kiosk_text import Text
from gate.store.notices import current_notice, fields_of
from gate.store.retention import schedule_text
from webui.i18n import site_language
from webui.kiosk.words import page_words

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates", static_folder="static",
               static_url_path="/kiosk-static")

SHORT_FIELDS = ("processor", "purpose", "retention", "rights", "alternatives")
#: A stream ends after this long with a `retry:` so a waitress thread is never held for good.
STREAM_SECONDS = 25.0
#: The alarms the screen shows as a state of its own, most urgent first.
SCREEN_ALARMS = ("fire_alarm", "door_held_open")


@bp.before_request
def _language() -> None:
    """?lang= (the toggle's choice carried to the notice pages) wins for this request; else the site's."""
    chosen = locales.match(request.args.get("lang"))
    g.locale = chosen or locales.match(site_language())


def _render(text: Text) -> str:
    msgid, params = text
    values = {key: _render(value) if isinstance(value, tuple) else value for key, value in params.items()}
    return gettext(msgid, **values) if values else gettext(msgid)


def _runtime() -> Any:
    runtime = current_app.extensions.get("gate_runtime")
    if runtime is None:
        abort(503)
    return runtime


def _notices(languages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """For each language, the notice published in it (else the latest in any language), read in one
    session; {} for a language without one, and for all if the database is away (the page then says
    card and PIN work)."""
    found: dict[str, dict[str, str]] = {language: {} for language in languages}
    context = current_app.extensions["gate_context"]
    try:
        with context.sessions() as session:
            for language in languages:
                notice = current_notice(session, language)
                if notice is not None:
                    found[language] = {**fields_of(notice), "version": notice.version}
    except SQLAlchemyError:
        return {language: {} for language in languages}
    return found


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
    settings = current_app.extensions["gate_context"].settings
    words = {}
    short_notices = []
    notices = _notices(locales.SUPPORTED)
    for language in locales.SUPPORTED:
        notice = notices[language]
        with force_locale(language):
            words[language] = page_words()
            short_notices.append((language, Markup(render_template(
                "_short_notice.html", language=language, html_lang=locales.HTML_LANG[language],
                site=language == g.locale, notice={k: notice.get(k, "") for k in SHORT_FIELDS},
                version=notice.get("version"), full_notice=words[language]["full_notice"]))))
    config = {"site": g.locale, "chosen": locales.match(request.args.get("lang")), "words": words,
              "html_lang": locales.HTML_LANG, "sound": settings.gate.kiosk_sound,
              "events": url_for("kiosk.events"), "state": url_for("kiosk.state"),
              "action": url_for("kiosk.action")}
    return render_template("kiosk.html", short_notices=short_notices, html_lang=locales.HTML_LANG[g.locale],
                           words=words[g.locale], config=json.dumps(config, ensure_ascii=False),
                           other=[lang for lang in locales.SUPPORTED if lang != g.locale][0])



@bp.get("/notice")
def notice_full() -> ResponseReturnValue:
    return render_template("kiosk_notice.html", notice=_notices((g.locale,))[g.locale],
                           html_lang=locales.HTML_LANG[g.locale], lang=g.locale)


@bp.get("/retention")
def retention_schedule() -> ResponseReturnValue:
    """The written retention schedule (R5), public like the notice that links to it
    (gate.store.notices.RETENTION_SCHEDULE_PATH); generated from the configuration, no database needed."""
    days = current_app.extensions["gate_context"].settings.template_retention_days
    return render_template("kiosk_retention.html", schedule=schedule_text(days), html_lang=locales.HTML_LANG[g.locale],
                           lang=g.locale)


def _payload(snap: Any) -> dict[str, object]:
    """What the screen needs, and nothing more: the masked name only, never a card number or a code."""
    lines = {}
    for language in locales.SUPPORTED:
        with force_locale(language):
            lines[language] = [_render(text) for text in snap.screen]
    return {"phase": snap.phase, "offered": snap.offered, "camera_on": snap.camera_on,
            "camera_uses": snap.camera_uses, "message": snap.message, "lines": lines, "granted": snap.granted,
            "reason": snap.reason, "transaction": snap.transaction, "database_ok": snap.database.ok,
            "self_service": snap.self_service, "receipt": snap.receipt, "intent": snap.intent,
            "methods": snap.methods, "face_claims": snap.face_claims, "greeting": snap.greeting,
            "alarms": [name for name in SCREEN_ALARMS if name in snap.alarms]}


@bp.get("/state")
def state() -> ResponseReturnValue:
    return jsonify(_payload(_runtime().snapshot()))


@bp.get("/events")
def events() -> ResponseReturnValue:
    """The snapshot pushed each time the runtime's change signal moves; ends after STREAM_SECONDS and
    the browser reconnects (`retry:`). Versions that pass while a snapshot is built are folded into the
    next one; the camera's use counter keeps even a 160 ms opening visible on the screen."""
    runtime = _runtime()

    def stream() -> Iterator[str]:
        yield "retry: 500\n\n"
        deadline = time.monotonic() + STREAM_SECONDS
        seen = -1
        while (left := deadline - time.monotonic()) > 0:
            version = runtime.wait_change(seen, min(left, 10.0))
            if version == seen:
                yield ": still here\n\n"  # a comment line: keeps proxies from closing a quiet stream
                continue
            seen = version
            yield f"data: {json.dumps(_payload(runtime.snapshot()), ensure_ascii=False)}\n\n"

    return Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


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
