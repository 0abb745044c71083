"""Request plumbing shared by the blueprints: the database session, the signed-in operator, roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext
from sqlalchemy.orm import Session

from gate.context import GateContext
from gate.i18n.errors import translated
from gate.store import face_standing
from gate.store import operators as operator_service
from gate.store.models import Operator, OperatorRole

F = TypeVar("F", bound=Callable[..., Any])

ADMIN = OperatorRole.ADMIN
OPERATOR = OperatorRole.OPERATOR
AUDITOR = OperatorRole.AUDITOR
#: Who may do what. Admins run the site, so they can do everything an operator can.
RESIDENT_ROLES = (ADMIN, OPERATOR)
READ_EVENT_ROLES = (ADMIN, OPERATOR, AUDITOR)
AUDIT_ROLES = (ADMIN, AUDITOR)
SETTINGS_ROLES = (ADMIN,)
# Blueprints of the gate service (kiosk, health, simulator) and static files are not operator pages.
# The language switch works signed in (it then stores the operator's preference) and signed out.
PUBLIC_ENDPOINTS = {"static", "auth.login", "auth.setup", "language.choose",
                    # Signs in its own way too (a tool's bearer token, this machine): webui.status_api.
                    "status_api.status"}


#: The Flask session (a signed cookie) carries only this: the random id of a row in operator_sessions.
SESSION_ID = "sid"
ENDED = {
    "idle": lazy_gettext("You were signed out after a period of inactivity."),
    "expired": lazy_gettext("Your session reached its time limit; sign in again."),
}
ENDED_OTHERWISE = lazy_gettext("Your session was ended (signed out, password or role changed, or account "
                               "disabled); sign in again.")
ROLE_NAMES = {ADMIN: lazy_gettext("admin"), OPERATOR: lazy_gettext("operator"), AUDITOR: lazy_gettext("auditor")}


def role_name(role: OperatorRole) -> str:
    return str(ROLE_NAMES.get(role, role.value))


def ctx() -> GateContext:
    return current_app.extensions["gate_context"]


def runtime() -> object | None:
    return current_app.extensions.get("gate_runtime")


def db() -> Session:
    if "db" not in g:
        g.db = ctx().sessions()
    return g.db


def now() -> datetime:
    return ctx().clock()


def today() -> date:
    """The site's local date ([site] timezone): minors turn 14 at local midnight."""
    return face_standing.site_today(now(), ctx().settings.site.timezone)


def operator() -> Operator:
    return g.operator


def actor() -> str:
    return g.operator.username


def session_id() -> str | None:
    """The signed-in operator's session id (None when nobody is signed in)."""
    return g.get("session_id")


def roles_required(*roles: OperatorRole) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.get("operator") is None:
                return redirect(url_for("auth.login", next=request.full_path))
            if g.operator.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        wrapped.roles = roles  # type: ignore[attr-defined]  # read back by the access-control test
        return cast(F, wrapped)  # wraps() keeps the view's signature
    return decorate


def _is_operator_page(endpoint: str | None) -> bool:
    if endpoint is None:
        return False
    blueprint = endpoint.split(".", 1)[0] if "." in endpoint else ""
    return blueprint in {"auth", "dashboard", "residents", "enroll", "rights", "events", "settings", "site", "tenants",
                         "visitors", "imports", "schedules", "language", "operations", "status_api"}


def install_request_hooks(app: Flask) -> None:
    @app.before_request
    def _load_operator():
        g.operator = None
        endpoint = request.endpoint
        if not _is_operator_page(endpoint):
            return None
        token = session.get(SESSION_ID)
        if token is not None:
            # Checked against the table on every request: a cookie from before sign-out, a password
            # change or a disabled account finds its row revoked (OWASP ASVS 3.3.1).
            result = operator_service.check_session(db(), str(token), idle=current_app.config["IDLE_TIMEOUT"],
                                                    now=now())
            db().commit()  # the refreshed idle clock, or the session marked ended
            if result.operator is None:
                session.clear()
                flash(str(ENDED.get(result.ended, ENDED_OTHERWISE)), "info")
            else:
                g.operator = result.operator
                g.session_id = str(token)
                g.operator_language = result.operator.language  # webui.i18n.request_language
        if endpoint in PUBLIC_ENDPOINTS:
            return None
        if g.operator is None:
            if not operator_service.any_operator(db()):
                return redirect(url_for("auth.setup"))
            return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
        return None

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        session_ = g.pop("db", None)
        if session_ is not None:
            session_.close()

    @app.context_processor
    def _globals() -> dict[str, Any]:
        op = g.get("operator")
        return {"current_operator": op, "alarm_banner": _banner, "Role": OperatorRole,
                "can": lambda *roles: op is not None and op.role in roles, "role_name": role_name, "tr": error_text,
                "RESIDENT_ROLES": RESIDENT_ROLES, "AUDIT_ROLES": AUDIT_ROLES, "SETTINGS_ROLES": SETTINGS_ROLES}


def _banner() -> list[Any]:
    """This gate's unacknowledged alarms, for base.html (called by the template, only on operator pages)."""
    from webui.ops_view import banner_alarms

    try:
        return banner_alarms(runtime(), db())
    except Exception:  # noqa: BLE001 - the database away must not take every page down with the banner
        db().rollback()
        return []


def render_error(code: int, message: str):
    return render_template("error.html", code=code, message=message), code


def error_text(err: object) -> str:
    """A service's error, or a Message from below the web layer, in the operator's language
    (gate.i18n.errors); templates call it as `tr`."""
    return translated(err, gettext)


def fail(err: Exception) -> None:
    """Roll back the unit of work and show the service's message in the operator's language."""
    db().rollback()
    flash(error_text(err), "error")
