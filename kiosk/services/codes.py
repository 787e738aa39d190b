"""Random codes: unguessable tokens for QR codes, short codes people can type."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import UTC, date, datetime

#: Tokens carry 144 random bits (at least 128 are required), URL-safe, 24 characters.
TOKEN_BYTES = 18
#: Short codes avoid characters people confuse when typing (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")


def new_token() -> str:
    """A random, unguessable token; never derived from personal data."""
    return secrets.token_urlsafe(TOKEN_BYTES)


_DAY_ZERO = date(2000, 1, 1)


def day_number(moment: datetime) -> int:
    """Days from 2000-01-01 to ``moment``'s date in UTC: what badge tokens and short codes
    start with (kiosk.services.visits), so that their indexes hold each day's together."""
    return (moment.astimezone(UTC).date() - _DAY_ZERO).days


def new_code(length: int) -> str:
    """A random code short enough to type."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalise_code(text: str) -> str:
    """What a person typed, as a code: upper case, without spaces, dashes or invisible
    characters; full-width letters and digits (an East Asian keyboard's) read as the plain
    ones (NFKC). An outside fuzz found full-width codes refused and a zero-width space
    refused in invitation codes."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(
        char
        for char in folded
        if not char.isspace() and unicodedata.category(char) not in _LEFT_OUT
    ).upper()


#: Dashes of every kind (Pd) and invisible format characters (Cf: zero-width space and joiner,
#: direction marks).
_LEFT_OUT = frozenset({"Pd", "Cf"})


def is_code(text: str, length: int) -> bool:
    """Whether ``text`` (normalised) looks like a code of this length."""
    return len(text) == length and all(char in CODE_ALPHABET for char in text)


def scanned_token(text: str) -> str | None:
    """The token in what a scanner typed: the token itself, or a URL ending in it."""
    candidate = text.strip().split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return candidate if _TOKEN.fullmatch(candidate) else None


def digest(secret: str) -> str:
    """SHA-256 of a one-time secret, for storing it without keeping it."""
    return hashlib.sha256(secret.encode()).hexdigest()
