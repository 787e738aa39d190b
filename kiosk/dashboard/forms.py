"""Dashboard forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from kiosk.forms import normalise_text, plain_text


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Staff login."""

    username = StringField(
        _l("Username"),
        filters=[normalise_text],
        validators=[DataRequired(_l("Please enter your username.")), Length(max=80)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Please enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Log in"))


class KioskDeviceForm(FlaskForm):  # type: ignore[misc]
    """A new kiosk device: which site, and a name staff recognise it by."""

    site = SelectField(_l("Site"), coerce=int, validate_choice=True)
    name = StringField(
        _l("Kiosk name"),
        filters=[normalise_text],
        validators=[
            DataRequired(_l("Please name the kiosk, for example “Main entrance”.")),
            plain_text,
            Length(max=100),
        ],
    )
    submit = SubmitField(_l("Create kiosk"))
