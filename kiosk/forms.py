"""Shared form pieces: input normalisation and the text checks every field uses."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import BadRequest
from wtforms import HiddenField
from wtforms.validators import ValidationError

from kiosk.db import ID_MAX

# C0/C1 controls (NUL included: PostgreSQL rejects it in text), line and paragraph separators,
# and the bidirectional overrides and isolates that can make a name display as something else.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def normalise_text(value: object) -> object:
    """Normalise a one-line input to NFC without outer spaces; checks come after."""
    if not isinstance(value, str):
        return value
    return unicodedata.normalize("NFC", value).strip()


def is_plain_text(text: str) -> bool:
    """Whether ``text`` has no control characters or direction overrides."""
    return _FORBIDDEN.search(text) is None


#: Letters (category Lo) that draw nothing: the Hangul fillers.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def has_letter_or_digit(text: str) -> bool:
    """Whether ``text`` has a visible letter or digit (Unicode categories L and N).

    A name made only of zero-width characters, joiners, soft hyphens, combining marks alone,
    fillers, blanks, private-use or tag characters prints a blank badge.
    """
    return any(
        unicodedata.category(char)[0] in "LN" and char not in _INVISIBLE_LETTERS for char in text
    )


def visible_name(_form: Any, field: Any) -> None:
    """A name needs at least one letter or digit; the message is in the reader's language."""
    if isinstance(field.data, str) and field.data and not has_letter_or_digit(field.data):
        raise ValidationError(_l("Please enter a name with at least one letter or digit."))


def plain_text(_form: Any, field: Any) -> None:
    """Refuse control characters and direction overrides, with a message the visitor reads."""
    if isinstance(field.data, str) and not is_plain_text(field.data):
        raise ValidationError(_l("Please use only letters, digits and ordinary punctuation."))


def collapse_spaces(text: str | None) -> str | None:
    """Inner runs of spaces become one; empty becomes None."""
    if not text:
        return None
    return " ".join(text.split()) or None


class ButtonForm(FlaskForm):  # type: ignore[misc]
    """An empty form: only the CSRF token, for POST buttons."""


def parse_id(value: object) -> int | None:
    """A record id from a form value: ASCII digits from 1 to :data:`kiosk.db.ID_MAX`, else
    None (spaces around it are allowed; other scripts' digits, which ``int()`` reads, not)."""
    if not isinstance(value, str):
        return None
    text = value.strip(" ")
    if re.fullmatch(r"[0-9]{1,10}", text) and 1 <= int(text) <= ID_MAX:
        return int(text)
    return None


class IdField(HiddenField):  # type: ignore[misc]
    """A hidden record id: ASCII digits from 1 to :data:`kiosk.db.ID_MAX`, else no id at all.

    Set by the page (a tapped suggestion), never typed: anything else (spaces, line
    separators, another script's digits, a number beyond the database's range, a file) is
    treated as if the field were empty, and the view falls back to what the visitor typed.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = parse_id(valuelist[0]) if valuelist else None

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)


class UnexpectedFile(BadRequest):
    """A file was uploaded under a name the page does not take a file for."""


F = TypeVar("F", bound=Callable[..., Any])


def accepts_files(*names: str) -> Callable[[F], F]:
    """Let a view take uploaded files under these field names (below ``login_required``).

    Every other view, and every other name, refuses a file with a 400 before the view runs:
    a file where a form expects text would otherwise reach validators and views written for
    strings.
    """

    def mark(view: F) -> F:
        view.accepted_files = frozenset(names)  # type: ignore[attr-defined]
        return view

    return mark


def refuse_unexpected_files() -> None:
    """Before every request: refuse a multipart file part the view did not ask for."""
    if request.mimetype != "multipart/form-data" or not request.files:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    accepted: frozenset[str] = getattr(view, "accepted_files", frozenset())
    if any(name not in accepted for name in request.files):
        raise UnexpectedFile()
