"""Pictures that people upload (a site's badge logo, a visitor's drawn signature), read with
Pillow: always with the formats asked for named (``Image.open(..., formats=...)``), and
refused on any of :data:`NOT_A_PICTURE`."""

from __future__ import annotations

from PIL import Image, UnidentifiedImageError

#: What Pillow raises on a file it cannot read as a picture of the formats named: not one of
#: them, truncated or corrupt (OSError, ValueError), a PNG whose chunks say other lengths than
#: they have (SyntaxError), or too many pixels.
NOT_A_PICTURE: tuple[type[Exception], ...] = (
    UnidentifiedImageError,
    OSError,
    ValueError,
    SyntaxError,
    Image.DecompressionBombError,
)
