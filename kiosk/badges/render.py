"""Drawing a badge: fitting the text, the vector QR code, and the PDF bytes.

Nothing here knows about the database or the request: :func:`render_badge` takes a
:class:`BadgeContent` (already translated and formatted) and a preset, and returns a PDF.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import qrcode
from PIL import Image as PILImage
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.colors import Color, HexColor, black, white
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from kiosk.badges.fonts import Face, FontSet, load_fonts, seed_subsets
from kiosk.badges.presets import BadgePreset
from kiosk.badges.shaping import display_text

ELLIPSIS = "…"
#: Quiet zone around the QR code, in modules (the QR standard asks for four).
QR_QUIET_MODULES = 4
#: The QR code's mask, fixed: searching all eight for the one with the fewest penalty points
#: cost more than everything else on the badge but the PDF's fonts (bench/README.md). Every
#: mask gives a valid code; over random badge tokens, mask 2 scores closest to the searched
#: best (mean penalty 476 against 438; the other masks 525-605), and tests/badges decode
#: every preset's badge with zxing-cpp. None searches, as the encoder does by default
#: (bench/badge_bench.py compares).
QR_MASK_PATTERN: int | None = 2
LEADING = 1.15
DEFAULT_BAND_COLOUR = "#0B5CAD"


@dataclass(frozen=True)
class BadgeContent:
    """Everything printed on a badge, ready to draw: translated, formatted, no lookups left."""

    visitor_name: str
    company: str | None
    #: "Visiting Hanna Host", or None when the visitor asked reception.
    host_line: str | None
    #: Check-in date and time in the site's timezone and the visitor's language.
    when: str
    site_name: str
    short_code: str
    #: The only thing the QR code holds.
    token: str
    band_text: str = "VISITOR"
    band_colour: str = DEFAULT_BAND_COLOUR
    logo: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TextLine:
    """One line of text placed on the page (points, from the bottom left)."""

    text: str
    face: Face
    size: float
    x: float
    baseline: float
    width: float
    #: What the line is: band, name, detail, code or site.
    role: str = "detail"
    colour: Color = black


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def top(self) -> float:
        return self.y + self.height

    @property
    def right(self) -> float:
        return self.x + self.width


@dataclass
class BadgeLayout:
    """Where everything goes; :func:`layout_badge` computes it, the canvas only follows it."""

    badge: Box
    band: Box
    band_colour: Color
    qr: Box
    logo: Box | None
    lines: list[TextLine]


@dataclass(frozen=True)
class Fitted:
    """Text broken into lines at one size."""

    size: float
    lines: list[str]


# --- fitting text ---------------------------------------------------------------------------


def _break_word(word: str, limit: float, fonts: FontSet, face: Face) -> list[str]:
    """Cut a word wider than ``limit`` (at size 1) into pieces that fit."""
    pieces, current, width = [], "", 0.0
    for char in word:
        char_width = fonts.width(char, face)
        if current and width + char_width > limit:
            pieces.append(current)
            current, width = "", 0.0
        current += char
        width += char_width
    if current:
        pieces.append(current)
    return pieces


def _words(text: str, fonts: FontSet, face: Face) -> list[tuple[str, float, bool]]:
    """Break opportunities: spaces, and after each hyphen of a double-barrelled name.

    Each piece is ``(text, width at size 1, whether a space precedes it)``.
    """
    pieces = []
    for word in text.split():
        parts = word.split("-")
        for index, part in enumerate(parts):
            piece = part + ("-" if index < len(parts) - 1 else "")
            if piece:
                pieces.append((piece, fonts.width(piece, face), index == 0))
    return pieces


def _wrap(
    words: list[tuple[str, float, bool]], limit: float, space: float, fonts: FontSet, face: Face
) -> list[str]:
    """Greedy word wrap at size 1; words wider than a line are cut."""
    lines: list[str] = []
    current, width = "", 0.0
    for word, word_width, spaced in words:
        joint = " " if spaced else ""
        joint_width = space if spaced else 0.0
        if current and width + joint_width + word_width <= limit:
            current += joint + word
            width += joint_width + word_width
            continue
        if current:
            lines.append(current)
        if word_width > limit:
            *full, last = _break_word(word, limit, fonts, face)
            lines.extend(full)
            current, width = last, fonts.width(last, face)
        else:
            current, width = word, word_width
    if current:
        lines.append(current)
    return lines


def truncate(text: str, limit: float, fonts: FontSet, face: Face) -> str:
    """``text`` cut to fit ``limit`` (at size 1), ending in an ellipsis when cut."""
    if fonts.width(text, face) <= limit:
        return text
    room = limit - fonts.width(ELLIPSIS, face)
    kept, width = "", 0.0
    for char in text:
        width += fonts.width(char, face)
        if width > room:
            break
        kept += char
    return kept.rstrip() + ELLIPSIS


def fit_block(
    text: str,
    fonts: FontSet,
    face: Face,
    *,
    width: float,
    height: float,
    max_size: float,
    min_size: float,
    max_lines: int,
) -> Fitted:
    """The largest size at which ``text`` fits the box in at most ``max_lines`` lines.

    Below ``min_size`` nothing shrinks further: the lines that fit are kept and the last one
    ends in an ellipsis. Text widths scale with the size, so words are measured once.
    """
    words = _words(text, fonts, face)
    if not words:
        return Fitted(max_size, [])
    space = fonts.width(" ", face)
    # Shrinking so every word fits whole reads better than cutting a word; only below the
    # smallest size are words cut.
    widest = max(word_width for _, word_width, _ in words)
    size = max_size if widest == 0 else max(min_size, min(max_size, width / widest))
    while True:
        lines = _wrap(words, width / size, space, fonts, face)
        fits_height = len(lines) * size * LEADING <= height
        if len(lines) <= max_lines and fits_height:
            return Fitted(size, lines)
        if size <= min_size:
            break
        size = max(min_size, size - (1 if size > 12 else 0.5))
    room = max(1, min(max_lines, int(height // (min_size * LEADING))))
    kept = lines[:room]
    if len(lines) > room:
        kept[-1] = truncate(kept[-1] + " " + ELLIPSIS, width / min_size, fonts, face)
    return Fitted(min_size, kept)


def fit_line(
    text: str, fonts: FontSet, face: Face, *, width: float, max_size: float, min_size: float
) -> Fitted:
    """One line: shrink to ``min_size``, then cut with an ellipsis."""
    text = " ".join(text.split())
    natural = fonts.width(text, face)
    if natural == 0:
        return Fitted(max_size, [text] if text else [])
    size = min(max_size, max(min_size, width / natural))
    return Fitted(size, [truncate(text, width / size, fonts, face)])


# --- layout ---------------------------------------------------------------------------------


def _ink_for(background: Color) -> Color:
    """Black or white, whichever reads better on ``background``."""
    luminance = 0.2126 * background.red + 0.7152 * background.green + 0.0722 * background.blue
    return black if luminance > 0.55 else white


def parse_colour(value: str | None) -> Color:
    """A ``#RRGGBB`` colour; anything else is the default band colour."""
    try:
        return HexColor(value or DEFAULT_BAND_COLOUR)
    except (ValueError, TypeError):
        return HexColor(DEFAULT_BAND_COLOUR)


class _Column:
    """A text column filled from the top down."""

    def __init__(self, box: Box, fonts: FontSet, lines: list[TextLine]) -> None:
        self.box, self.fonts, self.lines = box, fonts, lines
        self.cursor = box.top

    def add(
        self,
        fitted: Fitted,
        face: Face,
        role: str,
        align: Literal["left", "center"] = "left",
    ) -> None:
        for text in fitted.lines:
            # The ascent of DejaVu-like fonts is about 0.76 of the size; descent 0.24.
            baseline = self.cursor - fitted.size * 0.78
            width = self.fonts.width(text, face) * fitted.size
            x = self.box.x + (self.box.width - width) / 2 if align == "center" else self.box.x
            self.lines.append(TextLine(text, face, fitted.size, x, baseline, width, role))
            self.cursor -= fitted.size * LEADING

    def gap(self, points: float) -> None:
        self.cursor -= points


def layout_badge(
    content: BadgeContent, preset: BadgePreset, fonts: FontSet | None = None
) -> BadgeLayout:
    """Place every part of the badge inside the preset's box."""
    fonts = fonts or load_fonts()
    page_height = preset.page_size[1]
    badge = Box(
        preset.box_x_mm * mm,
        page_height - (preset.box_top_mm + preset.box_height_mm) * mm,
        preset.box_width_mm * mm,
        preset.box_height_mm * mm,
    )
    margin, gap = preset.margin_mm * mm, 1.5 * mm
    band = Box(badge.x, badge.top - preset.band_mm * mm, badge.width, preset.band_mm * mm)
    band_colour = parse_colour(content.band_colour)
    lines: list[TextLine] = []

    # The band: "VISITOR", bold, centred.
    band_fit = fit_line(
        content.band_text.upper(),
        fonts,
        fonts.bold,
        width=band.width - 2 * margin,
        max_size=band.height * 0.6,
        min_size=5,
    )
    for text in band_fit.lines:
        width = fonts.width(text, fonts.bold) * band_fit.size
        baseline = band.y + (band.height - band_fit.size * 0.72) / 2
        x = band.x + (band.width - width) / 2
        lines.append(
            TextLine(
                text, fonts.bold, band_fit.size, x, baseline, width, "band", _ink_for(band_colour)
            )
        )

    qr_size = preset.qr_mm * mm
    inner_left, inner_right = badge.x + margin, badge.right - margin
    content_top = band.y - margin
    if preset.layout == "portrait":
        qr = Box(inner_left, badge.y + margin, qr_size, qr_size)
        side = Box(qr.right + gap, qr.y, inner_right - qr.right - gap, qr_size)
        text_box = Box(inner_left, qr.top + gap, inner_right - inner_left, content_top - qr.top)
        site_box = None
    else:
        qr = Box(inner_right - qr_size, badge.y + margin, qr_size, qr_size)
        side = Box(qr.x, qr.top + gap, qr_size, content_top - qr.top - gap)
        text_right = qr.x - 2 * gap
        site_height = 9.0
        site_box = Box(inner_left, badge.y + margin, text_right - inner_left, site_height)
        text_box = Box(
            inner_left,
            site_box.top + gap,
            text_right - inner_left,
            content_top - site_box.top - gap,
        )

    # Details under the name have fixed sizes; the name takes the room that is left.
    detail_faces: list[tuple[str, Face, float]] = []
    if content.company:
        detail_faces.append((content.company, fonts.regular, 10))
    if content.host_line:
        detail_faces.append((content.host_line, fonts.regular, 8.5))
    detail_faces.append((content.when, fonts.regular, 7.5))
    details = [
        (fit_line(text, fonts, face, width=text_box.width, max_size=size, min_size=6), face)
        for text, face, size in detail_faces
    ]
    details_height = sum(f.size * LEADING for f, _ in details) + gap
    name_fit = fit_block(
        content.visitor_name,
        fonts,
        fonts.bold,
        width=text_box.width,
        height=max(preset.name_min_pt * LEADING, text_box.height - details_height),
        max_size=preset.name_max_pt,
        min_size=preset.name_min_pt,
        max_lines=preset.name_max_lines,
    )
    column = _Column(text_box, fonts, lines)
    column.add(name_fit, fonts.bold, "name")
    # The details stand at the bottom of the column, so a short name leaves room above them.
    column.cursor = text_box.y + details_height - gap
    for fitted, face in details:
        column.add(fitted, face, "detail")

    # The side column: the short code people type at check-out, the logo, the site's name.
    side_column = _Column(side, fonts, lines)
    code_fit = fit_line(
        content.short_code, fonts, fonts.bold, width=side.width, max_size=16, min_size=6
    )
    logo: Box | None = None
    site_fit = fit_line(
        content.site_name, fonts, fonts.regular, width=side.width, max_size=7.5, min_size=5
    )
    if preset.layout == "portrait":
        code_height = code_fit.size * LEADING
        site_height_used = site_fit.size * LEADING if site_fit.lines else 0
        if content.logo:
            logo_height = side.height - code_height - site_height_used - 2 * gap
            if logo_height > 4 * mm:
                logo = Box(side.x, side.top - logo_height, side.width, logo_height)
                side_column.gap(logo_height + gap)
        side_column.add(site_fit, fonts.regular, "site")
        side_column.gap(gap)
        # The code sits at the bottom, level with the QR code's lower edge.
        side_column.cursor = side.y + code_height
        side_column.add(code_fit, fonts.bold, "code")
    else:
        side_column.add(code_fit, fonts.bold, "code", align="center")
        if content.logo:
            logo_height = side_column.cursor - side.y - gap
            if logo_height > 4 * mm:
                logo = Box(side.x, side.y, side.width, logo_height)
        if site_box is not None:
            site_column = _Column(site_box, fonts, lines)
            site_column.cursor = site_box.y + site_fit.size * LEADING
            site_column.add(site_fit, fonts.regular, "site")
    return BadgeLayout(
        badge=badge, band=band, band_colour=band_colour, qr=qr, logo=logo, lines=lines
    )


# --- drawing --------------------------------------------------------------------------------


def qr_modules(token: str) -> list[list[bool]]:
    """The QR code's dark modules for ``token`` (no quiet zone), error correction M, the
    fixed mask :data:`QR_MASK_PATTERN`."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=QR_MASK_PATTERN)
    code.add_data(token, optimize=0)
    code.make(fit=True)
    return [[bool(module) for module in row] for row in code.modules]


def draw_qr(canvas: Canvas, modules: list[list[bool]], box: Box) -> None:
    """Draw the QR code as one vector path of rectangles, a run of dark modules each.

    The path is written in module units (one unit a module, rows counted downwards from the
    code's top left) under a transform to the box: whole numbers, which PDF takes as they are,
    where reportlab's path API would format four floats per rectangle (a third of the
    badge's time went there).
    """
    count = len(modules)
    unit = min(box.width, box.height) / (count + 2 * QR_QUIET_MODULES)
    left = box.x + QR_QUIET_MODULES * unit
    top = box.top - QR_QUIET_MODULES * unit
    runs = []
    for row_index, row in enumerate(modules):
        column = 0
        while column < count:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < count and row[column]:
                column += 1
            runs.append(f"{start} {row_index} {column - start} 1 re")
    canvas.saveState()
    canvas.transform(unit, 0, 0, -unit, left, top)
    canvas.setFillColor(black)
    canvas.addLiteral("\n".join(runs) + "\nf")
    canvas.restoreState()


_LOGO_CACHE: OrderedDict[tuple[str, int, int], ImageReader] = OrderedDict()
_LOGO_CACHE_SIZE = 32

#: The resolution a badge's logo is embedded at: the label printers' (Brother QL, Zebra and
#: the like print 300 dpi), and more than a sheet printer shows at the logo's few centimetres.
LOGO_DPI = 300
#: Logo sizes are rounded up to this many pixels, so that badges whose logo boxes differ by a
#: line of text share one prepared image.
_LOGO_STEP = 32


class _PreparedLogo(ImageReader):
    """A logo prepared as a JPEG, named in each PDF by a digest of its bytes made once.

    Reportlab names an image drawn from an ImageReader by an MD5 of its decoded pixels, on
    every ``drawImage``: a full pass over the logo's pixels for each badge, though it embeds a
    JPEG's bytes as they are (read through ``jpeg_fh``, never through ``getRGBData``)."""

    def __init__(self, jpeg: bytes) -> None:
        super().__init__(io.BytesIO(jpeg))
        self._name = hashlib.sha256(jpeg).digest()
        self._dataA = None  # no mask: the logo is laid on white before it is kept

    def getRGBData(self) -> bytes:  # noqa: N802 - reportlab's name
        """What ``drawImage`` names the image by (its only caller for a JPEG)."""
        return self._name


def _print_pixels(points: float) -> int:
    wanted = math.ceil(points / 72 * LOGO_DPI)
    return max(_LOGO_STEP, math.ceil(wanted / _LOGO_STEP) * _LOGO_STEP)


def _logo_reader(logo: bytes, box: Box) -> ImageReader:
    """The site's logo scaled down to what the printer prints in ``box``, kept for the next
    badges. Reportlab compresses a PNG's pixels again for every PDF it draws it in: the stored
    logo (up to 600 x 300, with an alpha channel) made a badge 2-5x as slow as one without
    (bench/README.md, "A badge with a logo"). At the box's 300 dpi it has a quarter of the
    pixels or fewer, and as a JPEG it is not compressed again."""
    fit = (_print_pixels(box.width), _print_pixels(box.height))
    key = (hashlib.sha256(logo).hexdigest(), *fit)
    reader = _LOGO_CACHE.get(key)
    if reader is None:
        with PILImage.open(io.BytesIO(logo)) as opened:
            # Stored as RGBA (kiosk.badges.settings.prepare_logo); any other mode made so.
            picture = opened.convert("RGBA") if opened.mode != "RGBA" else opened.copy()
        # Only ever smaller: thumbnail keeps the aspect ratio and never enlarges.
        picture.thumbnail(fit, PILImage.Resampling.LANCZOS)
        # On the badge's white, as the printer prints it, kept as a JPEG: reportlab embeds a
        # JPEG's bytes as they are, where it would compress a PNG's pixels again for every
        # badge. Full chroma resolution and a high quality keep a logo's edges sharp.
        flat = PILImage.new("RGB", picture.size, "white")
        flat.paste(picture, mask=picture.getchannel("A"))
        jpeg = io.BytesIO()
        flat.save(jpeg, format="JPEG", quality=92, subsampling=0)
        reader = _PreparedLogo(jpeg.getvalue())
        _LOGO_CACHE[key] = reader
        while len(_LOGO_CACHE) > _LOGO_CACHE_SIZE:
            _LOGO_CACHE.popitem(last=False)
    else:
        _LOGO_CACHE.move_to_end(key)
    return reader


def draw_text(canvas: Canvas, line: TextLine, fonts: FontSet) -> None:
    """Draw a line run by run, each run in the font that has its characters."""
    canvas.setFillColor(line.colour)
    x = line.x
    for face, run in fonts.runs(display_text(line.text), line.face):
        canvas.setFont(face.name, line.size)
        canvas.drawString(x, line.baseline, run)
        x += fonts.width(run, face) * line.size


def draw_badge(
    canvas: Canvas, content: BadgeContent, preset: BadgePreset, fonts: FontSet
) -> BadgeLayout:
    """Draw one badge on the canvas's current page."""
    layout = layout_badge(content, preset, fonts)
    band = layout.band
    canvas.setFillColor(layout.band_colour)
    canvas.rect(band.x, band.y, band.width, band.height, stroke=0, fill=1)
    draw_qr(canvas, qr_modules(content.token), layout.qr)
    if layout.logo is not None and content.logo:
        box = layout.logo
        canvas.drawImage(
            _logo_reader(content.logo, box),
            box.x,
            box.y,
            box.width,
            box.height,
            preserveAspectRatio=True,
            anchor="c",
            mask="auto",
        )
    for line in layout.lines:
        draw_text(canvas, line, fonts)
    if preset.cut_marks:
        badge = layout.badge
        canvas.setStrokeColor(HexColor("#888888"))
        canvas.setLineWidth(0.5)
        canvas.setDash(3, 3)
        canvas.rect(badge.x, badge.y, badge.width, badge.height, stroke=1, fill=0)
        canvas.setDash()
    return layout


def render_badge(content: BadgeContent, preset: BadgePreset, fonts: FontSet | None = None) -> bytes:
    """The badge as a one-page PDF.

    The PDF's metadata names no one (a badge PDF may end up in a print spool or a download
    folder), and ``invariant`` keeps timestamps out, so the same badge renders the same bytes.
    """
    return render_badges([content], preset, fonts)


def render_badges(
    contents: Sequence[BadgeContent], preset: BadgePreset, fonts: FontSet | None = None
) -> bytes:
    """Several badges as one PDF, a page each (a group at the kiosk prints them at once)."""
    fonts = fonts or load_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=preset.page_size, invariant=True, pageCompression=1)
    canvas.setTitle("Visitor badge")
    canvas.setCreator("kiosk")
    seed_subsets(canvas, fonts)
    for content in contents:
        draw_badge(canvas, content, preset, fonts)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
