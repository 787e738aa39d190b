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


def check_in(page: Any, name: str) -> None:
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[lang=en]")
    page.get_by_role("link", name="Check in", exact=True).click()
    page.get_by_label("Your name").fill(name)
    tap_next_until(page, page.get_by_label("I don't know – please ask reception")).check()
    tap_next_until(page, page.get_by_role("button", name="Continue")).click()
    page.get_by_role("button", name="I have read this – check me in").click()


def log_in(page: Any, server: Any) -> None:
    from kiosk.services.demo import DEMO_ADMIN

    page.goto(f"{server.base}/dashboard/login")
    page.get_by_label("Username").fill(DEMO_ADMIN)
    page.get_by_label("Password").fill(server.admin_password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))


def test_a_print_the_kiosk_browser_refuses_is_reported_to_reception(
    kiosk_page: Any, new_page: Any, server: Any
):
    page = kiosk_page()
    # This kiosk's browser cannot print: print() throws in the badge's frame.
    page.add_init_script("window.print = () => { throw new Error('no printer'); };")
    with page.expect_response(re.compile(r"/badge/print-failed$")) as report:
        check_in(page, "Jam Printer")
    assert report.value.status == 204
    assert report.value.request.method == "POST"
    # The visitor is not told to take a badge that is not there.
    page.wait_for_selector("html[data-badge-printed=false]", state="attached")
    assert page.get_by_text("Please collect your badge at reception.").is_visible()
    assert not page.get_by_text("Your badge is printing").is_visible()

    dashboard = new_page()
    log_in(dashboard, server)
    row = dashboard.get_by_role("row").filter(has_text="Jam Printer")
    assert row.get_by_text("Did not print").is_visible()
    dashboard.get_by_role("link", name="Badge prints").click()
    dashboard.wait_for_url(re.compile(r"/prints"))  # is_visible() does not wait for the page
    prints = dashboard.get_by_role("row").filter(has_text="Jam Printer")
    assert prints.get_by_text("The kiosk's browser could not print it.").is_visible()


def test_without_javascript_the_kiosk_does_not_claim_the_badge_is_printing(
    kiosk_page: Any,
):
    page = kiosk_page(java_script_enabled=False)
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="Check in", exact=True).click()
    page.get_by_label("Your name").fill("No Script")
    page.get_by_label("I don't know – please ask reception").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="I have read this – check me in").click()
    page.wait_for_url(re.compile(r"/done$"))
    assert page.get_by_text("Please collect your badge at reception.").is_visible()
    assert not page.get_by_text("Your badge is printing").is_visible()


def test_reprint_prints_without_leaving_the_dashboard(kiosk_page: Any, new_page: Any, server: Any):
    check_in(kiosk_page(), "Reprint Me")
    dashboard = new_page()
    log_in(dashboard, server)
    before = dashboard.url
    row = dashboard.get_by_role("row").filter(has_text="Reprint Me")
    with dashboard.expect_response(re.compile(r"/dashboard/visits/\d+/badge\.pdf$")) as pdf:
        row.get_by_role("button", name="Reprint badge").click()
    assert pdf.value.status == 200
    dashboard.wait_for_selector("#badge-reprint-status[data-state=dialog]")
    # Still the dashboard, in this tab; the badge went to this browser's print dialog.
    assert dashboard.url == before
    assert dashboard.evaluate("window.__badgePrints") == 1
    assert dashboard.get_by_role("heading", name="On site now").is_visible()
    assert dashboard.get_by_text("The badge is open in this browser's print dialog.").is_visible()


def test_reprint_without_javascript_offers_the_badge_in_a_new_tab(
    kiosk_page: Any, new_page: Any, server: Any
):
    check_in(kiosk_page(), "Plain Reprint")
    dashboard = new_page(java_script_enabled=False)
    log_in(dashboard, server)
    row = dashboard.get_by_role("row").filter(has_text="Plain Reprint")
    row.get_by_role("button", name="Reprint badge").click()
    dashboard.wait_for_selector("h1:has-text('Print the badge')")
    text = dashboard.inner_text("main")
    assert "printing" not in text.lower()
    link = dashboard.get_by_role("link", name="Open the badge (PDF, opens in a new tab)")
    assert link.get_attribute("target") == "_blank"
    with dashboard.context.expect_page() as opened:
        link.click()
    assert opened.value.url.endswith("/badge.pdf")
    assert "/reprint" in dashboard.url  # the dashboard's tab stays where it was
