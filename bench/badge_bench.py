"""Badge benchmark: badges per second for each preset, against a bare reportlab canvas.

The baseline draws the same text (the same embedded TrueType fonts) and the same QR code
(the same qrcode encoder and vector drawing) at fixed places, with no fitting, no font
fallback and no layout: the least any badge PDF costs. Both run in the same process,
alternating badge by badge so machine noise hits both alike; the median round counts.
Target: kiosk <= 1.5x the baseline, and well under 50 ms per badge.

    make bench            # or: .venv/bin/python bench/badge_bench.py --badges 200
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import sys
import time
from pathlib import Path

from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

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


def content(index: int) -> BadgeContent:
    return BadgeContent(
        visitor_name=NAMES[index % len(NAMES)],
        company="Fjord Systems AB",
        host_line="Visiting Hanna Host",
        when="4 Mar 2026 09:00",
        site_name="Head Office",
        short_code="ABC234",
        token=new_badge_token(),
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
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def run(badges: int, rounds: int) -> list[dict[str, float | str]]:
    fonts = load_fonts()
    results = []
    for preset in PRESETS.values():
        contents = [content(index) for index in range(badges)]
        # Warm up both (first use of each glyph and of the QR encoder's tables).
        render_badge(contents[0], preset, fonts)
        baseline(contents[0], preset, fonts)
        ours, bare = [], []
        for _ in range(rounds):
            # Badge by badge, the two alternate, so a busy moment on the machine hits both.
            ours_total = bare_total = 0.0
            for badge in contents:
                start = time.perf_counter()
                baseline(badge, preset, fonts)
                middle = time.perf_counter()
                render_badge(badge, preset, fonts)
                ours_total += time.perf_counter() - middle
                bare_total += middle - start
            ours.append(ours_total / badges)
            bare.append(bare_total / badges)
        kiosk_s, bare_s = statistics.median(ours), statistics.median(bare)
        results.append(
            {
                "preset": preset.name,
                "kiosk_ms": kiosk_s * 1000,
                "kiosk_per_s": 1 / kiosk_s,
                "baseline_ms": bare_s * 1000,
                "baseline_per_s": 1 / bare_s,
                "ratio": kiosk_s / bare_s,
            }
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--badges", type=int, default=100, help="badges per round and preset")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    parser.add_argument("--output", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    results = run(args.badges, args.rounds)
    print(
        f"{'preset':16} {'kiosk ms':>9} {'badges/s':>9} {'bare ms':>8} {'bare/s':>8} {'ratio':>6}"
    )
    for row in results:
        print(
            f"{row['preset']:16} {row['kiosk_ms']:9.2f} {row['kiosk_per_s']:9.1f} "
            f"{row['baseline_ms']:8.2f} {row['baseline_per_s']:8.1f} {row['ratio']:6.2f}x"
        )
    worst = max(float(row["ratio"]) for row in results)
    print(f"worst ratio {worst:.2f}x (target <= 1.5x)")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(
            json.dumps({"python": platform.python_version(), "results": results}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
