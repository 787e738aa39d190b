"""A site's badge settings (format, band colour, logo, print backend) and a kiosk's own print
backend, checked before they are stored. Callers commit."""

from __future__ import annotations

import io
import re

from PIL import Image

from kiosk.badges.cups import valid_queue_name
from kiosk.badges.presets import PRESETS
from kiosk.badges.ql import parse_address
from kiosk.enums import PrintBackend, values
from kiosk.images import NOT_A_PICTURE
from kiosk.models import KioskDevice, Site

#: A logo is stored shrunk to at most this many pixels each way (a badge shows it ~30 mm wide).
LOGO_MAX_PIXELS = (600, 300)
#: What a logo may be (Pillow's format names).
LOGO_FORMATS = ("PNG", "JPEG")
#: The largest logo file accepted before shrinking.
LOGO_MAX_BYTES = 2 * 1024 * 1024
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


class BadgeSettingsError(ValueError):
    """A badge setting that cannot be used, with the reason."""


def prepare_logo(data: bytes) -> bytes:
    """Check an uploaded logo and store it as a small PNG; raise BadgeSettingsError if unusable."""
    if len(data) > LOGO_MAX_BYTES:
        raise BadgeSettingsError(f"the logo is larger than {LOGO_MAX_BYTES // 1024} KB")
    try:
        # Only the two formats the form asks for: Pillow opens some twenty others, each a
        # decoder with its own ways to fail (an outside fuzz found DDS raising
        # NotImplementedError), and reads PostScript by running Ghostscript on the file.
        with Image.open(io.BytesIO(data), formats=LOGO_FORMATS) as image:
            if image.width * image.height > 40_000_000:
                raise BadgeSettingsError("the logo has too many pixels")
            image.load()
            picture = image.convert("RGBA")
    except NOT_A_PICTURE as exc:
        raise BadgeSettingsError("the logo is not a PNG or JPEG picture") from exc
    picture.thumbnail(LOGO_MAX_PIXELS)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


def configure_badges(
    site: Site,
    *,
    preset: str | None = None,
    band_colour: str | None = None,
    logo: bytes | None = None,
    remove_logo: bool = False,
    backend: str | None = None,
    printer: str | None = None,
    ql_printer: str | None = None,
) -> None:
    """Change a site's badge settings; only the given ones change (``printer``: the CUPS
    queue; ``ql_printer``: the Brother QL printer's ``host[:port]``; "" clears either).
    Caller commits."""
    if preset is not None:
        if preset not in PRESETS:
            raise BadgeSettingsError(
                f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}"
            )
        site.badge_preset = preset
    if band_colour is not None:
        if not _COLOUR.match(band_colour):
            raise BadgeSettingsError("the band colour must look like #0B5CAD")
        site.badge_band_colour = band_colour.upper()
    if remove_logo:
        site.badge_logo = None
    elif logo is not None:
        site.badge_logo = prepare_logo(logo)
    new_printer = site.cups_printer if printer is None else printer or None
    new_ql_printer = site.ql_printer if ql_printer is None else ql_printer.strip() or None
    new_backend = site.print_backend if backend is None else backend
    _check_print_setting(new_backend, new_printer, new_ql_printer, site.badge_preset)
    site.cups_printer, site.ql_printer = new_printer, new_ql_printer
    site.print_backend = new_backend


def ql_formats() -> list[str]:
    """The badge formats a Brother QL printer prints (those with a QL label)."""
    return [name for name, preset in PRESETS.items() if preset.ql_label]


def _check_print_setting(
    backend: str | None, printer: str | None, ql_printer: str | None, preset: str
) -> None:
    """Refuse an unknown backend, a bad queue name or printer address, a backend without its
    printer, or a Brother QL printer for a format that is no QL label."""
    backends = values(PrintBackend)
    if backend is not None and backend not in backends:
        raise BadgeSettingsError(
            f"unknown print backend {backend!r}; choose one of {', '.join(backends)}"
        )
    if printer and not valid_queue_name(printer):
        raise BadgeSettingsError(f"{printer!r} is not a CUPS printer name")
    if ql_printer and parse_address(ql_printer) is None:
        raise BadgeSettingsError(f"{ql_printer!r} is not a printer address (host or host:port)")
    if backend == PrintBackend.CUPS and not printer:
        raise BadgeSettingsError("the cups backend needs a printer name (--printer)")
    if backend == PrintBackend.BROTHER_QL:
        if not ql_printer:
            raise BadgeSettingsError("the brother_ql backend needs the printer's address")
        if preset not in ql_formats():
            raise BadgeSettingsError(
                f"the brother_ql backend prints the formats {', '.join(ql_formats())} only"
            )


def configure_kiosk_printing(
    device: KioskDevice, *, backend: str | None, printer: str, ql_printer: str = ""
) -> None:
    """Give a kiosk its own print backend (and CUPS queue or Brother QL printer address), or
    ``backend=None`` to follow its site's setting again. Caller commits."""
    ql_printer = ql_printer.strip()
    _check_print_setting(backend, printer, ql_printer, device.site.badge_preset)
    device.print_backend = backend
    device.cups_printer = (printer or None) if backend == PrintBackend.CUPS else None
    device.ql_printer = (ql_printer or None) if backend == PrintBackend.BROTHER_QL else None
