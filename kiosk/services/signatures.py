"""A signature drawn on the kiosk's pad, checked before it goes into a signed document.

The pad sends a PNG as a data URL. Whatever arrives is treated as hostile: it must be a real
PNG within bounds (bytes, width, height, checked before any pixel is decoded), and it must
have ink on it. It is re-encoded, so nothing but the pixels (no text chunks, no metadata)
reaches the PDF.
"""

from __future__ import annotations

import base64
import binascii
import io

from PIL import Image

from kiosk.images import NOT_A_PICTURE

#: Data URLs longer than this are refused before decoding (the pad's PNG is ~10-60 KB;
#: the whole request may not exceed MAX_CONTENT_LENGTH, 256 KiB, anyway).
MAX_DATA_URL_LENGTH = 240_000
MAX_WIDTH = 2400
MAX_HEIGHT = 1400
MIN_SIDE = 50
#: Fewer inked pixels than this is no signature (an accidental tap).
MIN_INK_PIXELS = 150
_PREFIX = "data:image/png;base64,"


class SignatureError(Exception):
    """A signature that cannot be used; ``code`` is "missing", "invalid" or "blank"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def checked_signature(data_url: str | None) -> bytes:
    """The drawn signature as clean PNG bytes, or :class:`SignatureError`."""
    if not data_url:
        raise SignatureError("missing")
    if len(data_url) > MAX_DATA_URL_LENGTH or not data_url.startswith(_PREFIX):
        raise SignatureError("invalid")
    try:
        raw = base64.b64decode(data_url[len(_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("invalid") from exc
    if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise SignatureError("invalid")
    try:
        with Image.open(io.BytesIO(raw), formats=["PNG"]) as image:
            width, height = image.size
            if not (MIN_SIDE <= width <= MAX_WIDTH and MIN_SIDE <= height <= MAX_HEIGHT):
                raise SignatureError("invalid")
            image.load()
            rgba = image.convert("RGBA")
    except SignatureError:
        raise
    except NOT_A_PICTURE as exc:
        raise SignatureError("invalid") from exc
    # Drawn on white, so the PDF shows it the same in every viewer; ink is what is then
    # clearly darker than white (counted from the histogram: no per-pixel Python loop).
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    white.alpha_composite(rgba)
    grey = white.convert("L")
    if sum(grey.histogram()[:200]) < MIN_INK_PIXELS:
        raise SignatureError("blank")
    clean = io.BytesIO()
    grey.save(clean, format="PNG", optimize=True)
    return clean.getvalue()
