"""The badge PDF: every preset's QR code decodes to the token, names of any script fit, fonts
are embedded with fallbacks, and no input can break the renderer."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportlab.pdfbase import pdfmetrics

from kiosk.badges.fonts import BUNDLED_REGULAR, DEFAULT_REGULAR, load_fonts
from kiosk.badges.presets import PRESETS, BadgePreset, get_preset
from kiosk.badges.render import (
    BadgeContent,
    Box,
    fit_block,
    layout_badge,
    render_badge,
)
from kiosk.badges.shaping import display_text
from kiosk.forms import collapse_spaces, is_plain_text, normalise_text
from kiosk.services.visits import new_badge_token
from tests.support import decode_qr_codes, pdf_text, pdf_to_image, require_file, require_tool

DROID = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
NANUM = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"

EPSILON = 0.01


def content(**fields: object) -> BadgeContent:
    values: dict[str, object] = {
        "visitor_name": "Åsa Ødegård",
        "company": "Fjord Systems AB",
        "host_line": "Visiting Hanna Host",
        "when": "4 Mar 2026 09:00",
        "site_name": "Head Office",
        "short_code": "ABC234",
        "token": new_badge_token(datetime.now(UTC)),
    }
    values.update(fields)
    return BadgeContent(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_qr_decodes_to_exactly_the_token_for_every_preset(preset: str, tmp_path: Path):
    badge = content(visitor_name="Ελένη Παπαδοπούλου-Жукова")
    pdf = render_badge(badge, get_preset(preset))
    # A label printer's resolution (203-300 dpi) and a coarse one: vectors stay sharp.
    for dpi in (300, 150):
        assert decode_qr_codes(pdf_to_image(pdf, tmp_path, dpi=dpi)) == [badge.token]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_page_size_matches_the_preset(preset: str, tmp_path: Path):
    pdfinfo = require_tool("pdfinfo", "poppler-utils")
    source = tmp_path / "badge.pdf"
    source.write_bytes(render_badge(content(), get_preset(preset)))
    info = subprocess.run([pdfinfo, str(source)], capture_output=True, text=True, check=True).stdout
    size = next(line for line in info.splitlines() if line.startswith("Page size:"))
    width, height = (float(v) for v in size.split()[2:5:2])
    expected = get_preset(preset).page_size
    assert (width, height) == pytest.approx(expected, abs=0.5)
    # The metadata names no one: a PDF can outlive the visit in a spool or a download folder.
    assert "Title:           Visitor badge" in info
    assert "Åsa" not in info


def test_badge_text_is_real_text_in_an_embedded_font(tmp_path: Path):
    pdffonts = require_tool("pdffonts", "poppler-utils")
    require_file(DEFAULT_REGULAR, "fonts-dejavu-core")
    badge = content(visitor_name="Åsa Ελένη Жукова", company="Ωmega ООО")
    pdf = render_badge(badge, get_preset("brother-62x100"))
    text = " ".join(pdf_text(pdf, tmp_path).split())
    for expected in ("Åsa", "Ελένη", "Жукова", "Ωmega ООО", "Visiting Hanna Host", "ABC234"):
        assert expected in text
    assert badge.token not in text  # the token is only in the QR code
    source = tmp_path / "fonts.pdf"
    source.write_bytes(pdf)
    fonts = subprocess.run([pdffonts, str(source)], capture_output=True, text=True).stdout
    dejavu = [line for line in fonts.splitlines() if "DejaVuSans" in line]
    assert dejavu, fonts
    assert all(" yes " in line for line in dejavu)  # embedded (subset)


def test_cached_subsets_are_the_bytes_reportlab_makes_and_are_reused(tmp_path: Path):
    """Each font's subset is cut out and compressed once per process (kiosk.badges.fonts.
    _CachedSubsets): the PDF is byte for byte what reportlab's own face writes; a badge whose
    text is ASCII and the seeded letters reuses the subsets; another character is still drawn."""
    from reportlab.pdfbase.ttfonts import TTFontFace

    from kiosk.badges import fonts as badge_fonts

    require_file(DEFAULT_REGULAR, "fonts-dejavu-core")
    preset = get_preset("brother-62x100")
    faces = [
        pdfmetrics.getFont(face.name).face for face in (load_fonts().regular, load_fonts().bold)
    ]
    badge = content(visitor_name="Åsa Öberg-Ærø", company="Fjärran Oy")
    cached = render_badge(badge, preset)
    for face in faces:
        face.__class__ = TTFontFace
    try:
        plain = render_badge(badge, preset)
    finally:
        for face in faces:
            face.__class__ = badge_fonts._CachedSubsets
    assert cached == plain

    made = badge_fonts._subset_bytes.cache_info().misses
    compressed = badge_fonts._compressed_subset.cache_info().misses
    for name in ("Örjan Ekström", "Émile Dubois", "Nils Ødegård", "Jürgen Groß", "Al Li"):
        render_badge(content(visitor_name=name, company="Fjärran Oy"), preset)
    assert badge_fonts._subset_bytes.cache_info().misses == made
    assert badge_fonts._compressed_subset.cache_info().misses == compressed

    # A letter outside the seed makes a subset of its own, and prints.
    pdf = render_badge(content(visitor_name="Łukasz Żółć"), preset)
    assert badge_fonts._subset_bytes.cache_info().misses > made
    assert "Łukasz Żółć" in " ".join(pdf_text(pdf, tmp_path).split())


def test_the_fixed_qr_mask_decodes_for_any_token(tmp_path: Path):
    # The mask is fixed rather than searched per token (kiosk.badges.render.QR_MASK_PATTERN):
    # the codes of many random tokens must all read, at a coarse resolution.
    badges = [content() for _ in range(12)]
    for badge in badges:
        pdf = render_badge(badge, get_preset("cr80"))
        assert decode_qr_codes(pdf_to_image(pdf, tmp_path, dpi=150)) == [badge.token]


def test_qr_code_is_vector_not_an_image():
    pdf = render_badge(content(), get_preset("brother-62x100"))
    assert b"/Subtype /Image" not in pdf


def test_cjk_uses_the_fallback_fonts_and_arabic_the_main_one(tmp_path: Path):
    pdffonts = require_tool("pdffonts", "poppler-utils")
    require_file(DEFAULT_REGULAR, "fonts-dejavu-core")
    require_file(DROID, "fonts-droid-fallback")
    require_file(NANUM, "fonts-nanum")
    fonts = load_fonts()
    assert [face.path for face in fonts.fallbacks] == [DROID, NANUM]
    pdf = render_badge(content(visitor_name="王小明 김민준 Åsa محمد"), get_preset("cr80"), fonts)
    text = pdf_text(pdf, tmp_path)
    assert "王小明" in text
    assert "김민준" in text
    source = tmp_path / "fallback.pdf"
    source.write_bytes(pdf)
    embedded = subprocess.run([pdffonts, str(source)], capture_output=True, text=True).stdout
    assert {"DejaVuSans", "DroidSansFallback", "NanumGothic"} <= set(
        re.findall(r"\+(\w+)", embedded)
    )
    assert all(fonts.regular.has(char) for char in "محمد")
    assert [face for face, _run in fonts.runs("王 Åsa", fonts.regular)] == [
        fonts.fallbacks[0],
        fonts.regular,
    ]


def test_no_fallback_font_still_gives_a_badge(tmp_path: Path):
    fonts = load_fonts(fallbacks=())
    badge = content(visitor_name="王小明 محمد Åsa")
    pdf = render_badge(badge, get_preset("brother-62x100"), fonts)
    assert pdf.startswith(b"%PDF")
    assert decode_qr_codes(pdf_to_image(pdf, tmp_path)) == [badge.token]


def test_missing_main_font_falls_back_to_reportlabs_own(tmp_path: Path):
    fonts = load_fonts(str(tmp_path / "missing.ttf"), str(tmp_path / "missing-bold.ttf"), ())
    assert fonts.regular.path == BUNDLED_REGULAR
    assert render_badge(content(), get_preset("a4"), fonts).startswith(b"%PDF")


def test_short_name_is_large_and_long_name_shrinks_or_wraps():
    preset = get_preset("brother-62x100")
    fonts = load_fonts()
    short = layout_badge(content(visitor_name="Bo Ek"), preset, fonts)
    long_name = "Maximiliane Alexandra von Hohenzollern-Sigmaringen Wittelsbach"
    long = layout_badge(content(visitor_name=long_name), preset, fonts)
    short_size = max(line.size for line in short.lines if line.role == "name")
    long_lines = [line for line in long.lines if line.role == "name"]
    assert short_size == preset.name_max_pt
    assert max(line.size for line in long_lines) < preset.name_max_pt
    drawn = "".join(
        line.text if line.text.endswith("-") else line.text + " " for line in long_lines
    )
    assert drawn.split() == long_name.split()  # all of it, wrapped, nothing cut
    # Wrapping breaks after the hyphen of a double-barrelled name, not inside a word.
    fitted = fit_block(
        "Hohenzollern-Sigmaringen",
        fonts,
        fonts.bold,
        width=100,
        height=200,
        max_size=20,
        min_size=8,
        max_lines=3,
    )
    assert fitted.lines == ["Hohenzollern-", "Sigmaringen"]


def test_a_name_too_long_for_any_size_ends_in_an_ellipsis():
    fonts = load_fonts()
    fitted = fit_block(
        "W" * 200, fonts, fonts.bold, width=100, height=30, max_size=20, min_size=9, max_lines=2
    )
    assert fitted.size == 9
    assert len(fitted.lines) <= 2
    assert fitted.lines[-1].endswith("…")
    assert all(fonts.width(line, fonts.bold) * 9 <= 100 + EPSILON for line in fitted.lines)


def test_right_to_left_words_are_drawn_in_reading_order():
    # Hebrew needs only the order; Arabic is also joined (tests/test_rtl_text.py).
    assert display_text("Ahmed שלום") == "Ahmed " + "שלום"[::-1]
    assert display_text("שלום") == "םולש"
    assert display_text("Åsa Ødegård") == "Åsa Ødegård"


def test_band_text_reads_on_light_and_dark_colours():
    fonts = load_fonts()
    preset = get_preset("cr80")
    dark = layout_badge(content(band_colour="#102030"), preset, fonts)
    light = layout_badge(content(band_colour="#F5C400"), preset, fonts)
    assert dark.lines[0].colour.rgb() == (1, 1, 1)
    assert light.lines[0].colour.rgb() == (0, 0, 0)
    # A colour that is not one falls back to the default instead of failing.
    assert layout_badge(content(band_colour="red; drop"), preset, fonts).band_colour


def test_logo_is_drawn_when_set():
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (200, 80), (200, 30, 30)).save(picture, "PNG")
    for preset in PRESETS.values():
        layout = layout_badge(content(logo=picture.getvalue()), preset)
        assert layout.logo is not None
        pdf = render_badge(content(logo=picture.getvalue()), preset)
        assert b"/Subtype /Image" in pdf


def _transparent_logo_with_a_dark_right_half() -> bytes:
    from PIL import Image, ImageDraw

    picture = Image.new("RGBA", (600, 300), (0, 0, 0, 0))
    ImageDraw.Draw(picture).rectangle((300, 0, 599, 299), fill=(20, 40, 120, 255))
    return _stored_logo(picture)


def _stored_logo(picture: Any) -> bytes:
    """``picture`` uploaded as a PNG, as the badge settings store it."""
    from kiosk.badges.settings import prepare_logo

    stored = io.BytesIO()
    picture.save(stored, "PNG")
    return prepare_logo(stored.getvalue())


def test_a_logo_goes_in_at_the_printers_resolution_once_made():
    """The stored logo (up to 600 x 300) scaled to its box at 300 dpi and embedded as a JPEG,
    whose bytes reportlab copies: a PNG's pixels it compresses again for every badge (a
    badge with a logo took 4.6x one without; bench/README.md, "A badge with a logo")."""
    logo = _transparent_logo_with_a_dark_right_half()
    for preset in PRESETS.values():
        layout = layout_badge(content(logo=logo), preset)
        assert layout.logo is not None
        pdf = render_badge(content(logo=logo), preset)
        image = re.search(rb"<<[^>]*/Subtype /Image[^>]*>>", pdf)
        assert image is not None, preset.key
        assert b"/DCTDecode" in image[0]
        width = re.search(rb"/Width (\d+)", image[0])
        height = re.search(rb"/Height (\d+)", image[0])
        assert width
        assert height
        at_300_dpi = (layout.logo.width / 72 * 300, layout.logo.height / 72 * 300)
        assert int(width[1]) <= min(600, at_300_dpi[0] + 32), preset.key
        assert int(height[1]) <= min(300, at_300_dpi[1] + 32), preset.key


def test_a_badge_never_decodes_its_prepared_logo(monkeypatch: pytest.MonkeyPatch):
    """Reportlab names an ImageReader's image by an MD5 of its decoded pixels on every badge;
    the prepared JPEG is named by its bytes' digest, and its pixels are never decoded. Two
    logos in one process stay two images."""
    from kiosk.badges import render as badge_render

    monkeypatch.setattr(badge_render, "_LOGO_CACHE", type(badge_render._LOGO_CACHE)())
    decoded: list[tuple[int, int]] = []
    tobytes = badge_render.PILImage.Image.tobytes

    def recorded(image: Any, *args: Any, **kwargs: Any) -> bytes:
        decoded.append(image.size)
        return tobytes(image, *args, **kwargs)

    monkeypatch.setattr(badge_render.PILImage.Image, "tobytes", recorded)
    preset = PRESETS["a4"]
    first = _transparent_logo_with_a_dark_right_half()
    second = _logo_of_colour("#c01c28")
    pdfs = [render_badge(content(logo=logo), preset) for logo in (first, first, second)]
    assert decoded == []
    names = [re.findall(rb"/(FormXob\.[a-f0-9]+) \d+ 0 R", pdf) for pdf in pdfs]
    assert names[0] == names[1] != names[2], names
    assert all(len(found) == 1 for found in names)


def _logo_of_colour(colour: str) -> bytes:
    from PIL import Image

    return _stored_logo(Image.new("RGBA", (400, 200), colour))


def test_a_logos_transparent_part_prints_as_the_badges_white(tmp_path: Path):
    from PIL import Image

    logo = _transparent_logo_with_a_dark_right_half()
    preset = get_preset("brother-62x100")
    box = layout_badge(content(logo=logo), preset).logo
    assert box is not None
    dpi = 200
    rendered = pdf_to_image(render_badge(content(logo=logo), preset), tmp_path, dpi=dpi)
    with Image.open(rendered) as opened:
        page = opened.convert("L")
    # The logo fills its box's width or height, centred (preserveAspectRatio, anchor c).
    scale = min(box.width / 600, box.height / 300)
    left = box.x + (box.width - 600 * scale) / 2
    middle = round(page.height - (box.y + box.height / 2) / 72 * dpi)

    def shade(x: float) -> int:
        value = page.getpixel((round(x / 72 * dpi), middle))
        assert isinstance(value, int)
        return value

    assert shade(left + 150 * scale) >= 245  # transparent: the badge's white, never black
    assert shade(left + 450 * scale) <= 120  # the dark half


def inside(line_box: Box, outer: Box) -> bool:
    return (
        line_box.x >= outer.x - EPSILON
        and line_box.right <= outer.right + EPSILON
        and line_box.y >= outer.y - EPSILON
        and line_box.top <= outer.top + EPSILON
    )


def overlaps(a: Box, b: Box) -> bool:
    return a.x < b.right and b.x < a.right and a.y < b.top and b.y < a.top


#: What the check-in form accepts: any text without control or direction-override characters,
#: normalised (NFC, outer spaces), 1-200 characters, inner spaces collapsed as when stored.
accepted_text = (
    st.text(max_size=220)
    .map(lambda value: str(normalise_text(value)))
    .filter(is_plain_text)
    .map(lambda value: collapse_spaces(value[:200]) or "")
    .filter(lambda value: value != "")
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    name=accepted_text,
    company=st.none() | accepted_text,
    host=st.none() | accepted_text,
    preset=st.sampled_from(list(PRESETS.values())),
)
def test_any_accepted_input_gives_a_badge_that_keeps_inside_its_box(
    name: str, company: str | None, host: str | None, preset: BadgePreset
):
    badge = content(
        visitor_name=name,
        company=company,
        host_line=f"Visiting {host}" if host else None,
        site_name=host or "Head Office",
    )
    layout = layout_badge(badge, preset)
    for line in layout.lines:
        box = Box(line.x, line.baseline - 0.24 * line.size, line.width, line.size)
        assert inside(box, layout.badge), (line.text, box, layout.badge)
        assert not overlaps(box, layout.qr), (line.text, box, layout.qr)
    assert render_badge(badge, preset).startswith(b"%PDF-")
