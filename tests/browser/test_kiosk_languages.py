"""Issue 13 item 1: a visitor who chooses German on a Swedish kiosk sees German on every
screen until the reset: welcome, the form and its errors, the notice, "please ask
reception", the confirmation, "already checked in", check-out and its errors, goodbye and the
invitation screen.

Each screen is checked the same way, so a new screen is covered by walking to it: its
``<html lang>`` is the chosen language, and none of its visible text is a string of the
site-language catalog (Swedish) whose German translation differs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from kiosk.services.demo import DEMO_HOSTS
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).parents[2]
HOST = DEMO_HOSTS[1][0]  # Johan Berg
CHOSEN = "de"
SITE_LANGUAGE = "sv"


@cache
def catalog(locale: str) -> dict[str, str]:
    with (ROOT / f"translations/{locale}/LC_MESSAGES/messages.po").open("rb") as po:
        return {
            str(m.id): str(m.string)
            for m in read_po(po)
            if m.id and isinstance(m.id, str) and m.string
        }


def german(message: str) -> str:
    return catalog(CHOSEN)[message]


@cache
def site_language_giveaways() -> list[str]:
    """Pieces of Swedish that the German screens must not show: each catalog string (its
    longest literal part when it has placeholders) that differs from the German one."""
    giveaways = []
    chosen = catalog(CHOSEN)
    for message, text in catalog(SITE_LANGUAGE).items():
        if chosen.get(message) == text:
            continue
        piece = max(re.split(r"%\(\w+\)[sd]|%[sd]", text), key=len).strip(" .,:;–")
        if len(piece) >= 6 and piece not in chosen.get(message, ""):
            giveaways.append(piece)
    return giveaways


def assert_in_chosen_language(page: Any, screen: str) -> None:
    shot(page, f"language-{CHOSEN}-{screen}")
    assert page.locator("html").get_attribute("lang") == CHOSEN, screen
    visible = page.locator("main").inner_text() + "\n" + page.title()
    swedish = [piece for piece in site_language_giveaways() if piece in visible]
    assert not swedish, f"{screen}: {swedish}"


def submit_and_wait(page: Any, submit: Callable[[], None]) -> None:
    """Submit a form that the server answers with the same screen and its message: wait for
    that answer to load (wait_for_load_state alone returned before the navigation began, and a
    screenshot taken while the page was being replaced timed out)."""
    with page.expect_navigation():
        submit()


def choose_german(page: Any) -> None:
    page.get_by_role("button", name="Deutsch").click()
    page.wait_for_selector(f"html[lang={CHOSEN}]")


def enter_details(page: Any, name: str) -> None:
    page.get_by_label(german("Your name")).fill(name)
    page.get_by_label(german("Whom are you visiting?")).press_sequentially(HOST[:4], delay=30)
    page.get_by_role("option", name=HOST).click()
    page.get_by_role("button", name=german("Continue")).click()


def test_every_kiosk_screen_stays_in_the_chosen_language(kiosk_page: Any):
    # Landscape: the check-in's fields on one screen, so every server screen is reached by
    # the same steps; the guided steps of a portrait screen have a walk of their own (below).
    page = kiosk_page(viewport={"width": 1920, "height": 1080})
    assert page.locator("html").get_attribute("lang") == SITE_LANGUAGE
    choose_german(page)
    assert_in_chosen_language(page, "welcome")

    # The invitation screen, with an unknown code.
    page.get_by_role("link", name=german("I have an invitation")).click()
    page.wait_for_url(re.compile(r"/invitation$"))
    assert_in_chosen_language(page, "invitation")
    page.get_by_label(german("Invitation code")).fill("ZZZZZZ")
    submit_and_wait(page, lambda: page.keyboard.press("Enter"))
    assert_in_chosen_language(page, "invitation-error")
    page.get_by_role("link", name=german("Cancel")).click()
    choose_german(page)

    # The form and its errors, the notice, and declining.
    page.get_by_role("link", name=german("Check in"), exact=True).click()
    page.wait_for_url(re.compile(r"/check-in$"))
    assert_in_chosen_language(page, "check-in")
    submit_and_wait(page, page.get_by_role("button", name=german("Continue")).click)
    assert_in_chosen_language(page, "check-in-errors")
    enter_details(page, "Dora Dreher")
    page.wait_for_url(re.compile(r"/notice$"))
    assert_in_chosen_language(page, "notice")
    page.get_by_role("button", name=german("I don't want to register")).click()
    page.wait_for_url(re.compile(r"/declined$"))
    assert_in_chosen_language(page, "declined")
    page.get_by_role("link", name=german("Back to the start")).click()
    assert page.locator("html").get_attribute("lang") == SITE_LANGUAGE  # the reset

    # Checking in, the confirmation; checking in again: "already checked in".
    choose_german(page)
    page.get_by_role("link", name=german("Check in"), exact=True).click()
    enter_details(page, "Dora Dreher")
    page.get_by_role("button", name=german("I have read this – check me in")).click()
    page.wait_for_url(re.compile(r"/done$"))
    assert_in_chosen_language(page, "done")
    code = page.locator(".badge-code").inner_text().strip()
    page.get_by_role("link", name=german("Done")).click()
    choose_german(page)
    page.get_by_role("link", name=german("Check in"), exact=True).click()
    enter_details(page, "dora  DREHER")
    page.wait_for_url(re.compile(r"/already$"))
    assert_in_chosen_language(page, "already")
    page.get_by_role("link", name=german("Done")).click()

    # Check-out: an unknown code, then the badge's code; goodbye.
    choose_german(page)
    page.get_by_role("link", name=german("Check out"), exact=True).click()
    page.wait_for_url(re.compile(r"/check-out$"))
    assert_in_chosen_language(page, "check-out")
    page.keyboard.type("ZZZZZZ")
    submit_and_wait(page, lambda: page.keyboard.press("Enter"))
    assert_in_chosen_language(page, "check-out-error")
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/goodbye$"))
    assert_in_chosen_language(page, "goodbye")
    page.get_by_role("link", name=german("Done")).click()
    assert page.locator("html").get_attribute("lang") == SITE_LANGUAGE


def test_every_guided_check_in_step_stays_in_the_chosen_language(kiosk_page: Any):
    """Portrait: the check-in one question a screen, each step in the chosen language."""
    page = kiosk_page()
    choose_german(page)
    page.get_by_role("link", name=german("Check in"), exact=True).click()
    page.wait_for_url(re.compile(r"/check-in$"))
    page.get_by_label(german("Your name")).fill("Dora Dreher")
    # In German "Next" and "Continue" are both "Weiter": the form's own submit button.
    submit = page.locator("form.check-in [type=submit][name=submit]")
    for step in range(1, 10):
        assert_in_chosen_language(page, f"check-in-step-{step}")
        ask = page.get_by_label(german("I don't know – please ask reception"))
        if ask.is_visible():
            ask.check()
        if submit.is_visible():
            break
        page.locator(".step-next", has_text=german("Next")).click()
    else:
        pytest.fail("the guided check-in never reached its last step")
    assert step >= 3, step  # name, company, host … one at a time
    submit.click()
    page.wait_for_url(re.compile(r"/notice$"))
    assert_in_chosen_language(page, "notice-after-the-steps")
