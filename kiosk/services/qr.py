"""QR codes as inline SVG for screens (vector, no image files, no inline script)."""

from __future__ import annotations

import functools
import io

import qrcode
import qrcode.image.svg


def qr_svg(data: str) -> str:
    """An SVG element that encodes ``data``; callers pass only URLs or opaque tokens."""
    image = qrcode.make(
        data,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=2,
    )
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    # Drop the XML declaration so the element can sit inside HTML.
    return svg[svg.index("<svg") :]


@functools.lru_cache(maxsize=64)
def notice_qr_svg(url: str) -> str:
    """``qr_svg`` of a privacy notice's public URL, remembered: the kiosk shows the same few
    (one per site and language) to every visitor, and encoding one is most of the notice
    screen's time (bench/checkin.py)."""
    return qr_svg(url)


def qr_png(data: str) -> bytes:
    """A PNG image that encodes ``data``, for emails (mail clients do not show inline SVG)."""
    from qrcode.image.pil import PilImage

    image = qrcode.make(
        data,
        image_factory=PilImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=8,
        border=4,
    )
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
