"""First run, sign-in, lockout, throttle, sessions, headers and the secret key."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from gate.errors import ConfigError
from gate.store.models import AuditEntry, Operator, OperatorRole
from tests.webui.conftest import PASSWORD, csrf
from webui import create_app


def test_first_run_asks_for_the_first_admin_and_only_once(client, gctx) -> None:
    assert client.get("/residents").headers["Location"] == "/setup"
    token = csrf(client, "/setup")
    weak = client.post("/setup", data={"username": "root", "password": "short", "password2": "short",
                                       "csrf_token": token})
    assert weak.status_code == 400 and "at least 12 characters" in weak.get_data(as_text=True)
    ok = client.post("/setup", data={"username": "root", "password": PASSWORD, "password2": PASSWORD,
                                     "csrf_token": token})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert client.get("/settings").status_code == 200  # signed in as admin
    with gctx.sessions() as session:
        assert session.scalar(select(Operator.role).where(Operator.username == "root")) is OperatorRole.ADMIN
    # The setup page cannot make a second admin once one exists, even with a valid token.
    again = client.post("/setup", data={"username": "evil", "password": PASSWORD, "password2": PASSWORD,
                                        "csrf_token": csrf(client, "/")})
    assert again.status_code == 302
    with gctx.sessions() as session:
        assert session.scalar(select(Operator).where(Operator.username == "evil")) is None


def test_login_logout_and_wrong_password(client, auth) -> None:
    assert auth.login().headers["Location"] == "/"
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302
    wrong = auth.login(password="not the password")
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.get_data(as_text=True)
    unknown = auth.client.post("/login", data={"username": "nobody", "password": "x", "csrf_token": csrf(client)})
    assert unknown.status_code == 401 and "Wrong username or password" in unknown.get_data(as_text=True)


def test_account_locks_after_repeated_failures_and_is_audited(client, auth, gctx) -> None:
    auth.login()
    auth.logout()
    for _ in range(5):
        assert auth.login(password="wrong wrong wrong").status_code == 401
    locked = auth.login()  # the right password no longer works while locked
    assert locked.status_code == 401 and "Wrong username or password" in locked.get_data(as_text=True)
    with gctx.sessions() as session:
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "operator.locked")) is not None


def test_sign_in_attempts_are_rate_limited_per_address(gctx, auth) -> None:
    app = create_app(gctx, config={"TESTING": True, "LOGIN_ATTEMPTS_PER_MINUTE": 3})
    auth.login()  # an operator must exist for /login to be shown
    client = app.test_client()
    statuses = [client.post("/login", data={"username": f"u{i}", "password": "x",
                                            "csrf_token": csrf(client)}).status_code
                for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


def test_open_redirect_after_login_is_refused(client, auth) -> None:
    auth.login()
    auth.logout()
    token = csrf(client)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post(f"/login?next={target}",
                               data={"username": "admin", "password": PASSWORD, "csrf_token": token})
        assert response.headers["Location"] == "/", target
        client.post("/logout", data={"csrf_token": csrf(client, "/")})
        token = csrf(client)
    response = client.post("/login?next=/events", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/events"


def test_session_cookie_flags_and_security_headers(client, auth) -> None:
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    page = client.get("/")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_secure_cookie_and_hsts_with_tls(data_dir, gctx) -> None:
    (data_dir / "gate.toml").write_text('[web]\ntls = true\n', encoding="utf-8")
    from gate.context import GateContext

    context = GateContext.open(data_dir)
    try:
        app = create_app(context, config={"TESTING": True})
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert "max-age" in app.test_client().get("/setup").headers["Strict-Transport-Security"]
    finally:
        context.close()


def test_idle_timeout_signs_out(app, client, auth) -> None:
    auth.login()
    assert client.get("/").status_code == 200
    app.config["IDLE_TIMEOUT"] = timedelta(seconds=-1)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    app.config["IDLE_TIMEOUT"] = timedelta(minutes=15)
    assert client.get("/").status_code == 302  # the session was cleared, not just refused once


def test_disabled_operator_and_password_change_end_sessions(app, client, auth, gctx) -> None:
    from gate.store import operators as operator_service

    auth.login("clerk", OperatorRole.OPERATOR)
    assert client.get("/residents").status_code == 200
    with gctx.transaction() as session:  # as `gate admin password clerk` does
        clerk = session.scalar(select(Operator).where(Operator.username == "clerk"))
        operator_service.set_password(session, gctx.hasher, clerk, "another password", actor="cli")
    assert client.get("/residents").status_code == 302
    assert auth.login("clerk", password="another password").status_code == 302
    assert client.get("/residents").status_code == 200
    with gctx.transaction() as session:
        clerk = session.scalar(select(Operator).where(Operator.username == "clerk"))
        operator_service.set_active(session, clerk, False, actor="cli")
    assert client.get("/residents").status_code == 302


def test_change_own_password(client, auth) -> None:
    auth.login()
    bad = auth.post("/account/password", {"current": "wrong", "password": "x" * 12, "password2": "x" * 12})
    assert bad.status_code == 400
    ok = auth.post("/account/password",
                   {"current": PASSWORD, "password": "new password 1", "password2": "new password 1"})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200  # this session continues
    auth.logout()
    assert auth.login(password="new password 1").status_code == 302


def test_admin_manages_operators_and_cannot_remove_last_admin(client, auth, gctx) -> None:
    auth.login()
    created = auth.post("/operators", {"username": "aud", "password": "auditor password", "role": "auditor"},
                        token_from="/operators")
    assert created.status_code == 302
    bad_name = {"username": "x y", "password": "auditor password", "role": "auditor"}
    assert auth.post("/operators", bad_name).status_code == 400
    bad_role = {"username": "zed", "password": "auditor password", "role": "root"}
    assert auth.post("/operators", bad_role).status_code == 400
    demote = auth.post("/operators/admin", {"action": "role", "role": "operator"})
    assert demote.status_code == 302
    assert "last active admin" in client.get("/operators").get_data(as_text=True)
    assert auth.post("/operators/aud", {"action": "disable"}).status_code == 302
    with gctx.sessions() as session:
        assert session.scalar(select(Operator.active).where(Operator.username == "aud")) is False
    assert auth.post("/operators/nobody", {"action": "disable"}).status_code == 404


def test_default_or_short_secret_refused(gctx) -> None:
    for secret in ("dev", "changeme", "x" * 10):
        with pytest.raises(ConfigError):
            create_app(gctx, config={"SECRET_KEY": secret})


def test_secret_is_generated_0600_and_reused(gctx) -> None:
    first = create_app(gctx).config["SECRET_KEY"]
    path = gctx.settings.key_file.parent / "web_secret"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert create_app(gctx).config["SECRET_KEY"] == first and len(first) >= 32
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        create_app(gctx)
