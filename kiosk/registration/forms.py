"""Kiosk forms. Which check-in fields show, and which are required, is set per site."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, SubmitField, TelField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from kiosk.forms import IdField, normalise_text, plain_text, visible_name
from kiosk.models import FIELD_HIDDEN, FIELD_REQUIRED, Site
from kiosk.services.hosts import EMAIL_PATTERN

_TOO_LONG = _l("Please use at most %(max)d characters.")
_EMAIL = EMAIL_PATTERN.pattern
_PHONE = r"^\+?[0-9][0-9 ()./-]{4,38}$"


def _text(label: Any, max_length: int, **render: Any) -> StringField:
    render.setdefault("autocomplete", "off")
    render.setdefault("spellcheck", "false")
    return StringField(
        label,
        filters=[normalise_text],
        validators=[Optional(), plain_text, Length(max=max_length, message=_TOO_LONG)],
        render_kw=render,
    )


class CheckInForm(FlaskForm):  # type: ignore[misc]
    """A visitor's details. Use :func:`check_in_form` to get one set up for a site."""

    name = StringField(
        _l("Your name"),
        filters=[normalise_text],
        validators=[
            DataRequired(_l("Please enter your name.")),
            visible_name,
            plain_text,
            Length(max=200, message=_TOO_LONG),
        ],
        # Never let the browser suggest what an earlier visitor typed.
        render_kw={"autocomplete": "off", "autocapitalize": "words", "spellcheck": "false"},
    )
    company = _text(_l("Company"), 200)
    host_query = _text(_l("Whom are you visiting?"), 200, autocapitalize="words")
    #: Set by tapping a suggestion (JavaScript) or a choice (without); checked by the server.
    host_id = IdField()
    ask_reception = BooleanField(_l("I don't know – please ask reception"))
    purpose = _text(_l("Purpose of your visit"), 200)
    email = EmailField(
        _l("Email"),
        filters=[normalise_text],
        validators=[
            Optional(),
            Length(max=254, message=_TOO_LONG),
            Regexp(_EMAIL, message=_l("Please check the email address.")),
        ],
        render_kw={"autocomplete": "off", "inputmode": "email", "spellcheck": "false"},
    )
    phone = TelField(
        _l("Phone"),
        filters=[normalise_text],
        validators=[
            Optional(),
            Length(max=40, message=_TOO_LONG),
            Regexp(_PHONE, message=_l("Please check the phone number.")),
        ],
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )
    submit = SubmitField(_l("Continue"))


_REQUIRED_MESSAGES = {
    "company": _l("Please enter your company."),
    "purpose": _l("Please enter the purpose of your visit."),
    "email": _l("Please enter your email address."),
    "phone": _l("Please enter your phone number."),
}


def check_in_form(site: Site, **kwargs: Any) -> CheckInForm:
    """A check-in form with the site's fields: hidden ones removed, required ones enforced."""
    form = CheckInForm(**kwargs)
    if site.field_mode("host") == FIELD_HIDDEN:
        for name in ("host_query", "host_id", "ask_reception"):
            delattr(form, name)
    for name, message in _REQUIRED_MESSAGES.items():
        mode = site.field_mode(name)
        if mode == FIELD_HIDDEN:
            delattr(form, name)
        elif mode == FIELD_REQUIRED:
            field = form[name]
            # A new list per form: the field's default validators are shared by every form.
            field.validators = [DataRequired(message), *field.validators]
            field.flags.required = True
    return form


class NoticeForm(FlaskForm):  # type: ignore[misc]
    """The privacy notice: the visitor confirms having read it, or declines to register."""

    read = SubmitField(_l("I have read this – check me in"))
    decline = SubmitField(_l("I don't want to register"))


class AlreadyCheckedInForm(FlaskForm):  # type: ignore[misc]
    """A visitor who seems to be checked in already: print the badge again, or go on."""

    reprint = SubmitField(_l("Yes, print my badge again"))
    someone_else = SubmitField(_l("No, I am someone else – continue"))


class CodeForm(FlaskForm):  # type: ignore[misc]
    """One code: scanned by a barcode scanner (it types and presses Enter) or typed."""

    code = StringField(
        _l("Code"),
        filters=[normalise_text],
        validators=[
            DataRequired(_l("Please scan the code or type it.")),
            Length(max=300, message=_TOO_LONG),
        ],
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "autofocus": True,
        },
    )
    submit = SubmitField(_l("Continue"))


class LanguageForm(FlaskForm):  # type: ignore[misc]
    """The language picker: one button per language."""

    locale = StringField(validators=[DataRequired(), Length(max=8)])
    next = StringField(validators=[Optional(), Length(max=40)])
