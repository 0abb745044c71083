"""Languages in the web UI (Flask-Babel): which language a request is answered in, local times, and
the language switch.

The language of a request, first match wins: `g.locale` set by a blueprint (the kiosk's toggle for
one transaction), the signed-in operator's own preference (`g.operator_language`), the `gate_lang`
cookie of the switch on pages before sign-in, the site's `[site] language`. Stored times are UTC; the
`localtime` / `localdate` filters show them in `[site] timezone` with the offset named.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, g, redirect, request
from flask.typing import ResponseReturnValue
from flask_babel import Babel

from gate.i18n import locales, timefmt
from gate.store import operators
from webui.base import db

LANGUAGE_COOKIE = "gate_lang"

bp = Blueprint("language", __name__)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def site_language() -> str:
    return str(current_app.extensions["gate_context"].settings.site.language)


def site_zone() -> ZoneInfo:
    return _zone(_timezone())


def request_language() -> str:
    for candidate in (g.get("locale"), g.get("operator_language"), request.cookies.get(LANGUAGE_COOKIE)):
        found = locales.match(candidate)
        if found is not None:
            return found
    return locales.match(site_language()) or locales.SOURCE


def _timezone() -> str:
    return str(current_app.extensions["gate_context"].settings.site.timezone)


@bp.post("/language")
def choose() -> ResponseReturnValue:
    """The switch on every page: remembers the choice in a cookie (a language is not a secret, and the
    form carries the CSRF token like every other) and, for a signed-in operator, as their preference."""
    chosen = locales.match(request.form.get("language"))
    if chosen is not None and g.get("operator") is not None:
        operators.set_language(db(), g.operator, chosen)
        db().commit()
    back = request.form.get("next") or "/"
    if not back.startswith("/") or back.startswith("//"):
        back = "/"
    response = redirect(back)
    if chosen is not None:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="Strict", httponly=True,
                            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(locales.TRANSLATIONS_DIR))
    app.config.setdefault("BABEL_DOMAIN", locales.DOMAIN)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", locales.SOURCE)
    Babel(app, locale_selector=request_language, timezone_selector=_timezone)
    # {% trans %} blocks are extracted trimmed (gate.i18n.tool); render them the same way.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.register_blueprint(bp)

    @app.template_filter("localtime")
    def _localtime(moment: datetime | str | None, seconds: bool = True) -> str:
        if isinstance(moment, str):  # an ISO time kept as text (system state, reports)
            text = moment
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return text
        return timefmt.local_time_text(moment, site_zone(), seconds=seconds)

    @app.template_filter("localdate")
    def _localdate(moment: datetime | date | None) -> str:
        return timefmt.local_date_text(moment, site_zone())

    @app.context_processor
    def _language_globals() -> dict[str, Any]:
        language = request_language()
        return {"page_language": language, "html_lang": locales.HTML_LANG.get(language, "en"),
                "languages": [(code, locales.NATIVE_NAMES[code]) for code in locales.SUPPORTED],
                "site_timezone": _timezone()}
