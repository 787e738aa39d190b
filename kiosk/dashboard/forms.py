"""Dashboard forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from kiosk.forms import clean_line


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Staff login."""

    username = StringField(
        _l("Username"),
        filters=[clean_line],
        validators=[DataRequired(_l("Please enter your username.")), Length(max=80)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Please enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Log in"))
