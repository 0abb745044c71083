"""Residents → Import in headless Chromium: upload a GB18030 file, read the dry run, apply it, watch the
progress page refresh itself until the import is done, print the PIN letters once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import serving
from tests.webui.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def plain_live(gctx) -> Iterator[str]:
    """The operator UI alone: an import needs no gate devices."""
    from webui import create_app

    with serving(create_app(gctx, config={"TESTING": True})) as url:
        yield url


def test_import_dry_run_then_apply_with_progress(browser, plain_live, tmp_path: Path, monkeypatch):
    from gate.store import imports

    release = threading.Event()
    real = imports.run_import

    def held_until_seen(*args, **kwargs):
        if not kwargs["options"].dry_run:
            release.wait(20)  # the apply starts once the test has seen its progress page
        return real(*args, **kwargs)

    monkeypatch.setattr(imports, "run_import", held_until_seen)
    rows = "".join(f"B{i:04d},住户{i},{i // 10}-{i % 10}01,业主,{7_000_000 + i}\n" for i in range(60))
    source = tmp_path / "住户.csv"
    source.write_bytes(("住户编号,姓名,房号,分组,门禁卡,生成密码\nP1,张伟,1-101,,,是\n" + rows +
                        "B0001,重复,,,,\n").encode("gb18030"))
    context = browser.new_context(base_url=plain_live, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto("/setup")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password2]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/")
        page.goto("/residents")
        page.click("text=Import and export")
        page.set_input_files("input[name=file]", str(source))
        page.click("main button[type=submit]:has-text('dry run')")
        page.wait_for_selector("#counts")
        page.wait_for_selector("#apply")
        assert "CSV (GB18030)" in page.content()
        refused = page.inner_text("#report tr.verdict-refused")
        assert "B0001" in refused and "also on line 4" in refused
        page.click("#apply")
        page.wait_for_selector("#progress")
        assert page.inner_text("#progress-text") == "0 of 62 lines"
        release.set()
        page.wait_for_selector("#letters", timeout=60_000)  # the page refreshed itself until done
        assert page.locator("#progress").count() == 0
        assert page.inner_text("#counts").split() == ["added", "61", "changed", "0", "unchanged", "0", "refused",
                                                      "1"]
        page.click("#letters")
        assert page.locator(".letter").count() == 1 and "P1" in page.inner_text(".letter")
        page.reload()
        assert "shown once and are gone" in page.content()
    finally:
        context.close()
