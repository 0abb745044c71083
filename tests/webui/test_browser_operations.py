"""The operations view in headless Chromium: it follows a forced door and a fire alarm from the simulated
relay board live (server-sent events, no reload), an alarm is acknowledged from the banner, and the
operator pages fit a 390 px phone without sideways scrolling."""

from __future__ import annotations

import pytest

from gate.service.simrig import DOOR_SENSOR, FIRE_ALARM
from gate.store.models import OperatorRole
from tests.webui.conftest import PASSWORD, add_operator
from tests.webui.test_browser import browser, live, sim_gate  # noqa: F401 - the fixtures, shared

pytestmark = pytest.mark.browser
PHONE_PAGES = ["/", "/operations/", "/residents", "/events", "/audit", "/settings", "/site", "/operators",
               "/residents/new"]


def signed_in(browser, live, gctx, viewport):  # noqa: F811 - pytest fixtures passed on
    add_operator(gctx, "alice", OperatorRole.ADMIN)
    context = browser.new_context(base_url=live, viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page


def test_the_operations_view_follows_the_door_live_and_an_alarm_is_acknowledged(browser, live, sim_gate,  # noqa: F811
                                                                                 gctx) -> None:
    rig, runtime = sim_gate
    context, page = signed_in(browser, live, gctx, {"width": 1200, "height": 900})
    try:
        page.goto("/operations/")
        page.wait_for_selector("#door-state.door-locked")
        rig.set_input(DOOR_SENSOR, False)  # the door contact opens with nobody granted: forced
        page.wait_for_selector("#door-state.door-forced")  # pushed by the stream, no reload
        page.wait_for_selector("li.alarm[data-alarm=door_forced]:not(.acknowledged)")
        rig.set_input(FIRE_ALARM, False)  # the fire loop opens: the door is held released
        page.wait_for_selector("li.alarm[data-alarm=fire_alarm]")
        page.wait_for_selector("dd.state.door-forced, dd.state.door-held")
        page.goto("/operations/")  # the banner is part of the page: it shows on the next page loaded
        banner = page.locator("#alarm-banner form", has_text="Fire alarm")
        banner.locator("button").click()
        page.wait_for_selector("li.alarm.acknowledged[data-alarm=fire_alarm]")
        assert page.locator("#alarm-banner form", has_text="Fire alarm").count() == 0
        assert page.locator("#alarm-banner form", has_text="Door forced").count() == 1
        rig.set_input(FIRE_ALARM, True)
        rig.set_input(DOOR_SENSOR, True)
        page.wait_for_selector("#door-state.door-locked")
        page.wait_for_selector("li.none")  # both alarms cleared by their causes
    finally:
        context.close()


def test_operator_pages_fit_a_phone(browser, live, sim_gate, gctx) -> None:  # noqa: F811
    context, page = signed_in(browser, live, gctx, {"width": 390, "height": 844})
    try:
        for path in PHONE_PAGES:
            page.goto(path)
            width = page.evaluate("document.scrollingElement.scrollWidth")
            assert width <= 390, (path, width)
        page.goto("/operations/")
        assert not page.locator("header.top nav").is_visible()  # collapsed behind the menu button
        page.click("label.nav-button")
        assert page.locator("header.top nav").is_visible()
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    finally:
        context.close()
