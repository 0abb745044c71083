"""Every operator route: sign-in required, roles enforced, CSRF required on every POST."""

from __future__ import annotations

import pytest
from flask import Flask

from gate.store.models import OperatorRole
from tests.webui.helpers import add_resident

# The language switch works before sign-in too (it needs the CSRF token like every form).
PUBLIC = {"static", "auth.login", "auth.setup", "language.choose"}
ARGS = {"code": "A101", "username": "admin", "number": 1, "name": "main", "version": "1", "filename": "style.css",
        "section": "retention"}


def routes(app: Flask) -> list[tuple[str, str, str, tuple]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        view = app.view_functions[rule.endpoint]
        url = rule.build({k: v for k, v in ARGS.items() if k in rule.arguments})[1]  # type: ignore[index]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):  # type: ignore[operator]
            found.append((rule.endpoint, method, url, getattr(view, "roles", None)))
    return found


def test_every_operator_route_declares_roles(app: Flask) -> None:
    missing = [endpoint for endpoint, _m, _u, roles in routes(app) if roles is None and endpoint != "auth.logout"]
    assert missing == []


def test_anonymous_is_sent_to_sign_in(app, client, auth) -> None:
    auth.login()  # an operator exists, so anonymous visitors go to /login, not /setup
    auth.logout()
    for endpoint, method, url, _roles in routes(app):
        response = client.open(url, method=method)
        if method == "POST":
            assert response.status_code == 400, (endpoint, response.status_code)  # no CSRF token
        else:
            assert response.status_code == 302, (endpoint, url, response.status_code)
            assert response.headers["Location"].startswith("/login"), endpoint


@pytest.mark.parametrize("role", [OperatorRole.AUDITOR, OperatorRole.OPERATOR])
def test_roles_are_enforced(app, client, auth, gctx, role) -> None:
    add_resident(gctx)
    auth.login(role.value, role)
    checked = 0
    for endpoint, method, url, roles in routes(app):
        if roles is None or role in roles:
            continue
        data = {"csrf_token": auth.token()} if method == "POST" else None
        response = client.open(url, method=method, data=data)
        assert response.status_code == 403, (endpoint, method, response.status_code)
        checked += 1
    assert checked >= 5


def test_every_post_rejects_a_missing_or_wrong_csrf_token(app, client, auth, gctx) -> None:
    add_resident(gctx)
    auth.login()
    posts = [(e, u) for e, m, u, _r in routes(app) if m == "POST"]
    assert len(posts) >= 20
    for endpoint, url in posts:
        for data in ({}, {"csrf_token": "forged"}):
            response = client.post(url, data=data)
            assert response.status_code == 400, (endpoint, data)
            assert "CSRF" in response.get_data(as_text=True)
