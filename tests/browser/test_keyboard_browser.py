"""The kiosk's on-screen keyboard in Chromium on a portrait 1080x1920 touchscreen: whole
check-ins typed with taps only in the Swedish, Norwegian and German layouts, the platform
keyboard kept closed, the setting off, a hardware keyboard and a barcode scanner, and the
focused field never under the keys."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from kiosk.services.demo import DEMO_HOSTS
from tests.browser.conftest import PORTRAIT, Server, assert_accessible, shot, tap_next_until
from tests.browser.test_kiosk_browser import database_value

pytestmark = [pytest.mark.browser, pytest.mark.slow]
HOST = DEMO_HOSTS[2][0]  # Maria Nilsson
NAME = "Åsa Øster-Müßig"
#: Keys that type something other than their own name.
SPECIAL = {" ": "{space}"}


def touch_page(kiosk_page: Any, viewport: Any = PORTRAIT) -> Any:
    """A paired kiosk on a touchscreen; any script error or CSP violation fails the test."""
    page = kiosk_page(viewport=viewport, has_touch=True, is_mobile=False)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: Any) -> None:
        # Chromium asks for /favicon.ico now and then; the kiosk has none.
        where = message.location.get("url", "")
        if message.type == "error" and not where.endswith("/favicon.ico"):
            errors.append(f"{message.text} {where}")

    page.on("console", console)
    page.script_errors = errors
    return page


def database_change(server: Server, sql: str, **params: Any) -> None:
    engine = create_engine(f"sqlite:///{server.instance / 'kiosk.sqlite3'}")
    try:
        with engine.begin() as connection:
            connection.execute(text(sql), params)
    finally:
        engine.dispose()


def set_keyboard(server: Server, on: bool) -> None:
    """The newest kiosk's setting (what an admin sets on the Kiosks page)."""
    database_change(
        server,
        "UPDATE kiosk_devices SET on_screen_keyboard = :on"
        " WHERE id = (SELECT max(id) FROM kiosk_devices)",
        on=on,
    )


def tap_link(page: Any, path: str) -> None:
    page.locator(f"a[href$='{path}']").first.tap()
    page.wait_for_url(re.compile(re.escape(path) + "$"))


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


def tap_next_by_touch_until(page: Any, target: Any) -> Any:
    """The guided check-in (one step a screen in portrait) by touch: tap its Next until
    ``target`` shows, checking on every step that the focused field is above the keys."""
    for _ in range(10):
        if target.is_visible():
            return target
        page.locator(".step-next").tap()
        focused = page.locator("form.check-in .step.current input:focus")
        if focused.count() and page.locator("#osk").is_visible():
            assert_field_above_keyboard(page, focused)
    assert target.is_visible(), "the step never showed"
    return target


def check_in_by_touch(page: Any, server: Server, layout: str) -> None:
    # Each layout checks in the same visitor: the one before has left (else "already here").
    database_change(
        server, "UPDATE visits SET checked_out_at = CURRENT_TIMESTAMP WHERE checked_out_at IS NULL"
    )
    if layout != "sv":  # the demo site starts in Swedish
        page.locator(f".language-picker button[value={layout}]").tap()
        page.wait_for_selector(f"html[lang={layout}]")
    tap_link(page, "/check-in")

    name = page.locator("input[name=name]")
    name.tap()
    page.locator("#osk").wait_for(state="visible")
    assert_field_above_keyboard(page, name)
    # The layout key names the visitor's language: the keyboard is that language's.
    assert key(page, "{lang}").inner_text() == layout.upper()
    shot(page, f"keyboard-{layout}")
    assert_accessible(page, f"check-in with the {layout} keyboard open")
    type_by_touch(page, NAME)
    assert name.input_value() == NAME

    host = tap_next_by_touch_until(page, page.locator("input[name=host_query]"))
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

    tap_next_by_touch_until(page, page.locator("form.check-in [type=submit][name=submit]")).tap()
    page.wait_for_url(re.compile(r"/notice$"))
    page.locator("form [type=submit][name=read]").tap()
    page.wait_for_url(re.compile(r"/done$"))
    assert newest_visitor_name(server) == NAME


def newest_visitor_name(server: Server) -> str:
    """The newest visit's name as the server keeps it (sealed in the database)."""
    from kiosk.models import Visit

    with server.session() as session:
        visit = session.scalars(select(Visit).order_by(Visit.id.desc())).first()
        assert visit is not None
        return visit.visitor_name


@pytest.mark.parametrize("layout", ["sv", "nb", "de"])
def test_check_in_typed_on_the_on_screen_keyboard(kiosk_page: Any, server: Server, layout: str):
    page = touch_page(kiosk_page)
    # Touch only from here: no page.keyboard, no fill().
    check_in_by_touch(page, server, layout)
    assert page.script_errors == []


def test_platform_keyboard_stays_closed_and_the_setting_turns_it_all_off(
    kiosk_page: Any, server: Server
):
    page = touch_page(kiosk_page)
    tap_link(page, "/check-in")
    fields = page.locator("main input[type=text], main input:not([type]), main textarea")
    assert fields.count() >= 3
    # With the keyboard on, no field opens the platform's keyboard too.
    assert set(fields.evaluate_all("els => els.map(e => e.inputMode)")) == {"none"}
    # Nothing covers the screen until a field is tapped.
    assert page.locator("#osk").is_hidden()
    page.locator("input[name=name]").tap()
    assert page.locator("#osk").is_visible()
    type_by_touch(page, "Ab")
    # The company is a later step of the guided check-in (portrait): Next, by touch.
    tap_next_by_touch_until(page, page.locator("input[name=company]")).tap()
    assert page.locator("#osk").is_visible()
    # A hardware keyboard types as well, beside the on-screen one.
    page.keyboard.type("ACME")
    tap_key(page, "{space}")
    type_by_touch(page, "AB")
    assert page.locator("input[name=company]").input_value() == "ACME AB"
    # The hide key closes it; the page gives back the room it took.
    tap_key(page, "{hide}")
    assert page.locator("#osk").is_hidden()
    assert page.evaluate("document.documentElement.classList.contains('osk-open')") is False

    set_keyboard(server, False)
    try:
        page.reload()
        assert page.locator("#osk").count() == 0
        assert page.evaluate("typeof window.SimpleKeyboard") == "undefined"
        page.locator("input[name=name]").tap()
        assert page.locator(".osk, .simple-keyboard").count() == 0
        # The fields are as the form made them: the platform keyboard may open.
        modes = fields.evaluate_all("els => els.map(e => e.getAttribute('inputmode'))")
        assert "none" not in modes
        page.keyboard.type("Hardware Typist")
        assert page.locator("input[name=name]").input_value() == "Hardware Typist"
        shot(page, "keyboard-off")
    finally:
        set_keyboard(server, True)
    assert page.script_errors == []


@pytest.fixture
def checked_in_tokens(server: Server, kiosk_page: Any) -> list[str]:
    """Two visitors checked in (quickly, not by touch); their badge tokens."""
    page = kiosk_page()
    tokens = []
    for name in ("Scanner Visitor", "Typing Visitor"):
        page.goto(server.base + "/check-in")
        page.locator("input[name=name]").fill(name)
        tap_next_until(page, page.locator("input[name=ask_reception]")).check()
        tap_next_until(page, page.locator("form.check-in [type=submit][name=submit]")).click()
        page.locator("form [type=submit][name=read]").click()
        page.wait_for_url(re.compile(r"/done$"))
        # Names are sealed in the database: the visit just made is the newest.
        tokens.append(
            database_value(server, "SELECT badge_token FROM visits ORDER BY id DESC LIMIT 1")
        )
        page.goto(server.base + "/reset")
    return tokens


def test_scanner_and_on_screen_keys_both_check_out(
    kiosk_page: Any, server: Server, checked_in_tokens: list[str]
):
    scanned, typed = checked_in_tokens
    page = touch_page(kiosk_page)
    # A screen without a text field (the welcome) loads no keyboard library or styles.
    page.wait_for_load_state("networkidle")
    assert page.evaluate("typeof window.SimpleKeyboard") == "undefined"
    assert page.locator("link[href*=keyboard]").count() == 0
    tap_link(page, "/check-out")
    # The scan field has the focus for a scanner, and the keys open with it: the screen's one
    # task is the code, and a visitor with no scanner saw no way to type it (a touchscreen
    # review: the keys were a tap on the field away).
    assert page.evaluate("document.activeElement.name") == "code"
    page.locator("#osk").wait_for(state="visible")
    assert_field_above_keyboard(page, page.locator("input[name=code]"))
    # A USB barcode scanner is a keyboard: fast keystrokes, then Enter; the keys being open
    # changes nothing.
    page.keyboard.type(scanned, delay=5)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/goodbye$"))
    assert database_value(
        server, "SELECT checked_out_at FROM visits WHERE badge_token = :t", t=scanned
    )

    # The printed badge code typed with the keys: capitals by default, then the Enter key.
    code = database_value(server, "SELECT short_code FROM visits WHERE badge_token = :t", t=typed)
    page.goto(server.base + "/reset")
    tap_link(page, "/check-out")
    field = page.locator("input[name=code]")
    page.locator("#osk").wait_for(state="visible")  # no tap on the field needed
    assert_field_above_keyboard(page, field)
    assert key(page, "Q").count() == 1
    assert key(page, "1").count() == 1
    shot(page, "keyboard-check-out-code")
    type_by_touch(page, code)
    assert field.input_value() == code
    tap_key(page, "{enter}")
    page.wait_for_url(re.compile(r"/goodbye$"))
    assert database_value(
        server, "SELECT checked_out_at FROM visits WHERE badge_token = :t", t=typed
    )
    assert page.script_errors == []


@pytest.mark.parametrize("reach", [False, True], ids=["default", "within-reach"])
@pytest.mark.parametrize(
    "viewport",
    [PORTRAIT, {"width": 1920, "height": 1080}, {"width": 800, "height": 1280}],
    ids=["portrait", "landscape", "tablet"],
)
def test_a_code_screen_with_its_keys_open_shows_the_field_and_its_button(
    kiosk_page: Any, viewport: Any, reach: bool
):
    """The check-out screen opens its keys with it: the field and the Check out button stay
    above them at each kiosk size, "within reach" (the screen's content lowered) too."""
    page = touch_page(kiosk_page, viewport)
    if reach:
        page.get_by_role("button", name="Inom räckhåll").tap()
    tap_link(page, "/check-out")
    page.locator("#osk .hg-button").first.wait_for()
    field = page.locator("input[name=code]")
    assert_field_above_keyboard(page, field)
    submit = page.locator("form.scan-form [type=submit]").bounding_box()
    assert submit["y"] >= 0, submit
    assert submit["y"] + submit["height"] <= keyboard_box(page)["y"], submit
    size = f"{viewport['width']}x{viewport['height']}"
    shot(page, f"keyboard-check-out-{size}-{'reach' if reach else 'default'}")
    assert page.script_errors == []


@pytest.mark.parametrize("slow", ["keyboard.css", "simple-keyboard.css", "simple-keyboard.js"])
def test_the_keys_opened_with_a_code_screen_wait_for_their_styles(kiosk_page: Any, slow: str):
    """The code screen opens the keys with its field: drawn before their styles had loaded,
    they were a column of buttons thousands of pixels tall, the field was scrolled above them
    and stayed off the screen once the styles came (CI, once, on a busy machine). Whichever
    of the three files comes last, the field stays in sight."""
    import time

    page = touch_page(kiosk_page)

    def late(route: Any) -> None:
        time.sleep(0.6)
        route.continue_()

    page.route(f"**/{slow}*", late)
    tap_link(page, "/check-out")
    page.locator("#osk .hg-button").first.wait_for()
    page.wait_for_load_state("networkidle")
    field = page.locator("input[name=code]")
    assert_field_above_keyboard(page, field)
    assert page.evaluate("window.scrollY") < 400
    assert page.script_errors == []


@pytest.mark.parametrize(
    "viewport",
    [
        PORTRAIT,
        {"width": 1920, "height": 1080},
        {"width": 800, "height": 1280},
        {"width": 1366, "height": 768},
    ],
    ids=["portrait", "landscape", "tablet", "laptop"],
)
def test_the_focused_field_is_never_under_the_keyboard(kiosk_page: Any, viewport: Any):
    page = touch_page(kiosk_page, viewport)
    tap_link(page, "/check-in")
    names = page.locator("main input[type=text]").evaluate_all("els => els.map(e => e.name)")
    assert len(names) >= 3
    previous = ""
    for name in [*names, *reversed(names)]:
        # Each field tapped where the page shows it, with the keyboard closed: the keyboard
        # then opens over the lower half and must move the field up above it.
        if page.locator("#osk").is_visible():
            tap_key(page, "{hide}")
            page.locator("#osk").wait_for(state="hidden")
        field = page.locator(f"input[name={name}]")
        # The guided check-in (portrait) shows one step at a time: Next on the way down,
        # Back on the way up, tapped like the rest.
        for _ in range(10):
            if field.is_visible():
                break
            going_down = names.index(name) > names.index(previous) if previous else True
            page.locator(".step-next" if going_down else ".step-back").tap()
            if page.locator("#osk").is_visible():
                tap_key(page, "{hide}")
                page.locator("#osk").wait_for(state="hidden")
        field.tap()
        page.locator("#osk").wait_for(state="visible")
        assert_field_above_keyboard(page, field)
        type_by_touch(page, "Ab")
        assert_field_above_keyboard(page, field)
        if name == "host_query":
            # Nobody is called "Ab" (Next would wait, saying so): a host is chosen instead.
            field.fill("")
            type_by_touch(page, "Ma")
            page.get_by_role("option", name="Maria Nilsson").tap()
            page.locator("#osk").wait_for(state="hidden")  # no field has the focus
        previous = name
    # The keys are big enough to hit on a touchscreen.
    heights = page.locator("#osk .hg-button").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert min(heights) >= (60 if viewport == PORTRAIT else 44), heights
    # The Enter key goes on to the next field, as a visitor expects, and that one shows too.
    tap_key(page, "{hide}")
    page.evaluate("window.scrollTo(0, 0)")
    page.locator(f"input[name={names[0]}]").tap()
    for name in names[1:]:
        tap_key(page, "{enter}")
        assert page.evaluate("document.activeElement.name") == name
        assert_field_above_keyboard(page, page.locator(f"input[name={name}]"))
    # While typing the language choice gives its room to the form: on the landscape
    # touchscreen, every field on one screen, the form's own buttons stay above the keys too
    # (on a 1366x768 laptop the form scrolls to them).
    assert not page.locator(".kiosk-footer").is_visible()
    if viewport == {"width": 1920, "height": 1080}:
        submit = page.locator("form.check-in [type=submit][name=submit]").bounding_box()
        assert submit["y"] + submit["height"] <= keyboard_box(page)["y"], submit
    shot(page, f"keyboard-{viewport['width']}x{viewport['height']}")
    tap_key(page, "{hide}")
    assert page.locator(".kiosk-footer").is_visible()
    assert page.script_errors == []


def test_accents_layout_switch_email_and_phone_layouts(kiosk_page: Any, server: Server):
    database_change(server, "UPDATE sites SET field_email = 'optional', field_phone = 'optional'")
    try:
        page = touch_page(kiosk_page)
        tap_link(page, "/check-in")
        name = page.locator("input[name=name]")
        name.tap()
        # The layout key goes through the six layouts, from the visitor's language.
        seen = [key(page, "{lang}").inner_text()]
        for _ in range(6):
            tap_key(page, "{lang}")
            seen.append(key(page, "{lang}").inner_text())
        assert seen == ["SV", "FI", "NB", "DA", "DE", "EN", "SV"]
        # Danish and Norwegian keep their own order of æ and ø.
        tap_key(page, "{lang}")
        tap_key(page, "{lang}")
        tap_key(page, "{lang}")
        row = page.locator("#osk .hg-row").nth(2).inner_text().split()
        assert row[-3:-1] == ["Æ", "Ø"], row  # Danish, shifted for a name's first letter
        tap_key(page, "{accents}")
        shot(page, "keyboard-accents")
        for letter in "ÉÈÊÑÇŁØÅÜ":
            assert key(page, letter).count() == 1, letter
        tap_key(page, "{shift}")
        type_by_touch(page, "ñ")
        # One accented letter, then back to the letters.
        assert key(page, "{accents}").count() == 1
        type_by_touch(page, "éłç")
        assert name.input_value() == "ñéłç"

        # The demo site asks whom the visitor sees: "ask reception", tapped, lets the flow on.
        tap_next_by_touch_until(page, page.locator("input[name=ask_reception]")).tap()
        email = tap_next_by_touch_until(page, page.locator("input[name=email]"))
        email.tap()
        assert_field_above_keyboard(page, email)
        for needed in ("@", ".com", "gmail.com", ".dk"):  # the Danish layout, chosen above
            assert key(page, needed).count() == 1, needed
        shot(page, "keyboard-email")
        type_by_touch(page, "asa")
        tap_key(page, "gmail.com")
        assert email.input_value() == "asa@gmail.com"
        # The same events a typed address fires (what page scripts listen to).
        assert email.evaluate("e => e.inputMode") == "none"

        phone = tap_next_by_touch_until(page, page.locator("input[name=phone]"))
        phone.tap()
        assert_field_above_keyboard(page, phone)
        assert key(page, "q").count() == 0
        shot(page, "keyboard-phone")
        type_by_touch(page, "+46 70-123")
        tap_key(page, "{bksp}")
        assert phone.input_value() == "+46 70-12"
        assert page.script_errors == []
    finally:
        database_change(server, "UPDATE sites SET field_email = 'hidden', field_phone = 'hidden'")


def test_pairing_code_typed_on_the_keyboard(server: Server, new_page: Any):
    # A touchscreen being set up has no keyboard either: the pairing screen has this one.
    page = new_page(viewport=PORTRAIT, has_touch=True)
    page.goto(server.base + "/pair")
    field = page.locator("input[name=code]")
    field.tap()
    assert_field_above_keyboard(page, field)
    type_by_touch(page, server.new_pairing_code())
    tap_key(page, "{enter}")
    page.wait_for_url(server.base + "/")
    # The new kiosk has the keyboard on, as every new kiosk does (the welcome screen has no
    # text field, so it shows on the first screen that has one).
    assert page.locator("#osk").count() == 0
    page.goto(server.base + "/check-in")
    assert page.locator("#osk").count() == 1


def test_the_library_keeps_no_copy_of_what_is_typed(kiosk_page: Any):
    page = touch_page(kiosk_page)
    tap_link(page, "/check-in")
    page.locator("input[name=name]").tap()
    type_by_touch(page, "Secret Name")
    kept = page.evaluate(
        "Object.values(window.SimpleKeyboardInstances || {})"
        ".map(k => Object.values(k.getAllInputs()).join('')).join('')"
    )
    assert kept == ""
    assert page.script_errors == []


def test_typing_past_the_fields_end_keeps_the_caret_in_sight(kiosk_page: Any):
    """A value set from script leaves the field scrolled where it was: the letters of a long
    name went on out of sight while the visitor typed them (an outside review)."""
    page = touch_page(kiosk_page)
    tap_link(page, "/check-in")
    field = page.locator("input[name=name]")
    field.tap()
    type_by_touch(page, "Maximiliane Donaudampfschiff Lindqvist Oberg Karlsson")
    scrolled = field.evaluate("f => [f.scrollLeft, f.scrollWidth - f.clientWidth]")
    assert scrolled[1] > 0, "the name fits the field: make it longer"
    assert scrolled[0] >= scrolled[1] - 2
    assert page.script_errors == []


def long_press(page: Any, locator: Any, milliseconds: int = 800) -> None:
    """Hold a finger on ``locator``: real touch events through Chromium's input pipeline."""
    box = locator.bounding_box()
    point = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
        page.wait_for_timeout(milliseconds)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


@pytest.mark.parametrize(
    "viewport", [PORTRAIT, {"width": 1366, "height": 768}], ids=["portrait", "laptop"]
)
def test_long_press_offers_a_letters_variants(kiosk_page: Any, viewport: Any):
    page = touch_page(kiosk_page, viewport)
    tap_link(page, "/check-in")
    name = page.locator("input[name=name]")
    name.tap()
    page.locator("#osk").wait_for(state="visible")
    # The name's first letter is a capital: held, E offers its capital variants.
    long_press(page, key(page, "E"))
    variants = page.locator("#osk .osk-variants")
    variants.wait_for()
    letters = variants.locator(".osk-variant").all_inner_texts()
    assert letters[:4] == ["É", "È", "Ê", "Ë"], letters
    # Large touch targets, larger than the keys, all on the screen and above the held key.
    plain = key(page, "r").bounding_box()
    for choice in variants.locator(".osk-variant").all():
        box = choice.bounding_box()
        assert box["height"] >= plain["height"], box
        assert box["width"] >= 60, box
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= viewport["width"], box
    assert variants.bounding_box()["y"] + variants.bounding_box()["height"] <= plain["y"]
    shot(page, f"keyboard-long-press-{viewport['width']}x{viewport['height']}")
    assert_accessible(page, "a letter's variants open")
    variants.locator(".osk-variant", has_text="É").tap()
    assert variants.count() == 0
    # The held letter becomes the one chosen; the next letter is small again.
    assert name.input_value() == "É"
    type_by_touch(page, "mil")
    long_press(page, key(page, "n"))
    page.locator("#osk .osk-variant", has_text="ñ").tap()
    long_press(page, key(page, "l"))
    page.locator("#osk .osk-variant", has_text="ł").tap()
    assert name.input_value() == "Émilñł"
    # A tap elsewhere closes the variants and keeps the letter typed.
    long_press(page, key(page, "c"))
    page.locator("#osk .osk-variants").wait_for()
    tap_key(page, "a")
    assert page.locator("#osk .osk-variants").count() == 0
    assert name.input_value() == "Émilñłca"
    # A short tap types the letter and opens nothing.
    tap_key(page, "e")
    page.wait_for_timeout(700)
    assert page.locator("#osk .osk-variants").count() == 0
    assert name.input_value() == "Émilñłcae"
    assert page.script_errors == []


def test_email_keys_offer_the_sites_own_domain_first(kiosk_page: Any, server: Server):
    # Four of the demo site's five hosts have their addresses at the site's own domain.
    database_change(server, "UPDATE sites SET field_email = 'optional'")
    database_change(
        server,
        "UPDATE hosts SET email = replace(email, '@example.com', '@nordvik.se') WHERE name <> :n",
        n=DEMO_HOSTS[4][0],
    )
    try:
        page = touch_page(kiosk_page)
        tap_link(page, "/check-in")
        page.locator("input[name=name]").tap()
        type_by_touch(page, "Ola")
        tap_next_by_touch_until(page, page.locator("input[name=ask_reception]")).tap()
        email = tap_next_by_touch_until(page, page.locator("input[name=email]"))
        email.tap()
        first_row = page.locator("#osk .hg-row").first.locator(".hg-button")
        names = [button.get_attribute("data-skbtn") for button in first_row.all()]
        assert names == ["nordvik.se", "example.com", "gmail.com", "outlook.com", ".se"]
        shot(page, "keyboard-email-site-domains")
        type_by_touch(page, "ola")
        tap_key(page, "nordvik.se")
        assert email.input_value() == "ola@nordvik.se"
        assert page.script_errors == []
    finally:
        database_change(
            server, "UPDATE hosts SET email = replace(email, '@nordvik.se', '@example.com')"
        )
        database_change(server, "UPDATE sites SET field_email = 'hidden'")
