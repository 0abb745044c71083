"""The operator UI speaks the site's language, follows the switch, names the local time zone."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from gate.config import load_settings
from gate.context import GateContext
from gate.store.models import OperatorRole
from tests.conftest import GateCli
from webui import create_app
from webui.i18n import LANGUAGE_COOKIE

from .conftest import add_operator, csrf


def test_a_new_install_speaks_chinese_in_shanghai_time_unless_told_english(tmp_path: Path) -> None:
    GateCli(tmp_path / "zh").ok("init")
    site = load_settings(tmp_path / "zh").site
    assert (site.language, site.timezone) == ("zh_Hans_CN", "Asia/Shanghai")
    GateCli(tmp_path / "en").ok("init", "--language", "en")
    site = load_settings(tmp_path / "en").site
    assert (site.language, site.timezone) == ("en", "UTC")


def test_the_sign_in_page_follows_the_switch_and_names_the_zone(client: FlaskClient, gctx: GateContext) -> None:
    add_operator(gctx, "admin", OperatorRole.ADMIN)
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Gate controller" in page and "Times are local: UTC." in page
    response = client.post("/language", data={"language": "zh_Hans_CN", "next": "/login",
                                               "csrf_token": csrf(client)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-Hans-CN">' in page and "门禁控制器" in page and "时间均为本地时间：UTC。" in page


def test_the_switch_refuses_to_redirect_off_site(client: FlaskClient, gctx: GateContext) -> None:
    add_operator(gctx, "admin", OperatorRole.ADMIN)
    response = client.post("/language", data={"language": "en", "next": "//evil.example/",
                                               "csrf_token": csrf(client)})
    assert response.headers["Location"] == "/"
    assert client.post("/language", data={"language": "en"}).status_code == 400  # CSRF like every form


def test_a_chinese_site_answers_in_chinese(data_dir: Path) -> None:
    cli = GateCli(data_dir)
    cli.ok("site", "set", "site.language", "zh_Hans_CN")
    cli.ok("site", "set", "site.timezone", "Asia/Shanghai")
    context = GateContext.open(data_dir)
    add_operator(context, "admin", OperatorRole.ADMIN)
    try:
        app = create_app(context, config={"TESTING": True})
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        assert '<html lang="zh-Hans-CN">' in page and "Asia/Shanghai" in page
        client.set_cookie(LANGUAGE_COOKIE, "en")
        assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    finally:
        context.close()
