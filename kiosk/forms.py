"""Shared form pieces: input cleaning that every text field uses."""

from __future__ import annotations

import re
import unicodedata

from flask_wtf import FlaskForm

# C0/C1 control characters (NUL included: PostgreSQL rejects it in text) and Unicode
# separators that have no business in a one-line field.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_line(value: object) -> object:
    """Normalise a one-line text input: NFC, no control characters, no outer spaces."""
    if not isinstance(value, str):
        return value
    value = unicodedata.normalize("NFC", value)
    return " ".join(_CONTROL.sub(" ", value).split())


class ButtonForm(FlaskForm):  # type: ignore[misc]
    """An empty form: only the CSRF token, for POST buttons."""
