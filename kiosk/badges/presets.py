"""Badge page sizes and layouts, as data: adding a label size is adding an entry here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reportlab.lib.units import mm


@dataclass(frozen=True)
class BadgePreset:
    """One badge format: the page the printer gets and the badge box drawn on it.

    Lengths are in millimetres. The badge box sits at the top left of the page, ``box_x_mm``
    and ``box_top_mm`` from the page's left and top edges; on a label the box is the page.
    """

    name: str
    #: What the printer is fed.
    page_width_mm: float
    page_height_mm: float
    #: The badge itself.
    box_width_mm: float
    box_height_mm: float
    #: ``portrait``: the QR code under the text; ``landscape``: beside it.
    layout: Literal["portrait", "landscape"]
    #: The CUPS ``media`` option sent with the job (``lp -o media=...``).
    cups_media: str
    box_x_mm: float = 0
    box_top_mm: float = 0
    margin_mm: float = 3
    band_mm: float = 9
    qr_mm: float = 26
    #: The visitor's name starts this large and shrinks (then wraps) until it fits.
    name_max_pt: float = 26
    name_min_pt: float = 9
    name_max_lines: int = 4
    #: A dashed line around the box, for cutting it out of a larger sheet.
    cut_marks: bool = False
    #: The brother_ql label this format prints on with the ``brother_ql`` backend ("62": 62 mm
    #: continuous tape; "62x100": die-cut labels); None: not a Brother QL format.
    ql_label: str | None = None

    @property
    def page_size(self) -> tuple[float, float]:
        """The page in PDF points."""
        return (self.page_width_mm * mm, self.page_height_mm * mm)


PRESETS: dict[str, BadgePreset] = {
    preset.name: preset
    for preset in (
        # Brother QL with 62 mm continuous tape, cut at 100 mm.
        BadgePreset(
            name="brother-62x100",
            page_width_mm=62,
            page_height_mm=100,
            box_width_mm=62,
            box_height_mm=100,
            layout="portrait",
            cups_media="Custom.62x100mm",
            ql_label="62",
        ),
        # Brother QL with 62 x 100 mm die-cut labels (DK-11202).
        BadgePreset(
            name="brother-62x100-die-cut",
            page_width_mm=62,
            page_height_mm=100,
            box_width_mm=62,
            box_height_mm=100,
            layout="portrait",
            cups_media="Custom.62x100mm",
            ql_label="62x100",
        ),
        # Dymo 99014 shipping/name-badge labels, 54 x 101 mm, fed short edge first.
        BadgePreset(
            name="dymo-54x101",
            page_width_mm=54,
            page_height_mm=101,
            box_width_mm=54,
            box_height_mm=101,
            layout="portrait",
            cups_media="Custom.54x101mm",
            qr_mm=24,
            name_max_pt=24,
        ),
        # ISO/IEC 7810 ID-1 plastic card (CR80), printed landscape.
        BadgePreset(
            name="cr80",
            page_width_mm=85.6,
            page_height_mm=54,
            box_width_mm=85.6,
            box_height_mm=54,
            layout="landscape",
            cups_media="Custom.85.6x54mm",
            band_mm=8,
            qr_mm=24,
            name_max_pt=20,
            name_min_pt=7,
        ),
        # The badge at the top of an A4 sheet, for an ordinary office printer and scissors.
        BadgePreset(
            name="a4",
            page_width_mm=210,
            page_height_mm=297,
            box_width_mm=100,
            box_height_mm=70,
            layout="landscape",
            cups_media="A4",
            box_x_mm=55,
            box_top_mm=15,
            margin_mm=4,
            band_mm=10,
            qr_mm=30,
            name_max_pt=24,
            name_min_pt=8,
            cut_marks=True,
        ),
    )
}

DEFAULT_PRESET = "brother-62x100"


class UnknownPreset(KeyError):
    """No preset has this name."""


def get_preset(name: str) -> BadgePreset:
    """The preset called ``name``."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPreset(name) from None
