"""Forms of the admin pages."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from kiosk.config import LANGUAGES
from kiosk.enums import FieldMode, Role, WebhookEvent, WebhookFormat
from kiosk.forms import EMAIL_PATTERN, is_plain_text, normalise_text, plain_text, visible_name
from kiosk.i18n import language_choices
from kiosk.models import KIOSK_FIELDS, Site
from kiosk.services.admin_sites import (
    RETENTION_MAX_DAYS,
    RETENTION_MIN_DAYS,
    WELCOME_MAX_LENGTH,
    is_timezone,
    is_webhook_url,
)
from kiosk.services.api_tokens import NAME_MAX_LENGTH as API_TOKEN_NAME_MAX_LENGTH
from kiosk.services.document_choices import document_choices
from kiosk.services.groups import MAX_COMPANIONS_LIMIT
from kiosk.services.notice_drafts import SECTION_MAX_LENGTH, SECTIONS
from kiosk.services.staff import MIN_PASSWORD_LENGTH
from kiosk.services.visitor_types import BAND_LABEL_MAX_LENGTH, NAME_MAX_LENGTH

_TOO_LONG = _l("Please use at most %(max)d characters.")
_REQUIRED = _l("Please fill this in.")


def _text(
    label: Any,
    max_length: int,
    *,
    required: bool = False,
    check: Any = None,
    **kwargs: Any,
) -> StringField:
    first = DataRequired(_REQUIRED) if required else Optional()
    validators = [first, plain_text, Length(max=max_length, message=_TOO_LONG)]
    return StringField(
        label,
        filters=[normalise_text],
        validators=[*validators, *([check] if check else [])],
        **kwargs,
    )


def _valid_timezone(_form: Any, field: Any) -> None:
    if field.data and not is_timezone(field.data):
        raise ValidationError(_l("Please give a time zone such as Europe/Stockholm."))


def _valid_webhook(_form: Any, field: Any) -> None:
    if field.data and not is_webhook_url(field.data):
        raise ValidationError(_l("Please give a full address starting with https:// or http://."))


def _valid_email(_form: Any, field: Any) -> None:
    if field.data and not EMAIL_PATTERN.match(field.data):
        raise ValidationError(_l("Please check the email address."))


def _multiline_text(_form: Any, field: Any) -> None:
    if isinstance(field.data, str) and not is_plain_text(field.data.replace("\n", "")):
        raise ValidationError(_l("Please use only letters, digits and ordinary punctuation."))


def _normalise_multiline(value: object) -> object:
    if not isinstance(value, str):
        return value
    text = normalise_text(value)
    assert isinstance(text, str)  # noqa: S101 - normalise_text keeps a str a str
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")


# Choices are set on each form instance: WTForms 3.3 deprecates tuples passed to the field.
def _field_mode(label: Any) -> SelectField:
    return SelectField(label, validate_choice=True)


def _field_mode_choices() -> list[tuple[str, Any]]:
    return [
        (FieldMode.HIDDEN, _l("Hidden")),
        (FieldMode.OPTIONAL, _l("Optional")),
        (FieldMode.REQUIRED, _l("Required")),
    ]


_CONTROLLER = _l("Controller")
_CONTROLLER_CONTACT = _l("Controller's contact details")
_AUTHORITY = _l("Supervisory authority")


class SiteForm(FlaskForm):  # type: ignore[misc]
    """Every setting of a site."""

    name = _text(_l("Site name"), 100, required=True, check=visible_name)
    timezone = _text(
        _l("Time zone"),
        64,
        required=True,
        check=_valid_timezone,
        description=_l("An IANA time zone, for example Europe/Stockholm or Europe/Helsinki."),
    )
    default_locale = SelectField(_l("Kiosk language"), validate_choice=True)
    retention_days = IntegerField(
        _l("Keep visitor data for (days)"),
        validators=[
            InputRequired(_REQUIRED),
            NumberRange(
                RETENTION_MIN_DAYS,
                RETENTION_MAX_DAYS,
                message=_l("Please give a number of days from %(min)s to %(max)s."),
            ),
        ],
        description=_l("Days after check-out; the privacy notice states the same number."),
    )
    contact_retention_days = IntegerField(
        _l("Keep email and phone for (days)"),
        validators=[
            Optional(),
            NumberRange(
                RETENTION_MIN_DAYS,
                RETENTION_MAX_DAYS,
                message=_l("Please give a number of days from %(min)s to %(max)s."),
            ),
        ],
        description=_l(
            "Days after check-out, if the site asks for them and keeps them for less time "
            "than the visit. Empty: as long as the visit. The privacy notice states it."
        ),
    )
    field_company = _field_mode(_l("Company"))
    field_host = _field_mode(_l("Host"))
    field_purpose = _field_mode(_l("Purpose"))
    field_email = _field_mode(_l("Email"))
    field_phone = _field_mode(_l("Phone"))
    end_of_day = TimeField(
        _l("Automatic check-out time"),
        validators=[Optional()],
        description=_l("Visitors still checked in are checked out at this time. Empty: never."),
    )
    max_companions = IntegerField(
        _l("People one visitor may add at the kiosk"),
        validators=[
            Optional(),
            NumberRange(
                0,
                MAX_COMPANIONS_LIMIT,
                message=_l("Please give a number from %(min)s to %(max)s."),
            ),
        ],
        description=_l(
            "“I am with others”: each person gets a visit and a badge, the host one message. "
            "0: no groups."
        ),
    )
    webhook_url = _text(
        _l("Webhook URL"),
        500,
        check=_valid_webhook,
        description=_l("A Slack or Teams incoming webhook told of each arrival. Optional."),
        render_kw={"spellcheck": "false", "inputmode": "url"},
    )
    controller_name = _text(
        _CONTROLLER,
        200,
        required=True,
        description=_l("The organisation responsible for the visitor data."),
    )
    controller_contact = _text(
        _CONTROLLER_CONTACT,
        500,
        required=True,
        description=_l("Postal address and email for privacy questions."),
    )
    dpo_contact = _text(_l("Data protection officer's contact details (if you have one)"), 500)
    authority_name = _text(_AUTHORITY, 200, required=True)
    authority_contact = _text(_l("Supervisory authority's contact details"), 300)
    submit = SubmitField(_l("Save"))

    def validate_contact_retention_days(self, field: IntegerField) -> None:
        days, visit_days = field.data, self.retention_days.data
        if days is not None and isinstance(visit_days, int) and days > visit_days:
            raise ValidationError(
                str(
                    _l(
                        "Email and phone cannot be kept longer than the visit (%(days)s days).",
                        days=visit_days,
                    )
                )
            )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_locale.choices = language_choices(current_app)
        for name in KIOSK_FIELDS:
            self[f"field_{name}"].choices = _field_mode_choices()
        # Each welcome line is labelled with its language's own name.
        for code, name in language_choices(current_app):
            if f"welcome_{code}" in self:
                self[f"welcome_{code}"].label.text = name

    def welcome_fields(self) -> list[Any]:
        """The welcome line of each shipped language, in the picker's order."""
        return [self[f"welcome_{code}"] for code in LANGUAGES if f"welcome_{code}" in self]


# One welcome line per shipped language (the kiosk's start screen, under the site's name).
for _code in LANGUAGES:
    setattr(
        SiteForm,
        f"welcome_{_code}",
        _text(_l("Welcome line"), WELCOME_MAX_LENGTH, render_kw={"lang": _code}),
    )


#: Labels and hints of the notice editor's text areas.
SECTION_LABELS: dict[str, Any] = {
    "purposes": _l("Purposes: why visitors are registered"),
    "legal_basis": _l("Legal basis"),
    "legitimate_interests": _l("The legitimate interests pursued"),
    "recipients": _l("Recipients: who sees the data"),
    "transfers": _l("Transfers outside the EU/EEA"),
    "rights": _l("The visitor's rights"),
    "objection": _l("Right to object"),
    "requirement": _l("Is registering required, and what happens if the visitor does not?"),
    "automated_decisions": _l("Automated decision-making"),
}
SECTION_HINTS: dict[str, Any] = {
    "legal_basis": _l("Legitimate interest: GDPR Article 6(1)(f)."),
    "transfers": _l("If there are none, say so: “Nothing is sent outside the EU/EEA.”"),
    "rights": _l("Access, rectification, erasure, restriction, and how to ask."),
    "objection": _l("Shown on its own, as Article 21(4) asks."),
    "automated_decisions": _l("If there are none, say so: “We make no automated decisions.”"),
}
#: Labels of the site settings a notice needs, for "missing" messages.
SITE_ELEMENT_LABELS: dict[str, Any] = {
    "controller_name": _CONTROLLER,
    "controller_contact": _CONTROLLER_CONTACT,
    "authority_name": _AUTHORITY,
}


class NoticeDraftForm(FlaskForm):  # type: ignore[misc]
    """The notice editor: one text per element; see kiosk.services.notice_drafts."""

    save = SubmitField(_l("Save draft"))
    publish = SubmitField(_l("Save and publish"))


for _key in SECTIONS:
    setattr(
        NoticeDraftForm,
        _key,
        TextAreaField(
            SECTION_LABELS[_key],
            filters=[_normalise_multiline],
            validators=[
                Optional(),
                _multiline_text,
                Length(max=SECTION_MAX_LENGTH, message=_TOO_LONG),
            ],
            description=SECTION_HINTS.get(_key, ""),
            render_kw={"rows": 4},
        ),
    )


class HostForm(FlaskForm):  # type: ignore[misc]
    """A host: whom visitors come to see."""

    site = SelectField(_l("Site"), coerce=int, validate_choice=True)
    name = _text(_l("Name"), 200, required=True, check=visible_name)
    email = EmailField(
        _l("Email"),
        filters=[normalise_text],
        validators=[
            DataRequired(_REQUIRED),
            Length(max=254, message=_TOO_LONG),
            _valid_email,
        ],
        render_kw={"spellcheck": "false"},
    )
    language = SelectField(
        _l("Language of notifications"),
        default="",
        validate_choice=True,
        description=_l("Empty: the site's language."),
    )
    active = BooleanField(_l("Active: offered at the kiosk"), default=True)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = [("", _l("The site's language")), *language_choices(current_app)]


class HostImportForm(FlaskForm):  # type: ignore[misc]
    """A CSV file of hosts for one site."""

    site = SelectField(_l("Site"), coerce=int, validate_choice=True)
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired(_l("Please choose a file."))],
        render_kw={"accept": ".csv,text/csv,text/plain"},
    )
    submit = SubmitField(_l("Import"))


def _role_choices() -> list[tuple[str, Any]]:
    return [(Role.RECEPTION, _l("Reception")), (Role.ADMIN, _l("Administrator"))]


def _sites_field() -> SelectMultipleField:
    return SelectMultipleField(
        _l("Sites"),
        coerce=int,
        validate_choice=True,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=_l("The sites a reception user serves; admins serve every site."),
    )


def _password(label: Any) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(_REQUIRED),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=_l("The password must have at least %(min)d characters."),
            ),
            Length(max=1024, message=_TOO_LONG),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class StaffCreateForm(FlaskForm):  # type: ignore[misc]
    """A new staff user."""

    username = _text(
        _l("Username"),
        80,
        required=True,
        check=visible_name,
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    role = SelectField(_l("Role"), validate_choice=True)
    sites = _sites_field()
    password = _password(_l("Initial password"))
    submit = SubmitField(_l("Create user"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = _role_choices()


class StaffEditForm(FlaskForm):  # type: ignore[misc]
    """A staff user's role and sites."""

    role = SelectField(_l("Role"), validate_choice=True)
    sites = _sites_field()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = _role_choices()


class PasswordResetForm(FlaskForm):  # type: ignore[misc]
    """A new password an admin sets for a user."""

    password = _password(_l("New password"))
    submit = SubmitField(_l("Set password"))


class WebhookForm(FlaskForm):  # type: ignore[misc]
    """A webhook subscription: where calls go, in which format, about what."""

    site = SelectField(_l("Site"), coerce=int, validate_choice=True)
    name = StringField(
        _l("Name"),
        filters=[normalise_text],
        validators=[DataRequired(_REQUIRED), plain_text, Length(max=100)],
        description=_l("What receives the calls, e.g. the security desk's system."),
    )
    url = StringField(
        _l("URL"),
        filters=[normalise_text],
        validators=[DataRequired(_REQUIRED), Length(max=500)],
        render_kw={"inputmode": "url", "spellcheck": "false", "autocomplete": "off"},
    )
    format = SelectField(_l("Format"))
    events = SelectMultipleField(
        _l("Events"),
        validators=[DataRequired(_l("Please choose at least one event."))],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    personal = BooleanField(
        _l("Include the visitor's name and company"),
        description=_l(
            "Without this, calls carry ids and times only. With it, the receiver gets personal "
            "data and the privacy notice names it as a recipient."
        ),
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.format.choices = [
            (WebhookFormat.STANDARD, _l("JSON, signed (Standard Webhooks)")),
            (WebhookFormat.TEAMS, _l("Microsoft Teams (Workflows, Adaptive Card)")),
            (WebhookFormat.SLACK, _l("Slack (incoming webhook)")),
        ]
        self.events.choices = [
            (WebhookEvent.VISIT_CHECKED_IN, _l("A visitor checked in")),
            (WebhookEvent.VISIT_CHECKED_OUT, _l("A visitor checked out")),
            (WebhookEvent.INVITATION_CREATED, _l("A visit was registered in advance")),
            (WebhookEvent.PURGE_COMPLETED, _l("The retention purge ran")),
        ]


class ApiTokenForm(FlaskForm):  # type: ignore[misc]
    """A new API token: whom it is for, which sites, and what it may do."""

    name = _text(
        _l("Client name"),
        API_TOKEN_NAME_MAX_LENGTH,
        required=True,
        check=visible_name,
        description=_l("What will use the token, for example “Facility system”."),
        render_kw={"autocomplete": "off"},
    )
    sites = SelectMultipleField(
        _l("Sites"),
        coerce=int,
        validate_choice=True,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired(_l("Please choose at least one site."))],
        description=_l("The token sees these sites only."),
    )
    access = SelectField(_l("Access"), validate_choice=True)
    personal_data = BooleanField(
        _l("Visitors' personal data: names, companies, email addresses, phone numbers, purposes"),
        description=_l("Without it the token sees ids, times and hosts only."),
    )
    submit = SubmitField(_l("Create token"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access.choices = [
            ("read", _l("Read only")),
            ("write", _l("Read and change (hosts, check-outs, invitations)")),
        ]


#: What a field mode is called on the visitor type pages.
MODE_NAMES: dict[str, Any] = {
    FieldMode.HIDDEN: _l("Hidden"),
    FieldMode.OPTIONAL: _l("Optional"),
    FieldMode.REQUIRED: _l("Required"),
}
FIELD_LABELS: dict[str, Any] = {
    "company": _l("Company"),
    "host": _l("Host"),
    "purpose": _l("Purpose"),
    "email": _l("Email"),
    "phone": _l("Phone"),
}


def _colour(_form: Any, field: Any) -> None:
    value = field.data or ""
    if value and not (
        len(value) == 7
        and value[0] == "#"
        and all(c in "0123456789abcdefABCDEF" for c in value[1:])
    ):
        raise ValidationError(_l("Please give a colour as #RRGGBB, for example #C2410C."))


class VisitorTypeForm(FlaskForm):  # type: ignore[misc]
    """Every setting of a visitor type; the per-language fields are added below."""

    band_colour = _text(
        _l("Badge band colour"),
        7,
        check=_colour,
        description=_l("As #RRGGBB. Empty: the site's band colour."),
        render_kw={"spellcheck": "false"},
    )
    field_company = SelectField(FIELD_LABELS["company"], validate_choice=True, default="")
    field_host = SelectField(FIELD_LABELS["host"], validate_choice=True, default="")
    field_purpose = SelectField(FIELD_LABELS["purpose"], validate_choice=True, default="")
    field_email = SelectField(FIELD_LABELS["email"], validate_choice=True, default="")
    field_phone = SelectField(FIELD_LABELS["phone"], validate_choice=True, default="")
    notify_host = BooleanField(_l("Tell the host when one of these visitors arrives"))
    retention_days = IntegerField(
        _l("Keep these visits for (days)"),
        validators=[
            Optional(),
            NumberRange(
                1, 3650, message=_l("Please give a number of days from %(min)s to %(max)s.")
            ),
        ],
        description=_l(
            "Days after check-out; at most as long as the site keeps visits. Empty: as the "
            "site. The privacy notice states it."
        ),
    )
    #: The site's documents these visitors sign at the kiosk (kiosk.services.documents).
    documents = SelectMultipleField(
        _l("Documents to sign"),
        coerce=int,
        validate_choice=True,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=_l("Each is shown on its own screen after the privacy notice."),
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, site: Site, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = site
        self.documents.choices = document_choices(site)
        for name in KIOSK_FIELDS:
            self[f"field_{name}"].choices = [
                (
                    "",
                    _l(
                        "As the site (%(mode)s)",
                        mode=MODE_NAMES.get(site.field_mode(name), site.field_mode(name)),
                    ),
                ),
                *MODE_NAMES.items(),
            ]
        for code, language in language_choices(current_app):
            for prefix in ("name", "band_label"):
                if f"{prefix}_{code}" in self:
                    self[f"{prefix}_{code}"].label.text = language

    def validate_retention_days(self, field: IntegerField) -> None:
        if field.data is not None and field.data > self.site.retention_days:
            raise ValidationError(
                str(
                    _l(
                        "At most as long as the site keeps visits (%(days)s days).",
                        days=self.site.retention_days,
                    )
                )
            )

    def language_fields(self, prefix: str) -> list[Any]:
        return [self[f"{prefix}_{code}"] for code in LANGUAGES if f"{prefix}_{code}" in self]


for _code in LANGUAGES:
    setattr(
        VisitorTypeForm,
        f"name_{_code}",
        _text(_l("Name"), NAME_MAX_LENGTH, render_kw={"lang": _code}),
    )
    setattr(
        VisitorTypeForm,
        f"band_label_{_code}",
        _text(_l("Badge band label"), BAND_LABEL_MAX_LENGTH, render_kw={"lang": _code}),
    )
