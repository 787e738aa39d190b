"""Shared form pieces: input normalisation and the text checks every field uses."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.validators import ValidationError

# C0/C1 controls (NUL included: PostgreSQL rejects it in text), line and paragraph separators,
# and the bidirectional overrides and isolates that can make a name display as something else.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def normalise_text(value: object) -> object:
    """Normalise a one-line input to NFC without outer spaces; checks come after."""
    if not isinstance(value, str):
        return value
    return unicodedata.normalize("NFC", value).strip()


def contains_forbidden(text: str) -> bool:
    """Whether ``text`` holds a control character or a direction override (see plain_text)."""
    return _FORBIDDEN.search(text) is not None


def plain_text(_form: Any, field: Any) -> None:
    """Refuse control characters and direction overrides, with a message the visitor reads."""
    if isinstance(field.data, str) and contains_forbidden(field.data):
        raise ValidationError(_l("Please use only letters, digits and ordinary punctuation."))


def collapse_spaces(text: str | None) -> str | None:
    """Inner runs of spaces become one; empty becomes None."""
    if not text:
        return None
    return " ".join(text.split()) or None


class ButtonForm(FlaskForm):  # type: ignore[misc]
    """An empty form: only the CSRF token, for POST buttons."""
