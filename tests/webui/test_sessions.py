"""Finding 7 (OWASP ASVS level 2): revocable server-side sessions, one answer for every failed sign-in,
the password policy on every form, and the Host header check against DNS rebinding."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gate.context import GateContext
from gate.store.models import Operator, OperatorRole, OperatorSession
from tests.webui.conftest import PASSWORD, AuthActions, csrf
from tests.webui.helpers import add_resident, resident

COOKIE = "gate_session"
WEAK = ("password12", "1234567890", "aaaaaaaaaa", "password1234", "aaaaaaaaaaaa")


def _cards(context: GateContext, code: str = "A101") -> list[str]:
    found = resident(context, code)
    assert found is not None
    return [card.uid for card in found.cards]


def test_a_cookie_captured_before_sign_out_is_refused_after_it(client: FlaskClient, auth: AuthActions,
                                                               gctx: GateContext) -> None:
    add_resident(gctx)
    auth.login()
    token = auth.token("/residents/A101")
    captured = client.get_cookie(COOKIE)
    assert captured is not None
    # The captured cookie works while the session is open...
    assert client.post("/residents/A101/cards", data={"number": "1001", "csrf_token": token}).status_code == 302
    assert _cards(gctx) == ["1001"]
    auth.logout()
    # ...and, replayed after sign-out with its own CSRF token, is sent to sign in and adds nothing.
    client.set_cookie(COOKIE, captured.value)
    replay = client.post("/residents/A101/cards", data={"number": "1002", "csrf_token": token})
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/login")
    assert _cards(gctx) == ["1001"]


def test_the_cookie_carries_only_a_session_id_stored_as_a_hash(client: FlaskClient, auth: AuthActions,
                                                               app: Flask, gctx: GateContext) -> None:
    auth.login()
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)  # type: ignore[attr-defined]
    assert set(data) <= {"sid", "_permanent", "_flashes", "csrf_token"}
    with gctx.sessions() as session:
        stored = session.scalars(select(OperatorSession.token_hash)).all()
    assert stored and data["sid"] not in stored  # only its SHA-256 is kept
    assert len(stored[0]) == 64


def test_absolute_lifetime_ends_an_active_session(client: FlaskClient, auth: AuthActions,
                                                  gctx: GateContext) -> None:
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    clock = {"now": start}
    gctx.clock = lambda: clock["now"]
    auth.login()
    # Busy all day, never idle for 15 minutes: the session still ends 12 hours after sign-in.
    while clock["now"] < start + timedelta(hours=11, minutes=50):
        clock["now"] += timedelta(minutes=14)
        assert client.get("/").status_code == 200, clock["now"]
    clock["now"] = start + timedelta(hours=12)
    ended = client.get("/")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")
    assert "time limit" in client.get("/login").get_data(as_text=True)


def test_idle_timeout_with_a_moved_clock(client: FlaskClient, auth: AuthActions, gctx: GateContext) -> None:
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    clock = {"now": start}
    gctx.clock = lambda: clock["now"]
    auth.login()
    clock["now"] += timedelta(minutes=16)
    assert client.get("/").status_code == 302
    assert "inactivity" in client.get("/login").get_data(as_text=True)


def test_session_hours_comes_from_the_config(data_dir, gctx: GateContext) -> None:
    (data_dir / "gate.toml").write_text("[web]\nsession_hours = 2\n", encoding="utf-8")
    from webui import create_app

    context = GateContext.open(data_dir)
    try:
        assert create_app(context, config={"TESTING": True}).config["SESSION_LIFETIME"] == timedelta(hours=2)
    finally:
        context.close()


def test_password_change_ends_the_other_sessions_and_renews_this_one(app: Flask, gctx: GateContext) -> None:
    mine, other = app.test_client(), app.test_client()
    me, elsewhere = AuthActions(mine, gctx), AuthActions(other, gctx)
    me.login()
    elsewhere.login()
    before = mine.get_cookie(COOKIE)
    assert before is not None
    changed = me.post("/account/password", {"current": PASSWORD, "password": "new password 1",
                                            "password2": "new password 1"})
    assert changed.status_code == 302
    assert mine.get("/").status_code == 200  # this browser goes on, on a fresh session id
    assert other.get("/").status_code == 302
    stale = app.test_client()
    stale.set_cookie(COOKIE, before.value)
    assert stale.get("/").status_code == 302  # the id it was changed from is ended too


def test_demoting_or_disabling_an_operator_ends_their_sessions(app: Flask, gctx: GateContext) -> None:
    admin, other = AuthActions(app.test_client(), gctx), AuthActions(app.test_client(), gctx)
    admin.login()
    other.login("second", OperatorRole.ADMIN)
    assert other.client.get("/operators").status_code == 200
    assert admin.post("/operators/second", {"action": "role", "role": "auditor"}).status_code == 302
    assert other.client.get("/operators").status_code == 302  # not a 403 on a still-open admin session
    other.login("second")
    assert other.client.get("/events").status_code == 200
    assert admin.post("/operators/second", {"action": "disable"}).status_code == 302
    assert other.client.get("/events").status_code == 302
    assert other.login("second").status_code == 401


def _answer(response, username: str) -> str:  # type: ignore[no-untyped-def]
    """The page as the person sees it, less what legitimately differs: the name they typed, the token."""
    text = response.get_data(as_text=True).replace(f'value="{username}"', 'value="USERNAME"')
    return re.sub(r'name="csrf_token" value="[^"]+"', "", text)


def test_unknown_locked_disabled_and_wrong_password_get_one_answer(app: Flask, client: FlaskClient,
                                                                   auth: AuthActions, gctx: GateContext) -> None:
    from gate.store import operators as operator_service

    auth.login()
    auth.logout()
    AuthActions(app.test_client(), gctx).login("idle", OperatorRole.OPERATOR)
    with gctx.transaction() as session:
        operator_service.set_active(session, session.scalar(select(Operator).where(Operator.username == "idle")),
                                    False, actor="test")

    def attempt(username: str, password: str):  # type: ignore[no-untyped-def]
        return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(client)})

    unknown = attempt("nobody-here", "some wrong password")
    wrong = attempt("admin", "some wrong password")
    disabled = attempt("idle", PASSWORD)  # the right password of a disabled account
    for _ in range(4):
        attempt("admin", "some wrong password")
    locked = attempt("admin", PASSWORD)  # the right password of a locked account
    with gctx.sessions() as session:
        assert session.scalar(select(Operator.locked_until).where(Operator.username == "admin")) is not None
    answers = {_answer(r, name) for r, name in ((unknown, "nobody-here"), (wrong, "admin"), (disabled, "idle"),
                                                (locked, "admin"))}
    assert {r.status_code for r in (unknown, wrong, disabled, locked)} == {401}
    assert len(answers) == 1, "\n".join(difflib.unified_diff(*[a.splitlines() for a in list(answers)[:2]]))


@pytest.mark.parametrize("weak", WEAK)
def test_weak_passwords_are_refused_on_every_form(client: FlaskClient, auth: AuthActions, weak: str) -> None:
    token = csrf(client, "/setup")
    setup = client.post("/setup", data={"username": "root", "password": weak, "password2": weak,
                                        "csrf_token": token})
    assert setup.status_code == 400
    auth.login()
    created = auth.post("/operators", {"username": "clerk", "password": weak, "role": "operator"},
                        token_from="/operators")
    assert created.status_code == 400 and "clerk" not in _operators(client)
    changed = auth.post("/account/password", {"current": PASSWORD, "password": weak, "password2": weak})
    assert changed.status_code == 400
    text = changed.get_data(as_text=True)
    assert "at least 12 characters" in text or "common or follows an easy pattern" in text
    auth.logout()
    assert auth.login(password=PASSWORD).status_code == 302  # the weak one was not set


def _operators(client: FlaskClient) -> str:
    return client.get("/operators").get_data(as_text=True)


def test_a_foreign_host_header_is_refused(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    assert client.get("/", headers={"Host": "localhost:8080"}).status_code == 200
    assert client.get("/login", headers={"Host": "127.0.0.1:8080"}).status_code == 200  # the cookie is localhost's
    rebound = client.get("/", headers={"Host": "evil.example"})
    assert rebound.status_code == 400 and "trusted_hosts" in rebound.get_data(as_text=True)


def test_trusted_hosts_come_from_the_config_plus_the_listen_host(data_dir, gctx: GateContext) -> None:
    (data_dir / "gate.toml").write_text('[web]\nhost = "192.168.1.20"\ntrusted_hosts = ["gate.example.cn"]\n',
                                        encoding="utf-8")
    from webui import create_app

    context = GateContext.open(data_dir)
    try:
        app = create_app(context, config={"TESTING": True})
        assert app.config["TRUSTED_HOSTS"] == ["gate.example.cn", "192.168.1.20"]
        probe = app.test_client()
        assert probe.get("/login", headers={"Host": "gate.example.cn"}).status_code == 302  # to /setup
        assert probe.get("/login", headers={"Host": "192.168.1.20:8080"}).status_code == 302
        assert probe.get("/login", headers={"Host": "localhost"}).status_code == 400
    finally:
        context.close()
