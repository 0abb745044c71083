"""In Chromium: an operator issues a visitor code, the visitor types it on the gate screen and gets in
once (the second time is refused); a tenant past the end of the lease is refused at the reader."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from gate.store import residents, validity
from gate.store.face_standing import site_today
from gate.store.models import OperatorRole
from tests.conftest import serving
from tests.webui.conftest import add_operator
from tests.webui.test_browser import last_access, sign_in, simulated_gate, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def gate_only(gctx):
    """The gate service on simulated devices, without the face engine (nothing here uses face)."""
    from gate.service.runtime import Timeouts

    # The open and refusal screens end after 2 and 3 s (as in the kiosk's journey), not the site's 8 s:
    # the journey waits for the screen to be idle again after each.
    with simulated_gate(gctx, face_engine=None, timeouts=Timeouts(refusal=3, passage=2)) as gate:
        yield gate


@pytest.fixture
def site(gctx, gate_only) -> Iterator[str]:
    from webui.server import make_app

    app = make_app(gctx, gate_only[1], simulate=False)  # as `gate serve` builds it: the kiosk included
    with serving(app) as url:
        yield url


def test_visitor_code_opens_once_and_an_ended_tenant_is_refused(browser, site, gctx, gate_only) -> None:
    rig, runtime = gate_only
    add_operator(gctx, "clerk", OperatorRole.OPERATOR)
    context = browser.new_context(base_url=site, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, "clerk")
        page.goto("/visitors")
        page.fill("input[name=label]", "parcel courier")
        page.click("#issue-visitor button[type=submit]")
        code = page.inner_text("#visitor-code").replace(" ", "")
        assert len(code) == 10 and page.locator("#visitor-qr svg").count() == 1

        page.goto("/kiosk/")
        for attempt in ("granted", "visitor_used_up"):
            assert wait_for(runtime, lambda: runtime.snapshot().phase == "idle")
            page.click("button[data-way=pin]")
            assert wait_for(runtime, lambda: runtime.snapshot().phase == "claim"), (attempt, runtime.snapshot().phase)
            page.get_by_label("Resident or visitor code").fill(code)  # where a visitor knows to type it
            page.click("#code-form button[type=submit]")
            seen = wait_for(runtime, lambda want=attempt: last_access(runtime).get("reason") == want)
            assert seen, runtime.snapshot()
            assert last_access(runtime).get("method") == "visitor"
            if attempt == "granted":
                page.wait_for_selector("body[data-phase=open]", state="attached")
        page.wait_for_selector("#message:has-text('used up')")

        today = site_today(gctx.clock(), gctx.settings.site.timezone)
        with gctx.transaction() as session:
            tenant = residents.add_resident(session, code="T9", name="Former Tenant", actor="test")
            residents.add_card(session, tenant, "12345679", actor="test")
            validity.set_resident_validity(session, tenant, None, today - timedelta(days=1), actor="test")
        assert wait_for(runtime, lambda: runtime.snapshot().phase == "idle")
        rig.present_card("12345679")
        assert wait_for(runtime, lambda: last_access(runtime).get("reason") == "expired"), runtime.snapshot()
        page.wait_for_selector("#message:has-text('has ended')")

        page.goto("/move-out")
        assert "T9" in page.inner_text("#ended")
        page.click("#ended button")
        assert "T9" not in page.inner_text("#ended")
    finally:
        context.close()
