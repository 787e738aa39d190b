"""The kiosk's browser prints the badge: after a check-in in Chromium the confirmation page
loads /badge.pdf into its print frame and asks the browser to print it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import tap_next_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_confirmation_prints_the_badge_pdf(kiosk_page: Any):
    page = kiosk_page()
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[lang=en]")
    page.get_by_role("link", name="Check in", exact=True).click()
    page.get_by_label("Your name").fill("Zoë Ørsted")
    tap_next_until(page, page.get_by_label("I don't know – please ask reception")).check()
    tap_next_until(page, page.get_by_role("button", name="Continue")).click()
    with page.expect_response(re.compile(r"/badge\.pdf$")) as badge:
        page.get_by_role("button", name="I have read this – check me in").click()
    response = badge.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "Your badge is printing" in page.content()
    # The script asked the frame to print (no CSP or framing error stopped it); the page
    # fixtures count print() calls, as headless Chromium cannot print.
    page.wait_for_selector("html[data-badge-printed=true]", state="attached")
    assert page.evaluate("window.__badgePrints") == 1
    # Back at the start, the next visitor's browser cannot fetch this badge any more.
    page.get_by_role("link", name="Done").click()
    assert page.request.get(page.url + "badge.pdf").status == 404
