"""Forms of the data-subject request screens."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from kiosk.forms import normalise_text, plain_text, visible_name
from kiosk.registration.forms import CheckInForm

_TOO_LONG = _l("Please use at most %(max)d characters.")


def _text(label: Any, max_length: int, *required: Any) -> StringField:
    return StringField(
        label,
        filters=[normalise_text],
        validators=[
            *required,
            *([] if required else [Optional()]),
            plain_text,
            Length(max=max_length, message=_TOO_LONG),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class PersonSearchForm(FlaskForm):  # type: ignore[misc]
    """Find one person's records by name, email or both (sent in the body, never the URL)."""

    name = _text(_l("Name"), 200)
    email = _text(_l("Email"), 254)
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

    visitor_name = _text(_l("Name"), 200, DataRequired(_l("Please enter a name.")), visible_name)
    company = _text(_l("Company"), 200)
    # The kiosk's own checks, so a correction obeys the rules the visitor's entry did.
    email = CheckInForm.email
    phone = CheckInForm.phone
    purpose = _text(_l("Purpose of the visit"), 200)
    submit = SubmitField(_l("Save the correction"))
