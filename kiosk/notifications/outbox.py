"""The outbox: host notifications and invitation emails wait in the database until sent.

A check-in (or an invitation) only adds rows here, already rendered (kiosk.notifications.messages);
the sender (kiosk.notifications.sender) claims them one at a time, delivers them, and retries
with backoff. The queue is bounded: beyond ``NOTIFY_QUEUE_LIMIT`` pending entries a new one is
recorded as failed ("queue full") for the dashboard, and the check-in goes on regardless. The
dashboard lists what failed or waits, and retries or dismisses it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session, joinedload

from kiosk.enums import NotificationKind, NotificationStatus
from kiosk.models import Host, Invitation, Notification, Site, Visit, WebhookSubscription
from kiosk.notifications.transports import DeliveryError, MailSettings

log = logging.getLogger(__name__)

#: The error code of a notification refused because the queue was full.
QUEUE_FULL = "QueueFull"
#: A claim older than this is taken to belong to a sender that died; the entry is retried.
#: Far longer than a send can take (every SMTP or HTTP step has its own timeout).
STALE_CLAIM = timedelta(minutes=10)
#: Retries never wait longer than this.
MAX_RETRY_DELAY = timedelta(hours=1)


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


def notify_settings(settings: NotifySettings | None = None) -> NotifySettings:
    """``settings``, else the current app's."""
    return settings or NotifySettings.from_config(current_app.config)


# Queueing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArrivalMessage:
    """A message a check-in sets off, rendered and not yet queued."""

    kind: str
    recipient: str
    subject: str | None
    body: str


def queue_arrival_messages(
    session: Session,
    visit: Visit,
    messages: Sequence[ArrivalMessage],
    *,
    now: datetime,
    settings: NotifySettings | None = None,
) -> list[Notification]:
    """Put a visit's rendered arrival messages in the outbox; the caller commits."""
    settings = notify_settings(settings)
    return [
        queue_notification(
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


def queue_notification(
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
    subscription: WebhookSubscription | None = None,
) -> Notification:
    """Add a rendered message to the outbox (or record it failed when the queue is full); the
    caller commits."""
    # Two check-ins at the same moment may both see room for one more: the bound is a
    # safeguard against a dead mail server filling the database, not an exact quota.
    full = pending_count(session) >= settings.queue_limit
    notification = Notification(
        site=site,
        visit=visit,
        invitation=invitation,
        host=host,
        subscription=subscription,
        kind=kind,
        status=NotificationStatus.FAILED if full else NotificationStatus.PENDING,
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
        .where(Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.SENDING)))
    )
    return int(count or 0)


# Claiming and recording -----------------------------------------------------------------------


def retry_delay(attempts: int, settings: NotifySettings) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: doubling, capped."""
    seconds = settings.retry_seconds * 2 ** max(0, attempts - 1)
    return min(timedelta(seconds=seconds), MAX_RETRY_DELAY)


def due_notification_ids(session: Session, *, now: datetime, limit: int | None) -> list[int]:
    """Pending notifications whose time has come, oldest first."""
    query = (
        select(Notification.id)
        .where(
            Notification.status == NotificationStatus.PENDING, Notification.next_attempt_at <= now
        )
        .order_by(Notification.next_attempt_at, Notification.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def release_stale_claims(session: Session, *, now: datetime) -> int:
    """Give back entries claimed by a sender that died mid-send (they are sent again)."""
    cutoff = now - STALE_CLAIM
    stale = Notification.status == NotificationStatus.SENDING, Notification.claimed_at < cutoff
    # Look before writing: on SQLite even an UPDATE of no rows takes the write lock.
    if session.scalar(select(Notification.id).where(*stale).limit(1)) is None:
        return 0
    result = session.execute(
        update(Notification)
        .where(*stale)
        .values(status=NotificationStatus.PENDING, claimed_at=None, next_attempt_at=now)
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
            Notification.status == NotificationStatus.PENDING,
            Notification.next_attempt_at <= now,
        )
        .values(
            status=NotificationStatus.SENDING, claimed_at=now, attempts=Notification.attempts + 1
        )
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


#: An UPDATE's values that erase a notification's message (sealed, and any not sealed yet).
CLEARED_MESSAGE = {
    "recipient_sealed": None,
    "subject_sealed": None,
    "body_sealed": None,
    "legacy_recipient": None,
    "legacy_subject": None,
    "legacy_body": None,
}


def record_sent(session: Session, notification_id: int, *, now: datetime) -> None:
    """Mark a claimed notification sent and erase its message (it is no longer needed)."""
    session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id, Notification.status == NotificationStatus.SENDING
        )
        .values(
            status=NotificationStatus.SENT,
            sent_at=now,
            claimed_at=None,
            last_error=None,
            **CLEARED_MESSAGE,
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
        status = NotificationStatus.FAILED
        next_attempt = now
    else:
        status = NotificationStatus.PENDING
        next_attempt = now + retry_delay(attempts, settings)
    session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id, Notification.status == NotificationStatus.SENDING
        )
        .values(status=status, claimed_at=None, last_error=error.code, next_attempt_at=next_attempt)
        .execution_options(synchronize_session=False)
    )
    return status


# The dashboard -------------------------------------------------------------------------------

#: Statuses the dashboard lists: what is not delivered yet or never will be.
OUTSTANDING = (NotificationStatus.FAILED, NotificationStatus.PENDING, NotificationStatus.SENDING)


def outstanding_notifications(
    session: Session, site_ids: Iterable[int], *, limit: int = 200
) -> Sequence[Notification]:
    """Failed, pending and in-flight notifications of these sites, failures first, newest first."""
    ids = list(site_ids)
    if not ids:
        return []
    failed_first = (Notification.status != NotificationStatus.FAILED).asc()
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
        .where(Notification.site_id.in_(ids), Notification.status == NotificationStatus.FAILED)
    )
    return int(count or 0)


class NotificationError(Exception):
    """A dashboard action that does not apply to this notification; ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def retry_notification(notification: Notification, *, now: datetime) -> None:
    """Send a failed notification again, with a fresh set of attempts."""
    if notification.status != NotificationStatus.FAILED:
        raise NotificationError("not_failed")
    notification.status = NotificationStatus.PENDING
    notification.attempts = 0
    notification.next_attempt_at = now
    notification.claimed_at = None


def dismiss_notification(notification: Notification) -> None:
    """Set a failed notification aside for good; its message (personal data) is erased."""
    if notification.status != NotificationStatus.FAILED:
        raise NotificationError("not_failed")
    notification.status = NotificationStatus.DISMISSED
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
                Notification.kind.in_((NotificationKind.HOST_EMAIL, NotificationKind.HOST_WEBHOOK)),
                Notification.status != NotificationStatus.FAILED,
            )
            .limit(1)
        )
        is not None
    )
