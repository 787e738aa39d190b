"""Text helpers below the models: visitor names as searches see them, folded (no case, no
accents) and split into words."""

from __future__ import annotations

import re
import unicodedata

_WORD_SEPARATORS = re.compile(r"[\s\-‐‑'’.,]+")


def fold(text: str) -> str:
    """``text`` without case or accents, for matching ("Åsa Öberg" -> "asa oberg")."""
    if text.isascii():
        # Nothing to decompose: most names, and half the cost of a search that folds
        # every invitation's name (kiosk.privacy.requests.find_person).
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def name_words(text: str) -> list[str]:
    """The folded words of a name, each once, in order ("Åsa Öberg-Lind" -> asa, oberg, lind)."""
    return list(dict.fromkeys(word for word in _WORD_SEPARATORS.split(fold(text)) if word))


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string above every string that starts with ``prefix`` (code point order),
    so ``prefix <= word < bound`` is a prefix match an ordinary index can answer; None when
    there is no such string (the prefix ends in the last code point)."""
    for end in range(len(prefix) - 1, -1, -1):
        point = ord(prefix[end]) + 1
        if 0xD800 <= point <= 0xDFFF:  # surrogates are not characters: skip past them
            point = 0xE000
        if point <= 0x10FFFF:
            return prefix[:end] + chr(point)
    return None
