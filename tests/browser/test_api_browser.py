"""The API tokens page and the API reference in Debian's Chromium, at the dashboard's size
(1366x768): a token made, shown once and used; the reference drawn by the vendored
swagger-ui under the app's Content-Security-Policy, with nothing fetched from elsewhere."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest

from tests.browser.conftest import assert_accessible, shot
from tests.browser.test_badge_browser import log_in

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}


def _watch(page: Any, base: str) -> tuple[list[str], list[str]]:
    """Console errors (CSP violations are reported there) and requests to other origins."""
    errors: list[str] = []
    foreign: list[str] = []

    def console(message: Any) -> None:
        # Chromium asks every origin for /favicon.ico, which the app does not have.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda response: (
            response.status >= 400 and errors.append(f"{response.status} {response.url}")
        ),
    )
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((base, "data:", "blob:"))
            else foreign.append(request.url)
        ),
    )
    return errors, foreign


def test_token_page_makes_a_token_that_works(server: Any, new_page: Any) -> None:
    page = new_page(viewport=LAPTOP)
    errors, foreign = _watch(page, server.base)
    log_in(page, server)
    page.goto(f"{server.base}/dashboard/admin/api-tokens")
    page.get_by_label("Client name").fill("Facility system")
    page.get_by_label("Demo Office").check()
    page.get_by_label("Access").select_option("read")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token-secret").input_value()
    assert re.fullmatch(r"kiosk_[A-Za-z0-9_\-]{43}", secret)
    shot(page, "dashboard-api-token-created")
    assert_accessible(page, "API tokens, token created")

    request = urllib.request.Request(  # noqa: S310 - our own server on 127.0.0.1
        f"{server.base}/api/v1/sites", headers={"Authorization": f"Bearer {secret}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert [site["name"] for site in json.load(response)["items"]] == ["Demo Office"]

    page.goto(f"{server.base}/dashboard/admin/api-tokens")
    assert secret not in page.content()
    row = page.get_by_role("row", name=re.compile("Facility system"))
    assert "Never" not in row.inner_text()
    shot(page, "dashboard-api-tokens")
    row.get_by_role("button", name="Revoke").click()
    # The revocation posts and the page comes back: inner_text() would read the row of the
    # page before it as readily, expect() waits for the new one.
    from playwright.sync_api import expect

    expect(page.get_by_role("row", name=re.compile("Facility system"))).to_contain_text("Revoked")
    assert not errors, errors
    assert not foreign, foreign


def test_reference_page_renders_under_the_csp(server: Any, new_page: Any) -> None:
    page = new_page(viewport=LAPTOP)
    errors, foreign = _watch(page, server.base)
    response = page.goto(f"{server.base}/api/v1/docs")
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "unsafe" not in csp
    page.wait_for_selector(".opblock-summary", timeout=20_000)
    assert page.get_by_text("kiosk API").first.is_visible()
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/visits/on-site" in [text.replace("\u200b", "") for text in summaries]
    page.locator(".opblock-summary", has_text="/api/v1/hosts/{host_id}").first.click()
    page.wait_for_selector("text=If-Match")
    shot(page, "api-reference")
    assert not errors, errors
    assert not foreign, foreign


def test_token_page_in_german_fits(server: Any, new_page: Any) -> None:
    """The longest of the six languages, with a token in the list."""
    from kiosk.services.demo import DEMO_ADMIN

    page = new_page(viewport=LAPTOP, locale="de-DE")
    page.goto(f"{server.base}/dashboard/login")
    page.locator("input[name=username]").fill(DEMO_ADMIN)
    page.locator("input[name=password]").fill(server.admin_password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    page.goto(f"{server.base}/dashboard/admin/api-tokens")
    page.get_by_label("Name des Clients").fill("Sicherheitsdienst Empfang")
    page.get_by_label("Demo Office").check()
    page.get_by_label("Zugriff").select_option("write")
    page.locator("#personal_data").check()
    page.get_by_role("button", name="Schlüssel erstellen").click()
    assert page.locator("#new-token-secret").input_value().startswith("kiosk_")
    shot(page, "dashboard-api-tokens-de")
    # Nothing sticks out of the page sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
