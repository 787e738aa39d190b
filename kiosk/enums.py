"""The vocabularies of the data model: each set of values a column may hold, in one place.

The database's CHECK constraints (kiosk/models.py) and the command line's choices are made
from these, so a value is added here once. The order of the members is the order the CHECK
constraints list them in; changing it changes the constraint's text, which needs a migration
(tests/test_migrations.py compares them with what the migrations made).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a staff user may do."""

    RECEPTION = "reception"
    ADMIN = "admin"
    #: Answers data-subject requests (access, rectification, erasure) for the sites assigned.
    PRIVACY = "privacy"


class FieldMode(StrEnum):
    """How a kiosk form field is configured per site (data minimisation: ask only what you
    need)."""

    HIDDEN = "hidden"
    OPTIONAL = "optional"
    REQUIRED = "required"


class PrintBackend(StrEnum):
    """How a site's badges reach paper: the kiosk's browser prints the PDF, the server sends it
    to a CUPS printer or straight to a Brother QL label printer on the network, or nobody
    prints automatically (reception downloads it)."""

    BROWSER = "browser"
    CUPS = "cups"
    NONE = "none"
    BROTHER_QL = "brother_ql"


class PrintStatus(StrEnum):
    """How one attempt to print a badge went."""

    #: A CUPS queue or a label printer accepted it.
    SENT = "sent"
    #: It did not (the print job's ``error`` says why).
    FAILED = "failed"
    #: Handed to the kiosk's browser.
    BROWSER = "browser"
    #: Nobody prints automatically: reception downloads it.
    DOWNLOAD = "download"


class NotificationKind(StrEnum):
    """Kinds of message the notification outbox delivers."""

    HOST_EMAIL = "host_email"
    HOST_WEBHOOK = "host_webhook"
    INVITATION_EMAIL = "invitation_email"
    #: A call to one of a site's webhook subscriptions (kiosk.notifications.events), signed.
    EVENT_WEBHOOK = "event_webhook"


class WebhookEvent(StrEnum):
    """What a webhook subscription can be told of."""

    VISIT_CHECKED_IN = "visit.checked_in"
    VISIT_CHECKED_OUT = "visit.checked_out"
    INVITATION_CREATED = "invitation.created"
    PURGE_COMPLETED = "purge.completed"


class WebhookFormat(StrEnum):
    """How a webhook subscription's calls are written."""

    #: JSON following the Standard Webhooks specification: ``type``, ``timestamp``, ``data``.
    STANDARD = "standard"
    #: A Microsoft Teams Workflows message carrying an Adaptive Card.
    TEAMS = "teams"
    #: A Slack incoming-webhook message with Block Kit text.
    SLACK = "slack"


class NotificationStatus(StrEnum):
    """Where a notification is in the outbox."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    #: Set aside by staff after it failed; its message is erased.
    DISMISSED = "dismissed"


class PurgeRunStatus(StrEnum):
    """How a run of the retention purge went."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DocumentKind(StrEnum):
    """What a document to sign at the kiosk is, for admins and the visitor's screen."""

    NDA = "nda"
    HOUSE_RULES = "house_rules"
    SAFETY = "safety"
    OTHER = "other"


class DocumentAcceptance(StrEnum):
    """How a visitor accepts a document: a signature drawn with a finger, or a tick."""

    SIGNATURE = "signature"
    TICK = "tick"


def values(vocabulary: type[StrEnum]) -> tuple[str, ...]:
    """The values of a vocabulary, in order (for choices: ``click.Choice(values(Role))``)."""
    return tuple(member.value for member in vocabulary)
