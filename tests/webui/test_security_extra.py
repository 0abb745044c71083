"""Hostile requests: oversized uploads, odd paths, proxies, huge fields."""

from __future__ import annotations

import io

from gate.store.models import OperatorRole
from tests.webui.conftest import AuthActions
from tests.webui.helpers import add_resident, grant
from webui import create_app


def test_oversized_upload_is_refused_before_parsing(gctx) -> None:
    app = create_app(gctx, config={"TESTING": True, "MAX_CONTENT_LENGTH": 10_000})
    auth = AuthActions(app.test_client(), gctx)
    add_resident(gctx, "A101")
    grant(gctx, "A101")
    auth.login("clerk", OperatorRole.OPERATOR)
    response = auth.post("/residents/A101/face/enroll", {"photos": [(io.BytesIO(b"\0" * 50_000), "big.jpg")]},
                         content_type="multipart/form-data")
    assert response.status_code == 413 and "too large" in response.get_data(as_text=True)


def test_odd_paths_and_long_fields(client, auth, gctx) -> None:
    auth.login("clerk", OperatorRole.OPERATOR)
    for path in ("/residents/..%2F..%2Fetc%2Fpasswd", "/residents/%00", "/receipts/-1", "/receipts/abc",
                 "/residents/" + "x" * 3000):
        assert client.get(path).status_code == 404, path
    response = auth.post("/login", {"username": "u" * 10_000, "password": "p" * 100_000}, token_from="/login")
    assert response.status_code in (302, 401)  # signed-in operators get redirected; never a 500
    assert auth.post("/residents/new", {"code": "LONG1", "name": "n" * 100_000}).status_code == 302
    assert len(client.get("/residents/LONG1").get_data(as_text=True)) < 60_000  # stored cut at 200 characters


def test_proxy_hops_trusts_the_forwarded_address_only_when_configured(data_dir, gctx) -> None:
    from gate.context import GateContext

    for hops, expect_limited in ((0, True), (1, False)):
        (data_dir / "gate.toml").write_text(f"[web]\nproxy_hops = {hops}\n", encoding="utf-8")
        context = GateContext.open(data_dir)
        context.hasher = gctx.hasher
        try:
            app = create_app(context, config={"TESTING": True, "LOGIN_ATTEMPTS_PER_MINUTE": 2})
            client = app.test_client()
            AuthActions(app.test_client(), context).login()
            statuses = []
            for i in range(3):
                token = AuthActions(client, context).token("/login")
                statuses.append(client.post("/login", data={"username": "x", "password": "y", "csrf_token": token},
                                            headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code)
            assert (statuses[-1] == 429) is expect_limited, (hops, statuses)
        finally:
            context.close()
