"""Forms of the data-subject request screens (kiosk.dashboard.privacy)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Optional

from kiosk.forms import email_field, phone_field, text_field, visible_name


class PersonSearchForm(FlaskForm):  # type: ignore[misc]
    """Find one person's records by name, email or both (sent in the body, never the URL)."""

    name = text_field(_l("Name"), 200)
    email = text_field(_l("Email"), 254)
    submit = SubmitField(_l("Find"))

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not (self.name.data or self.email.data):
            self.form_errors.append(_l("Please enter a name, an email address or both."))
            return False
        return True


class ExportForm(FlaskForm):  # type: ignore[misc]
    """The records chosen in the search results, and the language of the PDF."""

    #: Without a choice, the language the person last used at the kiosk.
    # strip_whitespace=False: a blank but not empty value must still be a valid choice.
    language = SelectField(_l("Language of the PDF"), validators=[Optional(strip_whitespace=False)])


class EraseForm(FlaskForm):  # type: ignore[misc]
    """Confirming an erasure: why, and that the records really are the person's."""

    reason = RadioField(_l("Why"), validators=[InputRequired(_l("Please choose why."))])
    confirm = BooleanField(
        _l("I have checked that these records are this person's"),
        validators=[DataRequired(_l("Please confirm that you have checked the records."))],
    )
    submit = SubmitField(_l("Erase now"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reason.choices = [
            ("erasure", _l("The person asked for erasure")),
            ("objection", _l("The person objected, and the objection is upheld")),
        ]


class RectifyForm(FlaskForm):  # type: ignore[misc]
    """Correcting a visit's personal data."""

    visitor_name = text_field(
        _l("Name"), 200, DataRequired(_l("Please enter a name.")), visible_name
    )
    company = text_field(_l("Company"), 200)
    # The kiosk's own checks, so a correction obeys the rules the visitor's entry did.
    email = email_field(_l("Email"))
    phone = phone_field(_l("Phone"))
    purpose = text_field(_l("Purpose of the visit"), 200)
    submit = SubmitField(_l("Save the correction"))
