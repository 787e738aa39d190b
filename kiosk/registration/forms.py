"""Kiosk forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from kiosk.forms import clean_line

#: The "I don't know whom I visit" choice in the host list.
ASK_RECEPTION = 0


class CheckInForm(FlaskForm):  # type: ignore[misc]
    """A visitor's check-in details."""

    name = StringField(
        _l("Your name"),
        filters=[clean_line],
        validators=[DataRequired(_l("Please enter your name.")), Length(max=200)],
        render_kw={"autocomplete": "off", "autocapitalize": "words", "spellcheck": "false"},
    )
    company = StringField(
        _l("Company"),
        filters=[clean_line],
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    host = SelectField(
        _l("Whom are you visiting?"),
        coerce=int,
        validate_choice=True,
    )
    submit = SubmitField(_l("Check in"))


class LanguageForm(FlaskForm):  # type: ignore[misc]
    """The language picker: one button per language."""

    locale = StringField(validators=[DataRequired(), Length(max=8)])
