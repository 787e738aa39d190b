"""The API's request and response shapes, defined once.

Pydantic models validate what clients send (strictly: unknown fields, wrong types, blank or
control-character text and out-of-range numbers are refused) and give the JSON Schemas of the
OpenAPI document (JSON Schema 2020-12, which OpenAPI 3.1 uses as it is).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from kiosk.config import LANGUAGES
from kiosk.db import ID_MAX
from kiosk.forms import EMAIL_PATTERN, FIRST_DAY, LAST_DAY, has_letter_or_digit, is_plain_text
from kiosk.sealing import FieldsState

Id = Annotated[int, Field(ge=1, le=ID_MAX, description="A positive id.")]


def _known_language(code: str) -> str:
    if code not in LANGUAGES:
        raise PydanticCustomError("language_unknown", "Not one of the kiosk's languages.")
    return code


Language = Annotated[
    str, AfterValidator(_known_language), WithJsonSchema({"type": "string", "enum": LANGUAGES})
]


def _one_line(text: str) -> str:
    """NFC, runs of spaces collapsed; refuses control characters, line or paragraph
    separators, direction overrides, and text that is only spaces."""
    if not is_plain_text(text):
        raise PydanticCustomError("text_invalid", "Control or separator characters are refused.")
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if not text:
        raise PydanticCustomError("blank", "Must not be blank.")
    return text


def _name(text: str) -> str:
    text = _one_line(text)
    if not has_letter_or_digit(text):
        raise PydanticCustomError("name_invalid", "A name needs a letter or a digit.")
    return text


def _email(text: str) -> str:
    text = _one_line(text)
    if not EMAIL_PATTERN.match(text):
        raise PydanticCustomError("email_invalid", "Not an email address.")
    return text


def _calendar_day(day: dt.date) -> dt.date:
    """A day any visit or invitation can have (kiosk.forms.FIRST_DAY to LAST_DAY): days near
    the calendar's ends overflow on a site's clock."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise PydanticCustomError(
            "day_out_of_range",
            "A day from {first} to {last}.",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return day


Day = Annotated[
    dt.date,
    AfterValidator(_calendar_day),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "description": f"From {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}.",
        }
    ),
]

Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_name)]
Company = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_one_line)]
Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_email)]


class Strict(BaseModel):
    """A request body: unknown fields and loose types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Query parameters: unknown ones are refused; text is converted to the declared type."""

    model_config = ConfigDict(extra="forbid")


class PageQuery(Query):
    limit: int = Field(50, ge=1, le=200, description="Items per page.")
    cursor: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="The `next_cursor` of the previous page; none for the first.",
    )


class Output(BaseModel):
    """A response body."""

    model_config = ConfigDict(extra="forbid")


class Page(Output):
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


# Sites


class SiteVisitorType(Output):
    id: int
    key: str | None = Field(description="A built-in type's key (visitor, contractor, ...).")
    name: str = Field(description="In the site's language.")


class Site(Output):
    id: int
    name: str
    timezone: str = Field(description="IANA zone; the site's days are in this zone.")
    default_locale: str
    visitor_types: list[SiteVisitorType] = Field(
        description="The kinds of visit the kiosk offers, in its order; an invitation may name one."
    )


class SiteList(Page):
    items: list[Site]


# Hosts


class Host(Output):
    id: int
    site_id: int
    name: str
    email: str
    locale: str | None = Field(description="Language of their notifications; null: the site's.")
    active: bool = Field(description="Offered at the kiosk.")


class HostList(Page):
    items: list[Host]


class HostQuery(PageQuery):
    site_id: Id | None = Field(None, description="Only this site's hosts.")
    active: bool | None = Field(None, description="Only active (true) or inactive (false).")


class HostCreate(Strict):
    site_id: Id
    name: Name
    email: Email
    locale: Language | None = None
    active: bool = True


class HostUpdate(Strict):
    """Only the fields sent are changed."""

    name: Name | None = None
    email: Email | None = None
    locale: Language | None = None
    active: bool | None = None


# Visits


_STATE_DESCRIPTION = (
    "kept: the fields as given. erased: the key sealing them is destroyed (the record is past"
    " its retention and the next deletion run removes it): each field is null. unreadable:"
    " the server's key store lacks their key (an older copy of the store is in use): each"
    " field is null until the right store is back."
)


class VisitorFields(Output):
    """What the visitor typed: given only to tokens with the personal-data scope."""

    name: str | None = Field(description="Null only when the fields are not kept (state).")
    company: str | None
    email: str | None
    phone: str | None
    purpose: str | None
    state: FieldsState = Field(description=_STATE_DESCRIPTION)


class Visit(Output):
    id: int
    site_id: int
    host_id: int | None
    host_name: str | None
    type: Literal["walk_in", "invited"] = Field(
        description="invited: confirmed an invitation at the kiosk."
    )
    visitor_type_id: int | None = Field(
        description="The visitor type chosen at the kiosk (Guest, Contractor …); null before types."
    )
    visitor_type: str | None = Field(
        description="That type's name in the site's language; null before types."
    )
    group_id: int | None = Field(
        description="Visits checked in together as a group share it; null for one visitor."
    )
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None
    on_site: bool
    visitor: VisitorFields | None = Field(
        description="Personal fields; null unless the token has the personal-data scope."
    )


class VisitList(Page):
    items: list[Visit]


class OnSiteQuery(PageQuery):
    site_id: Id | None = Field(None, description="Only this site; default every site.")


class DayQuery(PageQuery):
    site_id: Id | None = Field(None, description="Only this site; default every site.")
    date: Day | None = Field(
        None, description="A day of each site's own calendar; default the site's today."
    )


# Invitations


class InvitedVisitor(Output):
    """Given only to tokens with the personal-data scope."""

    name: str | None = Field(description="Null only when the fields are not kept (state).")
    company: str | None
    email: str | None
    state: FieldsState = Field(description=_STATE_DESCRIPTION)


class Invitation(Output):
    id: int
    site_id: int
    host_id: int | None
    expected_on: dt.date
    locale: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None
    visit_id: int | None
    visitor_type_id: int | None = Field(
        description="The kind of visit reception expects; null: the kiosk asks the visitor "
        "when the site has several."
    )
    status: Literal["expected", "checked_in", "cancelled"]
    visitor: InvitedVisitor | None = Field(
        description="Personal fields; null unless the token has the personal-data scope."
    )


class CreatedInvitation(Invitation):
    code: str = Field(description="The code the visitor types at the kiosk (also emailed).")


class InvitationList(Page):
    items: list[Invitation]


class InvitationQuery(PageQuery):
    site_id: Id | None = None
    expected_on: Day | None = Field(None, description="Only those expected on this day.")
    status: Literal["expected", "checked_in", "cancelled"] | None = None


class InvitationCreate(Strict):
    site_id: Id
    visitor_name: Name
    expected_on: Day = Field(description="A day of the site's calendar, today or later.")
    company: Company | None = None
    email: Email | None = Field(None, description="When set, the invitation is emailed.")
    host_id: Id | None = None
    visitor_type_id: Id | None = Field(
        None, description="One of the site's visitor types offered at the kiosk."
    )
    locale: Language | None = Field(None, description="Default: the site's language.")


# Purge runs


class PurgeRunType(Output):
    visitor_type_id: int
    kept_days: int = Field(description="Days this type's visits were kept at the run.")
    visit_cutoff: dt.datetime = Field(description="Visits of this type that ended by then.")
    visits_erased: int


class PurgeRunSite(Output):
    site_id: int
    visit_cutoff: dt.datetime
    contact_cutoff: dt.datetime
    invitation_cutoff: dt.date
    visits_erased: int
    invitations_erased: int
    contacts_erased: int
    #: Signed documents erased at the end of their own retention period.
    documents_erased: int
    types: list[PurgeRunType] = Field(
        default_factory=list, description="Each visitor type of the site: its own cutoff."
    )


class PurgeRun(Output):
    id: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: Literal["running", "succeeded", "failed"]
    trigger: str
    error: str | None = Field(description="The failure's class name; never a message.")
    sites: list[PurgeRunSite] = Field(description="The token's sites only.")


class PurgeRunList(Page):
    items: list[PurgeRun]


# Errors


class FieldError(Output):
    in_: Literal["query", "body", "path", "header"] = Field(alias="in")
    field: str
    code: str
    message: str


class Problem(Output):
    """RFC 9457 problem details: every error of the API has this shape."""

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    code: str = Field(description="What went wrong, for programs: e.g. precondition_failed.")
    detail: str
    errors: list[FieldError] | None = None
