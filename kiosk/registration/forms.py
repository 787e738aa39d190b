"""Kiosk forms. Which check-in fields show, and which are required, is set per site."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from kiosk.enums import FieldMode
from kiosk.forms import (
    TOO_LONG,
    IdField,
    email_field,
    normalise_text,
    phone_field,
    text_field,
    visible_name,
)
from kiosk.models import Site, VisitorType


class CheckInForm(FlaskForm):  # type: ignore[misc]
    """A visitor's details. Use :func:`check_in_form` to get one set up for a site."""

    # Never let the browser suggest what an earlier visitor typed (text_field's autocomplete).
    name = text_field(
        _l("Your name"),
        200,
        DataRequired(_l("Please enter your name.")),
        visible_name,
        autocapitalize="words",
    )
    company = text_field(_l("Company"), 200)
    host_query = text_field(_l("Whom are you visiting?"), 200, autocapitalize="words")
    #: Set by tapping a suggestion (JavaScript) or a choice (without); checked by the server.
    host_id = IdField()
    ask_reception = BooleanField(_l("I don't know – please ask reception"))
    purpose = text_field(_l("Purpose of your visit"), 200)
    email = email_field(_l("Email"))
    phone = phone_field(_l("Phone"))
    submit = SubmitField(_l("Continue"))


_REQUIRED_MESSAGES = {
    "company": _l("Please enter your company."),
    "purpose": _l("Please enter the purpose of your visit."),
    "email": _l("Please enter your email address."),
    "phone": _l("Please enter your phone number."),
}


def check_in_form(modes: Site | VisitorType, **kwargs: Any) -> CheckInForm:
    """A check-in form with the fields of a site or of a visitor type (whose modes fall back
    to its site's): hidden ones removed, required ones enforced."""
    form = CheckInForm(**kwargs)
    if modes.field_mode("host") == FieldMode.HIDDEN:
        for name in ("host_query", "host_id", "ask_reception"):
            delattr(form, name)
    for name, message in _REQUIRED_MESSAGES.items():
        mode = modes.field_mode(name)
        if mode == FieldMode.HIDDEN:
            delattr(form, name)
        elif mode == FieldMode.REQUIRED:
            field = form[name]
            # A new list per form: the field's default validators are shared by every form.
            field.validators = [DataRequired(message), *field.validators]
            field.flags.required = True
    return form


def form_steps(modes: Site | VisitorType) -> int:
    """How many steps the guided check-in form has for these modes: the name, then each field
    :func:`check_in_form` keeps (registration/check_in.html makes a step of each)."""
    shown = ("host", *_REQUIRED_MESSAGES)
    return 1 + sum(1 for name in shown if modes.field_mode(name) != FieldMode.HIDDEN)


class VisitorTypeForm(FlaskForm):  # type: ignore[misc]
    """The kind of visit: each type is a button whose value is the type's id."""

    visitor_type = IdField()


class AlreadyCheckedInForm(FlaskForm):  # type: ignore[misc]
    """A visitor who seems to be checked in already: someone else of the same name goes on
    (the one who is checked in asks reception for their badge)."""

    someone_else = SubmitField(_l("No, I am someone else – continue"))


class CodeForm(FlaskForm):  # type: ignore[misc]
    """One code: scanned by a barcode scanner (it types and presses Enter) or typed."""

    code = StringField(
        _l("Code"),
        filters=[normalise_text],
        validators=[
            DataRequired(_l("Please scan the code or type it.")),
            Length(max=300, message=TOO_LONG),
        ],
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "autofocus": True,
            # The on-screen keyboard opens with the screen (static/js/keyboard.js).
            "data-osk-open": True,
        },
    )
    submit = SubmitField(_l("Continue"))


class LanguageForm(FlaskForm):  # type: ignore[misc]
    """The language picker: one button per language."""

    locale = StringField(validators=[DataRequired(), Length(max=8)])
    next = StringField(validators=[Optional(), Length(max=40)])


class SignDocumentForm(FlaskForm):  # type: ignore[misc]
    """One document to sign: the drawn signature (a PNG data URL from the pad) or the tick,
    or "I don't want to sign"."""

    version = IdField()
    #: Whose turn it was, in a group (1: the visitor who filled in the form, 2 and on their
    #: companions): a screen signed after the kiosk moved on to the next person is refused.
    signer = IdField()
    #: Checked by kiosk.services.signatures, which bounds its size before decoding it.
    signature = HiddenField()
    accept = BooleanField(_l("I have read this document and I accept it"))
    sign = SubmitField(_l("Sign and continue"))
    decline = SubmitField(_l("I don't want to sign"))
