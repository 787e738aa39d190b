"""Right-to-left text for our PDFs: Arabic letters joined, Hebrew and Arabic in visual order.

reportlab draws the characters it is given one after another, left to right, each in its
stand-alone form: an Arabic name would come out as separate letters in reverse. Every PDF we
draw (badges, the evacuation list, the data-subject report) passes its text through
:func:`display_text` first, which joins Arabic letters into their contextual presentation forms
(``arabic-reshaper``) and reorders the line with the Unicode bidirectional algorithm
(``python-bidi``), so reportlab can draw the result left to right as it is.

Text with no right-to-left character is returned as it is, without calling either library:
almost every name takes that path, and badges stay as fast as before.
"""

from __future__ import annotations

import re

from arabic_reshaper import ArabicReshaper
from bidi import get_display

#: Hebrew, Arabic, Syriac, Thaana, N'Ko, Samaritan, Mandaic and the Arabic extensions, Hebrew
#: and Arabic presentation forms, and the right-to-left scripts of the supplementary planes.
_RTL_CHAR = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff]"
)

#: The first right-to-left code point: a quick test lets most text skip the regular expression.
_FIRST_RTL = "\u0590"

#: Our badge font (DejaVu Sans) has every Arabic contextual form and the four lam-alef
#: ligatures, but not the word ligatures (such as U+FDF2 for "Allah"), which would print as an
#: empty box: only the ligatures the font has are used. Vowel marks (harakat) are dropped, as
#: reportlab cannot place a mark over its letter; the letters themselves are all kept.
_RESHAPER = ArabicReshaper(
    configuration={
        "delete_harakat": True,
        "support_ligatures": True,
        "ARABIC LIGATURE ALLAH": False,
    }
)


def has_rtl(text: str) -> bool:
    """Whether ``text`` has a character of a right-to-left script."""
    return bool(text) and max(text) >= _FIRST_RTL and _RTL_CHAR.search(text) is not None


def display_text(text: str) -> str:
    """``text`` as it is drawn left to right on a PDF: Arabic joined, right-to-left runs reversed.

    One line at a time: wrapping happens before (on the text as typed), so that the first
    words of a name stay on the first line. The paragraph's direction is that of its first
    strong character, as a browser's ``dir="auto"`` does; a Latin name with an Arabic part
    keeps its Latin words left to right.
    """
    if not has_rtl(text):
        return text
    shaped: str = get_display(_RESHAPER.reshape(text))
    return shaped
