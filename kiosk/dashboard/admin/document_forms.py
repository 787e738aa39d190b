"""Dashboard admin forms for documents to sign (kiosk.dashboard.admin.documents)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from kiosk.enums import DocumentAcceptance, DocumentKind
from kiosk.forms import normalise_text, plain_text
from kiosk.services.documents import TEXT_MAX_LENGTH, TITLE_MAX_LENGTH

_TOO_LONG = _l("Please use at most %(max)d characters.")
_REQUIRED = _l("Please fill this in.")
_DAYS = _l("Please give a number of days from %(min)s to %(max)s.")

KIND_NAMES = {
    DocumentKind.NDA: _l("Non-disclosure agreement"),
    DocumentKind.HOUSE_RULES: _l("House rules"),
    DocumentKind.SAFETY: _l("Safety briefing"),
    DocumentKind.OTHER: _l("Other"),
}
ACCEPTANCE_NAMES = {
    DocumentAcceptance.SIGNATURE: _l("Signature drawn with a finger"),
    DocumentAcceptance.TICK: _l("Ticking “I accept”"),
}


class DocumentForm(FlaskForm):  # type: ignore[misc]
    """A document's settings; its text is written per language as versions."""

    title = StringField(
        _l("Title (for admins)"),
        filters=[normalise_text],
        validators=[
            DataRequired(_REQUIRED),
            plain_text,
            Length(max=TITLE_MAX_LENGTH, message=_TOO_LONG),
        ],
    )
    kind = SelectField(_l("Kind"), choices=lambda: list(KIND_NAMES.items()), validate_choice=True)
    acceptance = SelectField(
        _l("How the visitor accepts it"),
        choices=lambda: list(ACCEPTANCE_NAMES.items()),
        validate_choice=True,
    )
    retention_days = IntegerField(
        _l("Keep each signed copy for (days)"),
        # InputRequired, not DataRequired: 0 is data (refused by the range, not as missing).
        validators=[InputRequired(_REQUIRED), NumberRange(1, 3650, message=_DAYS)],
        description=_l(
            "Days after signing, whatever happens to the visit; may be longer than the visit "
            "is kept. The privacy notice states it."
        ),
    )
    valid_days = IntegerField(
        _l("Do not ask again for (days)"),
        validators=[Optional(), NumberRange(1, 3650, message=_DAYS)],
        description=_l(
            "A visitor who signed the current version at this site within this many days is "
            "not asked again, while the signed copy is kept. Empty: asked at every visit."
        ),
    )
    submit = SubmitField(_l("Save"))


class DocumentDraftForm(FlaskForm):  # type: ignore[misc]
    """A document's draft in one language."""

    title = StringField(
        _l("Title shown to the visitor"),
        filters=[normalise_text],
        validators=[
            DataRequired(_REQUIRED),
            plain_text,
            Length(max=TITLE_MAX_LENGTH, message=_TOO_LONG),
        ],
    )
    text = TextAreaField(
        _l("Text"),
        validators=[Optional(), Length(max=TEXT_MAX_LENGTH, message=_TOO_LONG)],
        description=_l(
            "Placeholders filled in for each visitor: {name}, {company}, {host}, {date}."
        ),
        render_kw={"rows": 18},
    )
    save = SubmitField(_l("Save draft"))
    preview = SubmitField(_l("Save and preview"))
    publish = SubmitField(_l("Publish"))
    discard = SubmitField(_l("Discard draft"))
