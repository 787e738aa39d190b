"""Badge fonts: a TrueType font embedded in every PDF, with fallbacks for scripts it lacks.

Registering a TrueType font costs tens of milliseconds (PERFORMANCE.md), so each font file is
registered once per process and then shared by every badge, evacuation list and data-subject
access report (:func:`app_fonts` is the one place the app's settings are read).
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import reportlab
from flask import current_app
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace

from kiosk.badges.shaping import display_text

log = logging.getLogger(__name__)

#: DejaVu Sans (Debian's fonts-dejavu-core) covers Latin, Greek, Cyrillic, Hebrew and Arabic.
DEFAULT_REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEFAULT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
#: Tried in order for characters the main font lacks: Chinese and Japanese (Debian's
#: fonts-droid-fallback), Korean (fonts-nanum). Fonts with PostScript (CFF) outlines cannot
#: be embedded by reportlab, which is why Noto CJK is not on this list.
DEFAULT_FALLBACKS = (
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
)
#: reportlab ships Bitstream Vera (DejaVu's ancestor, Latin only): the last resort, so a badge
#: is printed even on a machine without any font package.
_BUNDLED = Path(reportlab.__file__).parent / "fonts"
BUNDLED_REGULAR = str(_BUNDLED / "Vera.ttf")
BUNDLED_BOLD = str(_BUNDLED / "VeraBd.ttf")


@dataclass(frozen=True, eq=False)
class Face:
    """A registered TrueType font: its reportlab name, which characters it has, their widths."""

    name: str
    path: str
    glyphs: frozenset[int]
    #: Advance widths in thousandths of the font size, by code point.
    widths: dict[int, float]
    default_width: float

    def has(self, char: str) -> bool:
        return ord(char) in self.glyphs

    def char_width(self, char: str) -> float:
        """Width of ``char`` at size 1."""
        return self.widths.get(ord(char), self.default_width) / 1000


@dataclass(frozen=True, eq=False)
class FontSet:
    """The fonts a badge is drawn with."""

    regular: Face
    bold: Face
    fallbacks: tuple[Face, ...]

    def runs(self, text: str, face: Face) -> Iterator[tuple[Face, str]]:
        """Split ``text`` into runs, each drawn in ``face`` or the first fallback that has it.

        A character no font has stays in ``face`` and prints as its empty-box glyph.
        """
        if not text:
            return
        current = face
        start = 0
        for index, char in enumerate(text):
            wanted = self._face_for(char, face)
            if wanted is not current:
                if index > start:
                    yield current, text[start:index]
                current, start = wanted, index
        yield current, text[start:]

    def _face_for(self, char: str, face: Face) -> Face:
        if face.has(char) or char == " ":
            return face
        for fallback in self.fallbacks:
            if fallback.has(char):
                return fallback
        return face

    def width(self, text: str, face: Face) -> float:
        """Width of ``text`` at size 1, each character measured in the font that draws it.

        Right-to-left text is measured as drawn (Arabic in its joined forms), so it is fitted
        and centred by the glyphs that end up on paper.
        """
        text = display_text(text)
        total = 0.0
        for char in text:
            total += self._face_for(char, face).char_width(char)
        return total


class _CachedSubsets(TTFontFace):
    """A font face whose subsets are made and compressed once per process.

    Every PDF embeds the subset of each font it draws with: reportlab cuts it out of the font
    file and compresses it (two of them, 36 KB each, were 2.3 of a badge's 4.4 ms). A badge's
    subsets are the same from one badge to the next (:data:`SUBSET_SEED`), so the bytes are
    kept here, the same bytes reportlab would have written: the subset that ``makeSubset``
    makes, compressed at zlib's default level as reportlab's FlateDecode filter does."""

    def makeSubset(self, subset: Sequence[Any]) -> bytes:  # noqa: N802 - reportlab's name
        return _subset_bytes(self, tuple(subset))

    def addSubsetObjects(self, doc: Any, fontname: str, subset: list[int]) -> Any:  # noqa: N802
        reference = super().addSubsetObjects(doc, fontname, subset)  # type: ignore[no-untyped-call]
        # The stream reportlab just made for the subset (its name is reportlab's own).
        stream = doc.idToObject.get(f"fontFile:{self.filename}({fontname})")
        if stream is not None and stream.filters == [pdfdoc.PDFZCompress]:
            # Compressed already: reportlab applies no filter to a stream that names one.
            stream.content = _compressed_subset(self, tuple(subset))
            stream.filters = None
            stream.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
        return reference


#: A few subsets per face: a badge's, an evacuation list's, a report's. Each holds 30-40 KB.
_SUBSETS_KEPT = 12


@lru_cache(maxsize=_SUBSETS_KEPT)
def _subset_bytes(face: _CachedSubsets, subset: tuple[int, ...]) -> bytes:
    return bytes(TTFontFace.makeSubset(face, list(subset)))


@lru_cache(maxsize=_SUBSETS_KEPT)
def _compressed_subset(face: _CachedSubsets, subset: tuple[int, ...]) -> bytes:
    return zlib.compress(_subset_bytes(face, subset))


#: Characters each badge font takes into its subset before anything is drawn, so that the
#: subset is the same for every badge whose text is ASCII and these (reportlab gives a
#: subset's codes in the order characters are first drawn, ASCII aside): the letters of the
#: six languages' names and words, and the punctuation and spaces dates and labels use. A few
#: KB more font in a badge; its subsets made once (_CachedSubsets).
SUBSET_SEED = (
    "åäöÅÄÖæøÆØüÜéÉèêëáàâíóôúñçß"  # Swedish, Norwegian, Danish, Finnish, German; common names
    "–—’‘“”…·«»"  # punctuation in labels and dates
    "\u00a0\u202f"  # the no-break spaces Babel puts in dates and times
)


def seed_subsets(canvas: Any, fonts: FontSet) -> None:
    """Give the main fonts' subsets of this canvas :data:`SUBSET_SEED`'s characters first."""
    for face in {fonts.regular.name: fonts.regular, fonts.bold.name: fonts.bold}.values():
        seed = "".join(char for char in SUBSET_SEED if face.has(char))
        font = pdfmetrics.getFont(face.name)
        if isinstance(font, TTFont):
            font.splitString(seed, canvas._doc)


def _register(path: str) -> Face:
    """Register one TrueType file with reportlab (once per process) and describe it."""
    digest = hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()[:8]
    name = f"kiosk-{Path(path).stem}-{digest}"
    font = TTFont(name, path)
    # TTFont makes its face itself; the face is given the caching subclass's methods (it adds
    # no state of its own).
    font.face.__class__ = _CachedSubsets
    pdfmetrics.registerFont(font)
    face = font.face
    return Face(
        name=name,
        path=path,
        glyphs=frozenset(face.charToGlyph),
        widths=dict(face.charWidths),
        default_width=float(face.defaultWidth),
    )


@cache
def _face(path: str) -> Face | None:
    try:
        return _register(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable font is skipped the same way
        log.warning("font %s cannot be used: %s", path, type(exc).__name__)
        return None


def _first_usable(paths: Sequence[str]) -> Face:
    for path in paths:
        if Path(path).is_file():
            face = _face(path)
            if face is not None:
                return face
    raise FileNotFoundError(f"no usable font among {list(paths)}")


@cache
def load_fonts(
    regular: str | None = None, bold: str | None = None, fallbacks: tuple[str, ...] | None = None
) -> FontSet:
    """The badge fonts, registered once per process.

    ``None`` means the default: DejaVu Sans when installed, else reportlab's own Vera.
    """
    regular_face = _first_usable([regular or DEFAULT_REGULAR, BUNDLED_REGULAR])
    bold_face = _first_usable([bold or DEFAULT_BOLD, regular_face.path, BUNDLED_BOLD])
    if regular_face.path == BUNDLED_REGULAR:
        log.warning("DejaVu Sans is not installed: badges print Latin names only")
    found = []
    for path in DEFAULT_FALLBACKS if fallbacks is None else fallbacks:
        face = _face(path) if Path(path).is_file() else None
        if face is not None:
            found.append(face)
    return FontSet(regular=regular_face, bold=bold_face, fallbacks=tuple(found))


def app_fonts() -> FontSet:
    """The fonts the app's settings name (``BADGE_FONT`` …), registered once per process."""
    config = current_app.config
    fallbacks = config["BADGE_FALLBACK_FONTS"]
    if isinstance(fallbacks, str):
        fallbacks = [fallbacks]  # one file given as a plain string
    return load_fonts(
        config["BADGE_FONT"],
        config["BADGE_FONT_BOLD"],
        None if fallbacks is None else tuple(str(path) for path in fallbacks),
    )
