"""Dashboard forms."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from kiosk.badges.cups import valid_queue_name
from kiosk.badges.ql import parse_address
from kiosk.badges.settings import ql_formats
from kiosk.forms import DayField, LongSelect, email_field, normalise_text, plain_text, visible_name


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Staff login."""

    username = StringField(
        _l("Username"),
        filters=[normalise_text],
        validators=[DataRequired(_l("Please enter your username.")), plain_text, Length(max=80)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Please enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Log in"))


def print_backend_choices() -> list[tuple[str, str]]:
    """The print backends, named for reception staff, in values(PrintBackend) order."""
    return [
        ("browser", _("By the kiosk's browser")),
        ("cups", _("By the server, on a CUPS printer")),
        ("brother_ql", _("By the server, on a Brother QL label printer on the network")),
        ("none", _("Not automatically: reception prints them")),
    ]


def check_cups_printer(backend: str | None, printer: str | None) -> None:
    """A form check shared by the site's and the kiosk's print settings."""
    if printer and not valid_queue_name(printer):
        raise ValidationError(_("That is not a CUPS printer name."))
    if backend == "cups" and not printer:
        raise ValidationError(_("Printing on CUPS needs the printer's name."))


def check_ql_printer(backend: str | None, address: str | None, preset: str) -> None:
    """A form check shared by the site's and the kiosk's print settings: the Brother QL
    printer's address, and a badge format it can print."""
    if address and parse_address(address) is None:
        raise ValidationError(
            _("That is not a printer address: a host name or IP address, optionally with :port.")
        )
    if backend != "brother_ql":
        return
    if not address:
        raise ValidationError(_("Printing on a Brother QL printer needs its address."))
    if preset not in ql_formats():
        raise ValidationError(
            _(
                "A Brother QL printer prints these badge formats only: %(formats)s.",
                formats=", ".join(ql_formats()),
            )
        )


class KioskPrintingForm(FlaskForm):  # type: ignore[misc]
    """How one kiosk's badges are printed; "site" follows its site's setting."""

    print_backend = SelectField(_l("How badges are printed"))
    cups_printer = StringField(
        _l("CUPS printer name"), filters=[normalise_text], validators=[Length(max=127)]
    )
    ql_printer = StringField(
        _l("Brother QL printer address"),
        description=_l("A host name or IP address, optionally with :port (default 9100)."),
        filters=[normalise_text],
        validators=[Length(max=127)],
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, site_preset: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The kiosk's site's badge format, which a QL printer must be able to print.
        self.site_preset = site_preset

    def validate_cups_printer(self, field: StringField) -> None:
        check_cups_printer(self.print_backend.data, field.data)

    def validate_ql_printer(self, field: StringField) -> None:
        check_ql_printer(self.print_backend.data, field.data, self.site_preset)


class KioskKeyboardForm(FlaskForm):  # type: ignore[misc]
    """Whether one kiosk shows its own on-screen keyboard."""

    keyboard = SelectField(_l("On-screen keyboard"), validate_choice=True)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keyboard.choices = [
            ("on", _("On: the kiosk shows its own keyboard (a touchscreen)")),
            ("off", _("Off: visitors type on a hardware keyboard or the tablet's own")),
        ]


class KioskDeviceForm(FlaskForm):  # type: ignore[misc]
    """A new kiosk device: which site, and a name staff recognise it by."""

    site = SelectField(_l("Site"), coerce=int, validate_choice=True)
    name = StringField(
        _l("Kiosk name"),
        filters=[normalise_text],
        validators=[
            DataRequired(_l("Please name the kiosk, for example “Main entrance”.")),
            visible_name,
            plain_text,
            Length(max=100),
        ],
    )
    submit = SubmitField(_l("Create kiosk"))


class PasswordForm(FlaskForm):  # type: ignore[misc]
    """Change one's own password."""

    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Please enter your current password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Please enter a new password.")),
            Length(min=10, max=1024, message=_l("Please use at least 10 characters.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new", message=_l("The two new passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Change password"))


class HistoryForm(FlaskForm):  # type: ignore[misc]
    """Search the visit history (terms travel in the POST body, never in a URL)."""

    name = StringField(
        _l("Name starts with"),
        filters=[normalise_text],
        validators=[Optional(), plain_text, Length(max=200)],
    )
    company = StringField(
        _l("Company"),
        filters=[normalise_text],
        validators=[Optional(), plain_text, Length(max=200)],
    )
    host = SelectField(_l("Host"), coerce=int, validate_choice=True, widget=LongSelect())
    date_from = DayField(_l("From"), validators=[Optional()])
    date_to = DayField(_l("To"), validators=[Optional()])
    submit = SubmitField(_l("Search"))


class ExportForm(FlaskForm):  # type: ignore[misc]
    """Export the visit log of a period as CSV."""

    site = SelectField(_l("Site"), coerce=int, validate_choice=True)
    date_from = DayField(_l("From"), validators=[DataRequired(_l("Please choose a start date."))])
    date_to = DayField(_l("To"), validators=[DataRequired(_l("Please choose an end date."))])
    submit = SubmitField(_l("Download CSV"))


class InvitationForm(FlaskForm):  # type: ignore[misc]
    """Pre-register an expected visitor."""

    site = SelectField(_l("Site"), coerce=int, validate_choice=True)
    name = StringField(
        _l("Visitor's name"),
        filters=[normalise_text],
        validators=[
            DataRequired(_l("Please enter the visitor's name.")),
            visible_name,
            plain_text,
            Length(max=200),
        ],
    )
    company = StringField(
        _l("Company"),
        filters=[normalise_text],
        validators=[Optional(), plain_text, Length(max=200)],
    )
    host = SelectField(_l("Host"), coerce=int, validate_choice=True, widget=LongSelect())
    #: Shown only when a site served has several types (the kiosk asks only then).
    visitor_type = SelectField(_l("Kind of visit"), coerce=int, validate_choice=True, default=0)
    expected_on = DayField(_l("Date"), validators=[DataRequired(_l("Please choose the date."))])
    email = email_field(_l("Visitor's email (optional: sends the invitation)"))
    locale = SelectField(_l("Language of the invitation"))
    submit = SubmitField(_l("Register the visit"))
