"""Host notifications and invitation emails: an outbox in the database.

A check-in (or an invitation) only adds rows here, rendered in the reader's language; a sender
outside the request (kiosk/notifications/sender.py) claims them one at a time, delivers them,
and retries with backoff. The queue is bounded: beyond ``NOTIFY_QUEUE_LIMIT`` pending entries a
new one is recorded as failed ("queue full") for the dashboard, and the check-in goes on
regardless.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime as email_date
from email.utils import make_msgid
from typing import Any, cast
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import current_app, has_request_context, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session, joinedload

from kiosk.models import (
    NOTIFY_DISMISSED,
    NOTIFY_FAILED,
    NOTIFY_HOST_EMAIL,
    NOTIFY_HOST_WEBHOOK,
    NOTIFY_INVITATION_EMAIL,
    NOTIFY_PENDING,
    NOTIFY_SENDING,
    NOTIFY_SENT,
    Host,
    Invitation,
    Notification,
    Site,
    Visit,
)
from kiosk.notifications.transports import DeliveryError, MailSettings, post_webhook, send_email
from kiosk.services.qr import qr_png

log = logging.getLogger(__name__)

#: The error code of a notification refused because the queue was full.
QUEUE_FULL = "QueueFull"
#: A claim older than this is taken to belong to a sender that died; the entry is retried.
#: Far longer than a send can take (every SMTP or HTTP step has its own timeout).
STALE_CLAIM = timedelta(minutes=10)
#: Retries never wait longer than this.
MAX_RETRY_DELAY = timedelta(hours=1)
#: The file name of the QR code attached to an invitation email.
INVITATION_QR_FILENAME = "invitation-qr.png"


@dataclass(frozen=True)
class NotifySettings:
    """The outbox's settings (``NOTIFY_*``, and whether email is configured at all)."""

    email_enabled: bool
    queue_limit: int
    max_attempts: int
    retry_seconds: float
    public_url: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NotifySettings:
        """Read the settings from an app's config."""
        return cls(
            email_enabled=MailSettings.from_config(config).configured,
            queue_limit=int(config["NOTIFY_QUEUE_LIMIT"]),
            max_attempts=max(1, int(config["NOTIFY_MAX_ATTEMPTS"])),
            retry_seconds=float(config["NOTIFY_RETRY_SECONDS"]),
            public_url=config.get("PUBLIC_URL") or None,
        )


def _settings(settings: NotifySettings | None) -> NotifySettings:
    return settings or NotifySettings.from_config(current_app.config)


# Queueing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArrivalMessage:
    """A message a check-in sets off, rendered and not yet queued."""

    kind: str
    recipient: str
    subject: str | None
    body: str


def arrival_messages(visit: Visit, settings: NotifySettings | None = None) -> list[ArrivalMessage]:
    """What a check-in sets off: an email to the host, and the site's webhook call, rendered
    (nothing is written). Needs an app context (for the catalogs).

    The host's email is in the host's language (else the site's); the webhook speaks the
    site's language.
    """
    settings = _settings(settings)
    site = visit.site
    host = visit.host
    messages = []
    if host is not None and host.email and settings.email_enabled:
        locale = host.locale or site.default_locale
        with force_locale(locale):
            subject, body = _host_email(visit, host, site, locale)
        messages.append(ArrivalMessage(NOTIFY_HOST_EMAIL, host.email, subject, body))
    if site.webhook_url:
        with force_locale(site.default_locale):
            text = _arrival_text(visit, host, site)
        # {"text": ...} is what Slack and Teams incoming webhooks both read.
        body = json.dumps({"text": text}, ensure_ascii=False)
        messages.append(ArrivalMessage(NOTIFY_HOST_WEBHOOK, site.webhook_url, None, body))
    return messages


def queue_arrival_messages(
    session: Session,
    visit: Visit,
    messages: Sequence[ArrivalMessage],
    *,
    now: datetime,
    settings: NotifySettings | None = None,
) -> list[Notification]:
    """Put a visit's rendered arrival messages in the outbox; the caller commits."""
    settings = _settings(settings)
    return [
        _queue(
            session,
            settings,
            kind=message.kind,
            site=visit.site,
            visit=visit,
            host=visit.host,
            recipient=message.recipient,
            subject=message.subject,
            body=message.body,
            now=now,
        )
        for message in messages
    ]


def queue_arrival_notifications(
    session: Session, visit: Visit, *, now: datetime, settings: NotifySettings | None = None
) -> list[Notification]:
    """Queue what a check-in sets off (:func:`arrival_messages`); the caller commits."""
    settings = _settings(settings)
    messages = arrival_messages(visit, settings)
    return queue_arrival_messages(session, visit, messages, now=now, settings=settings)


def send_invitation_email(
    session: Session,
    invitation: Invitation,
    *,
    now: datetime,
    settings: NotifySettings | None = None,
) -> Notification | None:
    """Queue the invitation email to the expected visitor, in the invitation's language.

    It carries the date, site and host, the typable code, and a PNG QR code that holds the
    invitation's token and nothing else (added when sent). Returns None when the invitation
    has no email address or email is not configured (``SMTP_HOST``). Needs an app context;
    the caller commits.
    """
    settings = _settings(settings)
    if not invitation.email or not settings.email_enabled:
        return None
    site = invitation.site
    with force_locale(invitation.locale):
        subject, body = _invitation_email(invitation, site, _notice_url(settings, site, invitation))
    return _queue(
        session,
        settings,
        kind=NOTIFY_INVITATION_EMAIL,
        site=site,
        invitation=invitation,
        host=invitation.host,
        recipient=invitation.email,
        subject=subject,
        body=body,
        now=now,
    )


def _queue(
    session: Session,
    settings: NotifySettings,
    *,
    kind: str,
    site: Site,
    recipient: str,
    subject: str | None,
    body: str,
    now: datetime,
    visit: Visit | None = None,
    invitation: Invitation | None = None,
    host: Host | None = None,
) -> Notification:
    # Two check-ins at the same moment may both see room for one more: the bound is a
    # safeguard against a dead mail server filling the database, not an exact quota.
    full = pending_count(session) >= settings.queue_limit
    notification = Notification(
        site=site,
        visit=visit,
        invitation=invitation,
        host=host,
        kind=kind,
        status=NOTIFY_FAILED if full else NOTIFY_PENDING,
        recipient=recipient,
        subject=subject,
        body=body,
        attempts=0,
        next_attempt_at=now,
        last_error=QUEUE_FULL if full else None,
        created_at=now,
    )
    session.add(notification)
    if full:
        session.flush()
        log.warning("notification %s not queued: the queue is full", notification.id)
    return notification


def pending_count(session: Session) -> int:
    """Notifications waiting to be sent or being sent, across all sites."""
    count = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.status.in_((NOTIFY_PENDING, NOTIFY_SENDING)))
    )
    return int(count or 0)


# Rendering (inside force_locale) -------------------------------------------------------------


def _visitor_label(name: str, company: str | None) -> str:
    return f"{name} ({company})" if company else name


def _host_email(visit: Visit, host: Host, site: Site, locale: str) -> tuple[str, str]:
    arrived = format_time(
        visit.checked_in_at, "short", tzinfo=ZoneInfo(site.timezone), locale=locale
    )
    visitor = _visitor_label(visit.visitor_name, visit.company)
    subject = _("Your visitor %(visitor)s has arrived", visitor=visit.visitor_name)
    lines = [
        _("Hello %(name)s,", name=host.name),
        "",
        _(
            "%(visitor)s checked in at %(site)s at %(time)s and is waiting for you at reception.",
            visitor=visitor,
            site=site.name,
            time=arrived,
        ),
        "",
        _footer(site),
    ]
    return subject, "\n".join(lines) + "\n"


def _footer(site: Site) -> str:
    text: str = _("This is an automatic message from the visitor registration at %(site)s.")
    return text % {"site": site.name}


def _slack_escaped(text: str) -> str:
    # Slack reads <...> as links and mentions; a visitor's name must stay plain text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _arrival_text(visit: Visit, host: Host | None, site: Site) -> str:
    visitor = _visitor_label(visit.visitor_name, visit.company)
    if host is None:
        text = _(
            "%(visitor)s has arrived at %(site)s and asks for reception.",
            visitor=visitor,
            site=site.name,
        )
    else:
        text = _(
            "%(visitor)s has arrived at %(site)s to see %(host)s.",
            visitor=visitor,
            site=site.name,
            host=host.name,
        )
    return _slack_escaped(text)


def _notice_url(settings: NotifySettings, site: Site, invitation: Invitation) -> str | None:
    base = settings.public_url or (request.host_url if has_request_context() else None)
    if not base:
        return None
    return f"{base.rstrip('/')}/privacy/{site.id}/{invitation.locale}"


def _invitation_email(
    invitation: Invitation, site: Site, notice_url: str | None
) -> tuple[str, str]:
    day = format_date(invitation.expected_on, "full", locale=invitation.locale)
    subject = _("Your visit to %(site)s on %(date)s", site=site.name, date=day)
    lines = [
        _("Hello %(name)s,", name=invitation.visitor_name),
        "",
        _("You are expected at %(site)s on %(date)s.", site=site.name, date=day),
    ]
    if invitation.host is not None:
        lines.append(_("Your host is %(host)s.", host=invitation.host.name))
    lines += [
        "",
        _(
            "When you arrive, scan the attached QR code at the reception kiosk, or choose "
            "“%(button)s” and type the code %(code)s.",
            button=_("I have an invitation"),
            code=invitation.code,
        ),
    ]
    if notice_url:
        lines += ["", _("How we handle your personal data: %(url)s", url=notice_url)]
    lines += [
        "",
        _footer(site),
    ]
    return subject, "\n".join(lines) + "\n"


# Delivering ----------------------------------------------------------------------------------


def retry_delay(attempts: int, settings: NotifySettings) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: doubling, capped."""
    seconds = settings.retry_seconds * 2 ** max(0, attempts - 1)
    return min(timedelta(seconds=seconds), MAX_RETRY_DELAY)


def due_notification_ids(session: Session, *, now: datetime, limit: int | None) -> list[int]:
    """Pending notifications whose time has come, oldest first."""
    query = (
        select(Notification.id)
        .where(Notification.status == NOTIFY_PENDING, Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def release_stale_claims(session: Session, *, now: datetime) -> int:
    """Give back entries claimed by a sender that died mid-send (they are sent again)."""
    cutoff = now - STALE_CLAIM
    stale = Notification.status == NOTIFY_SENDING, Notification.claimed_at < cutoff
    # Look before writing: on SQLite even an UPDATE of no rows takes the write lock.
    if session.scalar(select(Notification.id).where(*stale).limit(1)) is None:
        return 0
    result = session.execute(
        update(Notification)
        .where(*stale)
        .values(status=NOTIFY_PENDING, claimed_at=None, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


def claim_notification(session: Session, notification_id: int, *, now: datetime) -> bool:
    """Take a due notification for this sender; False when another sender was first.

    One atomic UPDATE guarded by the status: of several workers or machines racing for the
    same row, exactly one sees it change (PostgreSQL re-checks the condition after waiting
    for the winner's lock; SQLite has one writer at a time). The caller commits.
    """
    result = session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == NOTIFY_PENDING,
            Notification.next_attempt_at <= now,
        )
        .values(status=NOTIFY_SENDING, claimed_at=now, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(value: str) -> str:
    """A header value: control characters and line breaks become spaces (no injection)."""
    return " ".join(_LINE_BREAKING.sub(" ", value).split())


def build_email(
    notification: Notification, mail: MailSettings, *, now: datetime, qr_token: str | None
) -> EmailMessage:
    """The email of a notification; ``qr_token`` adds the invitation's QR code as a PNG."""
    message = EmailMessage()
    # Header values on one line, whatever a name in them holds: no header injection.
    message["From"] = one_line(mail.sender)
    message["To"] = one_line(notification.recipient or "")
    message["Subject"] = one_line(notification.subject or "")
    message["Date"] = email_date(now)
    domain = mail.sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    # RFC 3834: no auto-replies to an automatic message.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notification.body or "")
    if qr_token is not None:
        message.add_attachment(
            qr_png(qr_token), maintype="image", subtype="png", filename=INVITATION_QR_FILENAME
        )
    return message


def deliver_notification(
    notification: Notification, *, mail: MailSettings, webhook_timeout: float, now: datetime
) -> None:
    """Send one notification; raises :class:`DeliveryError`."""
    if notification.kind == NOTIFY_HOST_WEBHOOK:
        post_webhook(notification.recipient or "", notification.body or "", timeout=webhook_timeout)
        return
    qr_token = None
    if notification.kind == NOTIFY_INVITATION_EMAIL:
        invitation = notification.invitation
        if invitation is None or invitation.cancelled_at is not None:
            raise DeliveryError("InvitationCancelled", permanent=True)
        qr_token = invitation.token
    send_email(mail, build_email(notification, mail, now=now, qr_token=qr_token))


def record_sent(session: Session, notification_id: int, *, now: datetime) -> None:
    """Mark a claimed notification sent and erase its message (it is no longer needed)."""
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == NOTIFY_SENDING)
        .values(
            status=NOTIFY_SENT,
            sent_at=now,
            claimed_at=None,
            last_error=None,
            recipient=None,
            subject=None,
            body=None,
        )
        .execution_options(synchronize_session=False)
    )


def record_failure(
    session: Session,
    notification_id: int,
    attempts: int,
    error: DeliveryError,
    *,
    now: datetime,
    settings: NotifySettings,
) -> str:
    """Schedule a retry after a failed attempt, or give up; return the new status."""
    if error.permanent or attempts >= settings.max_attempts:
        status = NOTIFY_FAILED
        next_attempt = now
    else:
        status = NOTIFY_PENDING
        next_attempt = now + retry_delay(attempts, settings)
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == NOTIFY_SENDING)
        .values(status=status, claimed_at=None, last_error=error.code, next_attempt_at=next_attempt)
        .execution_options(synchronize_session=False)
    )
    return status


# The dashboard -------------------------------------------------------------------------------

#: Statuses the dashboard lists: what is not delivered yet or never will be.
OUTSTANDING = (NOTIFY_FAILED, NOTIFY_PENDING, NOTIFY_SENDING)


def outstanding_notifications(
    session: Session, site_ids: Iterable[int], *, limit: int = 200
) -> Sequence[Notification]:
    """Failed, pending and in-flight notifications of these sites, failures first, newest first."""
    ids = list(site_ids)
    if not ids:
        return []
    failed_first = (Notification.status != NOTIFY_FAILED).asc()
    return session.scalars(
        select(Notification)
        .options(joinedload(Notification.site), joinedload(Notification.host))
        .where(Notification.site_id.in_(ids), Notification.status.in_(OUTSTANDING))
        .order_by(failed_first, Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    ).all()


def failed_count(session: Session, site_ids: Iterable[int]) -> int:
    """How many notifications of these sites failed and are not dismissed."""
    ids = list(site_ids)
    if not ids:
        return 0
    count = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.site_id.in_(ids), Notification.status == NOTIFY_FAILED)
    )
    return int(count or 0)


class NotificationError(Exception):
    """A dashboard action that does not apply to this notification; ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def retry_notification(notification: Notification, *, now: datetime) -> None:
    """Send a failed notification again, with a fresh set of attempts."""
    if notification.status != NOTIFY_FAILED:
        raise NotificationError("not_failed")
    notification.status = NOTIFY_PENDING
    notification.attempts = 0
    notification.next_attempt_at = now
    notification.claimed_at = None


def dismiss_notification(notification: Notification) -> None:
    """Set a failed notification aside for good; its message (personal data) is erased."""
    if notification.status != NOTIFY_FAILED:
        raise NotificationError("not_failed")
    notification.status = NOTIFY_DISMISSED
    notification.recipient = None
    notification.subject = None
    notification.body = None


def host_is_being_told(session: Session, visit: Visit) -> bool:
    """Whether the check-in queued a message to the host that has not failed."""
    return (
        session.scalar(
            select(Notification.id)
            .where(
                Notification.visit_id == visit.id,
                Notification.kind.in_((NOTIFY_HOST_EMAIL, NOTIFY_HOST_WEBHOOK)),
                Notification.status != NOTIFY_FAILED,
            )
            .limit(1)
        )
        is not None
    )
