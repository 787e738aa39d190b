"""The kiosk's browser prints the badge: after a check-in in Chromium the confirmation page
loads /badge.pdf into its print frame and asks the browser to print it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support import kiosk_env, run_kiosk, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_confirmation_prints_the_badge_pdf(page: Any, tmp_path: Path):
    env = kiosk_env(tmp_path / "instance")
    run_kiosk(["db", "upgrade"], env)
    run_kiosk(["demo"], env)
    with running_server(env) as base:
        page.goto(base + "/")
        page.get_by_role("button", name="English").click()
        page.wait_for_selector("html[lang=en]")
        page.get_by_label("Your name").fill("Zoë Ørsted")
        with page.expect_response(re.compile(r"/badge\.pdf$")) as badge:
            page.get_by_role("button", name="Check in").click()
        response = badge.value
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"
        assert "Your badge is printing" in page.content()
        # The script asked the frame to print (no CSP or framing error stopped it); the
        # page fixture counts print() calls, as headless Chromium cannot print.
        page.wait_for_selector("html[data-badge-printed=true]", state="attached")
        assert page.evaluate("window.__badgePrints") == 1
