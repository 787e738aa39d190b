"""A visitor checks in on the kiosk in a real browser; reception sees them on the dashboard."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from kiosk.services.demo import DEMO_HOSTS
from tests.support import demo_password, kiosk_env, run_kiosk, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).parents[2]


def swedish(message: str) -> str:
    with (ROOT / "translations/sv/LC_MESSAGES/messages.po").open("rb") as po:
        return str(read_po(po)[message].string)


def test_check_in_in_a_browser_then_seen_by_reception(page: Any, tmp_path: Path):
    env = kiosk_env(tmp_path / "instance")
    run_kiosk(["db", "upgrade"], env)
    password = demo_password(run_kiosk(["demo"], env))
    host_name = DEMO_HOSTS[2][0]

    with running_server(env) as base:
        page.goto(base + "/")
        # The demo site speaks Swedish first; the visitor switches to English.
        assert page.locator("html").get_attribute("lang") == "sv"
        assert swedish("Welcome! Please check in.") in page.content()
        page.get_by_role("button", name="English").click()
        page.wait_for_selector("html[lang=en]")

        page.get_by_label("Your name").fill("Björn Ångström")
        page.get_by_label("Company").fill("Fjord Systems")
        page.get_by_label("Whom are you visiting?").select_option(label=host_name)
        page.get_by_text("Read the privacy notice", exact=True).click()
        notice = page.locator(".notice-text")
        notice.wait_for(state="visible")
        assert "Right to object" in notice.inner_text()
        page.get_by_role("button", name="Check in").click()

        page.wait_for_url(re.compile(r"/done$"))
        assert page.get_by_role("heading", name="Welcome, Björn!").is_visible()
        code = page.locator(".badge-code").inner_text()
        assert re.fullmatch(r"[A-Z2-9]{6}", code)
        page.screenshot(path=str(tmp_path / "confirmation.png"))

        # "Back" or a reload never shows the visitor's data to the next one.
        page.reload()
        page.wait_for_url(re.compile(r"/$"))
        assert "Björn" not in page.content()
        assert page.locator("html").get_attribute("lang") == "sv"

        page.goto(base + "/dashboard/")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        row = page.get_by_role("row", name=re.compile("Björn Ångström"))
        assert row.is_visible()
        assert "Fjord Systems" in row.inner_text()
        assert host_name in row.inner_text()
        assert code in row.inner_text()
