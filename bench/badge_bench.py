"""Badge benchmark: badges per second for each preset, against a bare reportlab canvas.

The baseline draws the same text (the same embedded TrueType fonts, cut and compressed by
reportlab for each PDF, without kiosk's cache of their subsets) and the same QR code (the
same qrcode encoder and vector drawing) at fixed places, with no fitting, no font fallback
and no layout: the least a badge PDF costs with reportlab as it comes. Both run in the same process,
alternating badge by badge so machine noise hits both alike; the median round counts. A
third contender is kiosk's renderer searching the QR mask as it did before the mask was
fixed. Times are CPU time of this process per badge (on a shared machine, wall time mostly
measures the neighbours), wall time shown beside them.
Target: kiosk <= 1.5x the baseline, and <= 5 ms per badge.

With ``--logo`` every badge has a site logo (600 x 300 with a transparent background, stored
as the badge settings store it), which the baseline draws from the stored PNG as reportlab
draws any image: decoded once, its pixels compressed into each PDF.

    make bench            # or: .venv/bin/python bench/badge_bench.py --badges 200 [--logo]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFontFace
from reportlab.pdfgen.canvas import Canvas

from kiosk.badges import render
from kiosk.badges.fonts import FontSet, load_fonts
from kiosk.badges.presets import PRESETS, BadgePreset
from kiosk.badges.render import BadgeContent, Box, draw_qr, qr_modules, render_badge
from kiosk.services.visits import new_badge_token

NAMES = [
    "Åsa Ødegård",
    "Ελένη Παπαδοπούλου",
    "Maximiliane Alexandra von Hohenzollern-Sigmaringen",
    "Jean-Luc Picard",
    "Жукова Анна Сергеевна",
]


def sample_logo() -> bytes:
    """A logo as an admin uploads one: shapes in two colours on a transparent background,
    stored as kiosk.badges.settings stores it (at most 600 x 300, RGBA PNG)."""
    from PIL import Image, ImageDraw

    from kiosk.badges.settings import prepare_logo

    picture = Image.new("RGBA", (600, 300), (0, 0, 0, 0))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((20, 40, 240, 260), fill=(11, 92, 173, 255))
    for left in range(270, 580, 60):
        draw.rectangle((left, 90, left + 40, 210), fill=(30, 30, 30, 255))
    stored = io.BytesIO()
    picture.save(stored, "PNG")
    return prepare_logo(stored.getvalue())


#: The logo every badge has with ``--logo`` (None: no logo).
LOGO: bytes | None = None


def content(index: int) -> BadgeContent:
    return BadgeContent(
        logo=LOGO,
        visitor_name=NAMES[index % len(NAMES)],
        company="Fjord Systems AB",
        host_line="Visiting Hanna Host",
        when="4 Mar 2026 09:00",
        site_name="Head Office",
        short_code="ABC234",
        token=new_badge_token(datetime.now(UTC)),
    )


def baseline(badge: BadgeContent, preset: BadgePreset, fonts: FontSet) -> bytes:
    """A bare canvas: the same strings and QR code at fixed positions."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=preset.page_size, invariant=True, pageCompression=1)
    width, height = preset.page_size
    canvas.setFillColor(HexColor(badge.band_colour))
    canvas.rect(0, height - preset.band_mm * mm, width, preset.band_mm * mm, stroke=0, fill=1)
    canvas.setFillColor(white)
    canvas.setFont(fonts.bold.name, 14)
    canvas.drawString(10, height - 20, badge.band_text)
    canvas.setFillColor(black)
    canvas.setFont(fonts.bold.name, 16)
    canvas.drawString(10, height - 50, badge.visitor_name)
    canvas.setFont(fonts.regular.name, 10)
    for offset, text in enumerate(
        (badge.company or "", badge.host_line or "", badge.when, badge.site_name)
    ):
        canvas.drawString(10, height - 70 - 12 * offset, text)
    canvas.setFont(fonts.bold.name, 14)
    canvas.drawString(width / 2, 12, badge.short_code)
    # The same QR drawing as the badge (one path, a rectangle per run of dark modules), so
    # the ratio measures what the badge adds: fitting, font fallback and layout.
    draw_qr(canvas, qr_modules(badge.token), Box(10, 10, preset.qr_mm * mm, preset.qr_mm * mm))
    if badge.logo:
        side = preset.qr_mm * mm
        canvas.drawImage(
            _bare_logo(badge.logo), width - side - 10, 10 + side / 2, side, side / 2, mask="auto"
        )
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


_BARE_LOGOS: dict[bytes, ImageReader] = {}


def _bare_logo(logo: bytes) -> ImageReader:
    """The stored PNG, decoded once (as kiosk did before drawing it at the printer's size)."""
    if logo not in _BARE_LOGOS:
        _BARE_LOGOS[logo] = ImageReader(io.BytesIO(logo))
    return _BARE_LOGOS[logo]


def _searching_mask(badge: BadgeContent, preset: BadgePreset, fonts: FontSet) -> bytes:
    """kiosk's badge as it was drawn before the mask was fixed: the encoder tries all eight
    masks and keeps the one with the fewest penalty points."""
    fixed = render.QR_MASK_PATTERN
    render.QR_MASK_PATTERN = None
    try:
        return render_badge(badge, preset, fonts)
    finally:
        render.QR_MASK_PATTERN = fixed


#: What is timed, badge by badge in turn: kiosk's renderer, the bare canvas, and kiosk's
#: renderer searching the QR mask (the lever this benchmark tracks; PERFORMANCE.md).
CONTENDERS = {"kiosk": render_badge, "bare": baseline, "mask_search": _searching_mask}


def faces_as(fonts: FontSet, face_class: type) -> None:
    """Give the fonts' faces reportlab's own methods (``TTFontFace``) or kiosk's, which keep
    each subset once made (kiosk.badges.fonts). reportlab registers one face per font file,
    shared by every font of that file, so the bare canvas is timed with the class changed
    around it."""
    for face in (fonts.regular, fonts.bold):
        pdfmetrics.getFont(face.name).face.__class__ = face_class


def run(badges: int, rounds: int) -> list[dict[str, float | str]]:
    fonts = load_fonts()
    kiosk_faces = type(pdfmetrics.getFont(fonts.regular.name).face)
    results: list[dict[str, float | str]] = []
    for preset in PRESETS.values():
        contents = [content(index) for index in range(badges)]
        for draw in CONTENDERS.values():
            # Warm up (first use of each glyph and of the QR encoder's tables).
            draw(contents[0], preset, fonts)
        wall: dict[str, list[float]] = {name: [] for name in CONTENDERS}
        cpu: dict[str, list[float]] = {name: [] for name in CONTENDERS}
        for _ in range(rounds):
            wall_total = dict.fromkeys(CONTENDERS, 0.0)
            cpu_total = dict.fromkeys(CONTENDERS, 0.0)
            # Badge by badge, the three alternate, so a busy moment on the machine hits all.
            for badge in contents:
                for name, draw in CONTENDERS.items():
                    if name == "bare":
                        faces_as(fonts, TTFontFace)
                    wall_start, cpu_start = time.perf_counter(), time.process_time()
                    draw(badge, preset, fonts)
                    cpu_total[name] += time.process_time() - cpu_start
                    wall_total[name] += time.perf_counter() - wall_start
                    faces_as(fonts, kiosk_faces)
            for name in CONTENDERS:
                wall[name].append(wall_total[name] / badges)
                cpu[name].append(cpu_total[name] / badges)
        row: dict[str, float | str] = {"preset": preset.name}
        for name in CONTENDERS:
            row[f"{name}_ms"] = statistics.median(wall[name]) * 1000
            row[f"{name}_cpu_ms"] = statistics.median(cpu[name]) * 1000
        row["ratio"] = float(row["kiosk_cpu_ms"]) / float(row["bare_cpu_ms"])
        row["search_ratio"] = float(row["mask_search_cpu_ms"]) / float(row["kiosk_cpu_ms"])
        results.append(row)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--badges", type=int, default=100, help="badges per round and preset")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    parser.add_argument("--output", type=Path, help="also write the results as JSON here")
    parser.add_argument("--logo", action="store_true", help="every badge with a site logo")
    args = parser.parse_args()
    global LOGO
    LOGO = sample_logo() if args.logo else None
    load = os.getloadavg()[0]
    results = run(args.badges, args.rounds)
    print(f"load average at the start: {load:.1f} (2 cores); times are CPU ms per badge")
    print(
        f"{'preset':24} {'kiosk':>7} {'bare':>7} {'ratio':>6} {'search':>7} {'x kiosk':>8}"
        f" {'kiosk wall':>11}"
    )
    for row in results:
        print(
            f"{row['preset']:24} {row['kiosk_cpu_ms']:7.2f} {row['bare_cpu_ms']:7.2f}"
            f" {row['ratio']:5.2f}x {row['mask_search_cpu_ms']:7.2f} {row['search_ratio']:7.2f}x"
            f" {row['kiosk_ms']:11.2f}"
        )
    worst = max(float(row["ratio"]) for row in results)
    slowest = max(float(row["kiosk_cpu_ms"]) for row in results)
    print(
        f"worst ratio {worst:.2f}x (target <= 1.5x); slowest {slowest:.2f} CPU ms per badge"
        " (target <= 5 ms)"
    )
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(
            json.dumps(
                {"python": platform.python_version(), "load": load, "results": results}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
