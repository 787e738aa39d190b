"""Names as searches see them (kiosk.text): folded and split into words."""

from __future__ import annotations

import random
import unicodedata

from kiosk.text import fold, name_words


def slow_fold(text: str) -> str:
    """fold() without its shortcut for ASCII text: decompose, drop the marks, casefold."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def test_folding_ascii_text_takes_the_shortcut_to_the_same_result():
    every_ascii = "".join(chr(point) for point in range(128))
    assert fold(every_ascii) == slow_fold(every_ascii)
    picked = random.Random(20261206)
    for _ in range(500):
        text = "".join(chr(picked.randrange(128)) for _ in range(picked.randrange(1, 30)))
        assert fold(text) == slow_fold(text)


def test_folding_removes_case_and_accents_beyond_ascii():
    assert fold("Åsa ÖBERG-Lindqvist") == "asa oberg-lindqvist"
    assert fold("İlknur Straße") == "ilknur strasse"
    assert fold("ﬁona") == "fiona"  # a compatibility ligature
    assert name_words("  Åsa   Öberg-Lind ") == ["asa", "oberg", "lind"]
