"""The kiosk's on-screen keyboard in Chromium on a portrait 1080x1920 touchscreen: whole
check-ins typed with taps only in the Swedish, Norwegian and German layouts, the platform
keyboard kept closed, the setting off, a hardware keyboard and a barcode scanner, and the
focused field never under the keys."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kiosk.services.demo import DEMO_HOSTS
from tests.browser.conftest import PORTRAIT, Server, shot
from tests.browser.test_kiosk_browser import database_value

pytestmark = [pytest.mark.browser, pytest.mark.slow]
HOST = DEMO_HOSTS[2][0]  # Maria Nilsson
NAME = "Åsa Øster-Müßig"
#: Keys that type something other than their own name.
SPECIAL = {" ": "{space}"}


def touch_page(kiosk_page: Any) -> Any:
    return kiosk_page(viewport=PORTRAIT, has_touch=True, is_mobile=False)


def key(page: Any, name: str) -> Any:
    return page.locator(f"#osk .hg-button[data-skbtn={quote(name)}]")


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tap_key(page: Any, name: str) -> bool:
    """Tap the key if the keyboard shows it now; say whether it did."""
    found = key(page, name)
    if found.count() == 0:
        return False
    found.first.tap()
    return True


def type_by_touch(page: Any, text: str) -> None:
    """Type ``text`` the way a visitor does: its key, else shifted, else among the accents."""
    for char in text:
        name = SPECIAL.get(char, char)
        if tap_key(page, name):
            continue
        assert tap_key(page, "{shift}"), f"no shift key for {char!r}"
        if tap_key(page, name):
            continue
        tap_key(page, "{shift}")
        assert tap_key(page, "{accents}"), f"no accent key for {char!r}"
        if tap_key(page, name):
            continue
        tap_key(page, "{shift}")
        assert tap_key(page, name), f"{char!r} is on no layer of the keyboard"


def keyboard_box(page: Any) -> Any:
    box = page.locator("#osk").bounding_box()
    assert box is not None
    return box


def assert_field_above_keyboard(page: Any, field: Any) -> None:
    box = field.bounding_box()
    keys = keyboard_box(page)
    assert box["y"] >= 0, box
    assert box["y"] + box["height"] <= keys["y"], (box, keys)


def check_in_by_touch(page: Any, server: Server, layout: str) -> None:
    if layout != "sv":  # the demo site starts in Swedish
        page.locator(f".language-picker button[value={layout}]").tap()
        page.wait_for_selector(f"html[lang={layout}]")
    page.locator("a[href$='/check-in']").first.tap()
    page.wait_for_url(re.compile(r"/check-in$"))

    name = page.locator("input[name=name]")
    name.tap()
    page.locator("#osk").wait_for(state="visible")
    assert_field_above_keyboard(page, name)
    # The layout key names the visitor's language: the keyboard is that language's.
    assert key(page, "{lang}").inner_text() == layout.upper()
    shot(page, f"keyboard-{layout}")
    type_by_touch(page, NAME)
    assert name.input_value() == NAME

    host = page.locator("input[name=host_query]")
    host.tap()
    assert_field_above_keyboard(page, host)
    type_by_touch(page, HOST[:3])
    # The search listens to the input events the keys fire; its matches show above the keys.
    option = page.get_by_role("option", name=HOST)
    option.wait_for()
    option_box = option.bounding_box()
    assert option_box["y"] + option_box["height"] <= keyboard_box(page)["y"]
    shot(page, f"keyboard-{layout}-host-search")
    option.tap()
    assert page.locator("input[name=host_id]").input_value()
    page.locator("#osk").wait_for(state="hidden")

    page.locator("form.check-in [type=submit]").tap()
    page.wait_for_url(re.compile(r"/notice$"))
    page.locator("form [type=submit][name=read]").tap()
    page.wait_for_url(re.compile(r"/done$"))
    saved = database_value(server, "SELECT visitor_name FROM visits ORDER BY id DESC LIMIT 1")
    assert saved == NAME


@pytest.mark.parametrize("layout", ["sv", "nb", "de"])
def test_check_in_typed_on_the_on_screen_keyboard(kiosk_page: Any, server: Server, layout: str):
    page = touch_page(kiosk_page)
    # Touch only from here: no page.keyboard, no fill().
    page.on("console", lambda message: print("console:", message.text))
    check_in_by_touch(page, server, layout)
