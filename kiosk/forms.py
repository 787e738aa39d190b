"""Shared form pieces: input normalisation, the text checks every field uses, and the fields
(text, email, phone) and forms that the kiosk and the dashboard both show."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from flask import abort, current_app, request
from flask_babel import format_date, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from werkzeug.exceptions import BadRequest
from wtforms import DateField, EmailField, HiddenField, StringField, SubmitField, TelField, widgets
from wtforms.validators import Length, Optional, Regexp, ValidationError
from wtforms.widgets import Select, core

from kiosk.db import ID_MAX
from kiosk.urls import is_api_request

# C0/C1 controls (NUL included: PostgreSQL rejects it in text), line and paragraph separators,
# and the bidirectional overrides and isolates that can make a name display as something else.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f]")


#: An email address as every form checks it: no spaces or control characters (NUL included:
#: PostgreSQL refuses it in text), one @, a dot in the domain.
EMAIL_PATTERN = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
#: A phone number as a visitor types it: digits, an optional leading +, spaces and ()./-.
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ()./-]{4,38}$")

TOO_LONG = _l("Please use at most %(max)d characters.")

#: WTForms' own attribute writer, kept for the test that holds ours to the same text.
WTFORMS_HTML_PARAMS = core.html_params


def html_params(**attributes: Any) -> Markup:
    """WTForms' ``html_params``, the same text, one f-string an attribute.

    WTForms 3 writes each attribute through ``Markup.format`` (Python's ``string.Formatter``,
    escaping the name and the value on the way), and a kiosk form page writes about sixty of
    them: a sixth of the check-in form's CPU (bench/README.md, "Form attributes"). As WTForms:
    sorted by name, ``class_`` and ``for_`` without their underscore, ``data_`` and ``aria_``
    with hyphens, ``True`` a bare attribute, ``False`` none, every value escaped and its
    double quotes (in markup, not escaped) written ``&quot;``."""
    written: list[str] = []
    for key, value in sorted(attributes.items()):
        name = escape(core.clean_key(key))
        if value is True:
            written.append(name)
        elif value is not False:
            text = str(escape(value)).replace('"', "&quot;")
            written.append(f'{name}="{text}"')
    return Markup(" ".join(written))  # noqa: S704 - each name and value escaped above


def use_faster_attributes() -> None:
    """Have WTForms write every attribute with :func:`html_params`: inputs and buttons through
    their class's hook (``html_params``, there to be replaced), text areas, selects and
    options through their module's function, and labels through the package's."""
    core.Input.html_params = staticmethod(html_params)
    core.Button.html_params = staticmethod(html_params)
    core.html_params = html_params
    widgets.html_params = html_params


class LongSelect(Select):  # type: ignore[misc]
    """WTForms' ``Select`` for a long list of plain ``(value, label)`` choices (every host of
    every site served), writing the same HTML with one f-string an option: WTForms makes
    three objects and an ``html_params`` call an option, ~45 µs, and a select of 200 hosts
    was a fifth of the history page's time (bench/dashboard.py). Any other kind of choices
    (groups, render_kw, a callable, a multiple select) is left to ``Select``."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        choices = field.choices
        if (
            self.multiple
            or not isinstance(choices, list)
            or not all(type(choice) is tuple and len(choice) == 2 for choice in choices)
        ):
            rendered: Markup = super().__call__(field, **kwargs)
            return rendered
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for name in dir(flags):
            if name in self.validation_attrs and name not in kwargs:
                kwargs[name] = getattr(flags, name)
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        coerce, data = field.coerce, field.data
        for value, label in choices:
            shown = str(value) if isinstance(value, bool) else value
            # html_params orders the attributes by name: "selected" before "value".
            selected = "selected " if coerce(value) == data else ""
            html.append(
                f'<option {selected}value="{escape(shown)}">{escape(label or shown)}</option>'
            )
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 - each value and label escaped above


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


def text_field(label: Any, max_length: int, *required: Any, **render: Any) -> StringField:
    """A one-line text field: normalised, plain text, at most ``max_length`` characters.

    Optional unless validators such as ``DataRequired(...)`` are given. The browser is never
    asked to remember or correct it (``render`` can add to that, e.g. ``autocapitalize``).
    """
    render.setdefault("autocomplete", "off")
    render.setdefault("spellcheck", "false")
    return StringField(
        label,
        filters=[normalise_text],
        validators=[
            *(required or [Optional()]),
            plain_text,
            Length(max=max_length, message=TOO_LONG),
        ],
        render_kw=render,
    )


def email_field(label: Any) -> EmailField:
    """An optional email address, checked the same way wherever one is entered."""
    return EmailField(
        label,
        filters=[normalise_text],
        validators=[
            Optional(),
            Length(max=254, message=TOO_LONG),
            Regexp(EMAIL_PATTERN.pattern, message=_l("Please check the email address.")),
        ],
        render_kw={"autocomplete": "off", "inputmode": "email", "spellcheck": "false"},
    )


def phone_field(label: Any) -> TelField:
    """An optional phone number, checked the same way wherever one is entered."""
    return TelField(
        label,
        filters=[normalise_text],
        validators=[
            Optional(),
            Length(max=40, message=TOO_LONG),
            Regexp(PHONE_PATTERN.pattern, message=_l("Please check the phone number.")),
        ],
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )


class NoticeForm(FlaskForm):  # type: ignore[misc]
    """The privacy notice: the visitor confirms having read it, or declines to register.

    Here rather than with the kiosk's forms because the dashboard's notice preview renders the
    kiosk's notice screen with it.
    """

    read = SubmitField(_l("I have read this – check me in"))
    decline = SubmitField(_l("I don't want to register"))


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


#: The days a date typed into a form or a URL may be: any visit's, any invitation's. Python's
#: calendar ends at 0001-01-01 and 9999-12-31, and a day at either end stepped over on a
#: site's clock (its UTC bounds, the next day, plus a retention of up to ten years) falls
#: outside it: an export from 0001-01-01 and an audit log until 9999-12-31 were 500s.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2199, 12, 31)


def parse_day(value: object) -> date | None:
    """A day from a URL parameter (ISO 8601, ``2026-03-04``) between FIRST_DAY and LAST_DAY,
    else None."""
    if not isinstance(value, str):
        return None
    try:
        day = date.fromisoformat(value.strip(" "))
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


class DayField(DateField):  # type: ignore[misc]
    """WTForms' ``DateField`` for a day between FIRST_DAY and LAST_DAY: a real date outside
    them is a form error that says which days may be chosen, not a failure further on."""

    def pre_validate(self, form: Any) -> None:
        if self.data is not None and not FIRST_DAY <= self.data <= LAST_DAY:
            raise ValidationError(
                gettext(
                    "Please choose a day from %(first)s to %(last)s.",
                    first=format_date(FIRST_DAY, "long"),
                    last=format_date(LAST_DAY, "long"),
                )
            )


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


def refuse_json_bodies() -> None:
    """Before every request: a page's forms take form fields, never a JSON body.

    Flask-WTF reads a JSON body as the form's data when there is no form data, and a body that
    is not an object of fields (a list, a string, arrays nested thousands deep) raised from
    inside the form, a 500, once the CSRF token came in its header. The REST API
    (kiosk.api) reads JSON itself and is left alone."""
    if request.method in {"GET", "HEAD", "OPTIONS"} or not request.is_json or is_api_request():
        return
    abort(415)


def refuse_unexpected_files() -> None:
    """Before every request: refuse a multipart file part the view did not ask for."""
    if request.mimetype != "multipart/form-data" or not request.files:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    accepted: frozenset[str] = getattr(view, "accepted_files", frozenset())
    if any(name not in accepted for name in request.files):
        raise UnexpectedFile()
