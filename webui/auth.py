"""Sign-in, first-run admin, sign-out, and operator accounts (admins only)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import refresh

from gate.errors import GateError
from gate.i18n import locales
from gate.store import operators as operator_service
from webui.base import (
    READ_EVENT_ROLES,
    SESSION_ID,
    SETTINGS_ROLES,
    actor,
    ctx,
    db,
    fail,
    now,
    operator,
    roles_required,
    session_id,
)

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: a crafted ?next= must not send an operator to another site after sign-in."""
    if not target:
        return url_for("dashboard.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("dashboard.index")
    return target


def _start_session(op) -> None:
    """A fresh session id on every sign-in (no fixation); a session this browser still held is ended."""
    previous = session.get(SESSION_ID)
    if previous is not None:
        operator_service.revoke_session(db(), str(previous), now=now())
    session.clear()
    token = operator_service.open_session(db(), op, lifetime=current_app.config["SESSION_LIFETIME"], now=now())
    db().commit()
    session[SESSION_ID] = token
    session.permanent = True


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    if operator_service.any_operator(db()):
        flash(_("The first admin exists already; sign in."), "info")
        return redirect(url_for("auth.login"))
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if password != request.form.get("password2", ""):
            flash(_("The two passwords differ."), "error")
            return render_template("auth/setup.html", username=username), 400
        try:
            op = operator_service.create_first_admin(db(), ctx().hasher, username=username, password=password,
                                                     now=now())
            db().commit()
        except GateError as err:
            fail(err)
            return render_template("auth/setup.html", username=username), 400
        _start_session(op)
        flash(_("Admin %(name)s created and signed in.", name=username), "ok")
        return redirect(url_for("dashboard.index"))
    return render_template("auth/setup.html", username="")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if not operator_service.any_operator(db()):
        return redirect(url_for("auth.setup"))
    if request.method == "POST":
        address = request.remote_addr or "?"
        username = request.form.get("username", "").strip()[:64]
        if not current_app.extensions["login_throttle"].allow(address):
            flash(_("Too many sign-in attempts from this address; wait a minute."), "error")
            return render_template("auth/login.html", username=username), 429
        result = operator_service.authenticate(db(), ctx().hasher, username, request.form.get("password", ""),
                                               now=now(), address=address)
        db().commit()  # failure counters and lockouts are kept even when the sign-in fails
        if not result.ok:
            flash(_(result.message), "error")
            return render_template("auth/login.html", username=username), 401
        assert result.operator is not None
        _start_session(result.operator)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", username="")


@bp.post("/logout")
def logout():
    token = session_id()
    if token is not None:
        # Ended in the table, not just forgotten by this browser: a copy of the cookie is refused too.
        operator_service.revoke_session(db(), token, now=now())
        db().commit()
    session.clear()
    flash(_("Signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*READ_EVENT_ROLES)
def change_password():
    if request.method == "POST":
        from gate.secrets import passwords

        me = operator()
        if not passwords.verify(ctx().hasher, me.password_hash, request.form.get("current", "")):
            flash(_("The current password is wrong."), "error")
            return _account_page(), 400
        if request.form.get("password", "") != request.form.get("password2", ""):
            flash(_("The two new passwords differ."), "error")
            return _account_page(), 400
        try:
            # Ends every session of this account, this one too; this browser continues on a fresh id.
            operator_service.set_password(db(), ctx().hasher, me, request.form.get("password", ""), actor=actor(),
                                          now=now())
            db().commit()
        except GateError as err:
            fail(err)
            return _account_page(), 400
        _start_session(me)
        flash(_("Password changed; other sessions of this account are signed out."), "ok")
        return redirect(url_for("dashboard.index"))
    return _account_page()


def _account_page() -> str:
    return render_template("auth/password.html", languages_offered=list(locales.NATIVE_NAMES.items()),
                           chosen=operator().language)


@bp.post("/account/language")
@roles_required(*READ_EVENT_ROLES)
def set_language():
    """The operator's own language; "" follows the site's. The header switch stores it too (webui.i18n)."""
    chosen = request.form.get("language", "")
    try:
        operator_service.set_language(db(), operator(), chosen or None)
        db().commit()
    except GateError as err:
        fail(err)
        return redirect(url_for("auth.change_password"))
    # Flashed after the change, so it reads in the language just chosen.
    g.operator_language = operator().language
    refresh()
    flash(_("Your language is saved; pages follow it from now on."), "ok")
    return redirect(url_for("auth.change_password"))


@bp.route("/operators", methods=["GET", "POST"])
@roles_required(*SETTINGS_ROLES)
def operators():
    status = 200
    if request.method == "POST":
        try:
            operator_service.create_operator(
                db(), ctx().hasher, username=request.form.get("username", "").strip(),
                password=request.form.get("password", ""),
                role=operator_service.parse_role(request.form.get("role", "")),
                actor=actor(), now=now())
            db().commit()
            flash(_("Operator added."), "ok")
            return redirect(url_for("auth.operators"))
        except GateError as err:
            fail(err)
            status = 400
    return render_template("auth/operators.html", operators=operator_service.list_operators(db())), status


@bp.post("/operators/<username>")
@roles_required(*SETTINGS_ROLES)
def update_operator(username: str):
    try:
        target = operator_service.get_operator(db(), username)
    except GateError:
        abort(404)
    action = request.form.get("action", "")
    try:
        if action == "role":
            operator_service.set_role(db(), target, operator_service.parse_role(request.form.get("role", "")),
                                      actor=actor(), now=now())
        elif action in ("disable", "enable"):
            operator_service.set_active(db(), target, action == "enable", actor=actor(), now=now())
        elif action == "password":
            operator_service.set_password(db(), ctx().hasher, target, request.form.get("password", ""), actor=actor(),
                                          now=now())
        else:
            abort(400)
        db().commit()
        flash(_("Operator %(name)s updated.", name=username), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("auth.operators"))
