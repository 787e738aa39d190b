"""Arabic and Hebrew on paper: every PDF we draw (badge, evacuation list, data-subject report)
joins Arabic letters and puts right-to-left text in visual order, through one function.

The expected glyph sequences are written out by hand (Arabic presentation forms, U+FExx, in the
order they stand on the page, left to right), not computed by the libraries under test. The PDF
is read back glyph by glyph (tests/pdf_glyphs.py), so the test sees what a printer prints.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from kiosk.badges.fonts import load_fonts
from kiosk.badges.presets import PRESETS, get_preset
from kiosk.badges.render import BadgeContent, render_badge
from kiosk.badges.shaping import display_text, has_rtl
from kiosk.services.visits import new_badge_token
from tests.pdf_glyphs import drawn_lines

#: محمد علي ("Mohammed Ali"): the first word at the right. Ain initial, lam medial, yeh final;
#: then meem initial, hah medial, meem medial, dal final, each word read right to left.
ARABIC = "محمد علي"
ARABIC_DRAWN = "\ufef2\ufee0\ufecb \ufeaa\ufee4\ufea4\ufee3"
#: عبد الله ("Abdullah"): lam, lam, heh joined, but not as the word ligature U+FDF2, which the
#: badge font does not have (it would print as an empty box).
ABDULLAH = "عبد الله"
ABDULLAH_DRAWN = "\ufeea\ufee0\ufedf\ufe8d \ufeaa\ufe92\ufecb"
#: A Latin name with an Arabic part: the Latin word stays first (left), سلام in the middle with
#: its lam-alef ligature (U+FEFC), the Latin word after it at the right.
MIXED = "Fjord سلام AB"
MIXED_DRAWN = "Fjord \ufee1\ufefc\ufeb3 AB"
#: דוד כהן ("David Cohen"): Hebrew has no joining, only the order: the first word at the right.
HEBREW = "דוד כהן"
HEBREW_DRAWN = "ןהכ דוד"
#: An Arabic-first line with a Latin word: the paragraph is right to left, so Latin goes left.
ARABIC_FIRST = "سلام Smith"
ARABIC_FIRST_DRAWN = "Smith \ufee1\ufefc\ufeb3"


@pytest.mark.parametrize(
    ("text", "drawn"),
    [
        (ARABIC, ARABIC_DRAWN),
        (ABDULLAH, ABDULLAH_DRAWN),
        (MIXED, MIXED_DRAWN),
        (HEBREW, HEBREW_DRAWN),
        (ARABIC_FIRST, ARABIC_FIRST_DRAWN),
        ("Åsa Ødegård", "Åsa Ødegård"),
        ("Ελένη 王秀英 Жукова", "Ελένη 王秀英 Жукова"),
        ("", ""),
    ],
)
def test_display_text_joins_and_orders_right_to_left_text(text: str, drawn: str):
    assert display_text(text) == drawn


def test_only_text_with_right_to_left_letters_is_shaped():
    # The fast path (badge benchmark): most names never reach the shaping libraries.
    assert not has_rtl("Maximiliane Alexandra von Hohenzollern-Sigmaringen")
    assert not has_rtl("Ελένη Παπαδοπούλου 王秀英 김민준")
    for text in ("Ahmed محمد", "דוד", "\ufefc"):
        assert has_rtl(text)


def badge(**fields: Any) -> BadgeContent:
    values: dict[str, Any] = {
        "visitor_name": ARABIC,
        "company": MIXED,
        "host_line": "Visiting " + HEBREW,
        "when": "4 Mar 2026 09:00",
        "site_name": ABDULLAH,
        "short_code": "ABC234",
        "token": new_badge_token(datetime.now(UTC)),
    }
    values.update(fields)
    return BadgeContent(**values)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_badge_draws_arabic_joined_and_right_to_left_text_in_visual_order(preset: str):
    lines = drawn_lines(render_badge(badge(), get_preset(preset)))
    assert ARABIC_DRAWN in lines
    assert MIXED_DRAWN in lines
    assert "Visiting " + HEBREW_DRAWN in lines
    assert ABDULLAH_DRAWN in lines
    # Every glyph drawn is one the badge font has: no empty boxes.
    fonts = load_fonts()
    for line in lines:
        assert all(char == " " or fonts.regular.has(char) for char in line), line


def test_a_wrapped_arabic_name_keeps_its_first_words_on_the_first_line():
    # Lines are broken on the text as typed and each is then ordered: the first words of the
    # name are on the top line, read from its right.
    name = " ".join([ARABIC, ABDULLAH, ARABIC, ABDULLAH])
    lines = drawn_lines(render_badge(badge(visitor_name=name), get_preset("cr80")))
    name_lines = lines[1 : lines.index(MIXED_DRAWN)]
    assert len(name_lines) > 1
    assert name_lines[0].endswith(ARABIC_DRAWN[-4:])  # محمد, the first word, at the right
    assert name_lines[-1].startswith(ABDULLAH_DRAWN[:4])  # الله, the last word, at the left


def test_badge_measures_the_joined_forms():
    # The layout measures what is drawn: a name is centred and fitted by its joined glyphs.
    fonts = load_fonts()
    assert fonts.width(ARABIC, fonts.bold) == pytest.approx(
        sum(fonts.bold.char_width(char) for char in ARABIC_DRAWN)
    )


def test_evacuation_list_draws_names_shaped(
    make_site: Any, make_host: Any, make_visit: Any, staff_client: FlaskClient
):
    site = make_site(name=ABDULLAH)
    host = make_host(site, name=HEBREW)
    make_visit(site, visitor_name=ARABIC, company=MIXED, host_id=host.id)
    response = staff_client.get("/dashboard/evacuation.pdf")
    assert response.status_code == 200
    lines = drawn_lines(response.data)
    for drawn in (ARABIC_DRAWN, MIXED_DRAWN, HEBREW_DRAWN, ABDULLAH_DRAWN):
        assert drawn in lines, (drawn, lines)


def test_access_report_draws_names_shaped(
    make_site: Any, make_host: Any, make_visit: Any, make_staff: Any, login: Any
):
    site = make_site(name=ABDULLAH, retention_days=30)
    officer = login(make_staff(role="privacy", sites=(site,), username="officer"))
    host = make_host(site, name=HEBREW)
    visit = make_visit(site, visitor_name=ARABIC, company=MIXED, host_id=host.id)
    response = officer.post(
        "/dashboard/requests/export.pdf", data={"visit": [str(visit.id)], "language": "en"}
    )
    assert response.status_code == 200
    lines = drawn_lines(response.data)
    for drawn in (ARABIC_DRAWN, MIXED_DRAWN, HEBREW_DRAWN, ABDULLAH_DRAWN):
        assert drawn in lines, (drawn, lines)
    # A sentence around a right-to-left name keeps its own order.
    assert any(line.startswith("Visit to " + ABDULLAH_DRAWN) for line in lines), lines
