"""The notification sender: delivers the outbox outside any request.

`kiosk serve` starts one :class:`NotificationSender` thread in each gunicorn worker (see
kiosk/server.py) unless ``NOTIFY_IN_SERVER`` is false; `kiosk notify run` runs the same loop
as a process of its own. Any number of senders can run against one database: each entry is
claimed by exactly one (kiosk.notifications.outbox.claim_notification). An entry becomes an
email or a webhook call here, and goes out through kiosk.notifications.transports.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime as email_date
from email.utils import make_msgid
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kiosk.clock import Clock
from kiosk.db import get_database
from kiosk.enums import NotificationKind, NotificationStatus
from kiosk.models import Notification
from kiosk.notifications.events import message_id, signed_headers
from kiosk.notifications.outbox import (
    NotifySettings,
    claim_notification,
    due_notification_ids,
    record_failure,
    record_sent,
    release_stale_claims,
)
from kiosk.notifications.transports import DeliveryError, MailSettings, post_webhook, send_email
from kiosk.sealing import fields_state
from kiosk.services.qr import qr_png

log = logging.getLogger(__name__)

EXTENSION_KEY = "kiosk.notifications.sender"
#: A served sender takes this many entries per pass (it comes back at once when there are more).
BATCH = 20


#: The file name of the QR code attached to an invitation email.
INVITATION_QR_FILENAME = "invitation-qr.png"


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


#: The failure codes of a message that cannot be read (:func:`unsendable`).
CONTENT_ERASED = "ContentErased"
CONTENT_UNREADABLE = "ContentUnreadable"


def unsendable(notification: Any) -> DeliveryError | None:
    """Why a notification's message cannot be sent as it is kept, if so.

    Its recipient, subject and body are sealed under its visit's key. When the purge has
    destroyed that key (an outbox stuck past the visit's retention, or a database restored
    from an older copy with messages still queued), they read as empty text: sent, they would
    be an email to nobody or a signed empty webhook call. Such a message is set aside for good;
    the purge deletes it. When the key store lacks the key (an older copy of the store is in
    use), it is retried: the right store may come back."""
    state = fields_state(notification.recipient, notification.subject, notification.body)
    if state == "unreadable":
        return DeliveryError(CONTENT_UNREADABLE)
    if state == "erased":
        return DeliveryError(CONTENT_ERASED, permanent=True)
    return None


def deliver_notification(
    notification: Notification, *, mail: MailSettings, webhook_timeout: float, now: datetime
) -> None:
    """Send one notification; raises :class:`DeliveryError`."""
    if (reason := unsendable(notification)) is not None:
        raise reason
    if notification.kind == NotificationKind.HOST_WEBHOOK:
        post_webhook(notification.recipient or "", notification.body or "", timeout=webhook_timeout)
        return
    if notification.kind == NotificationKind.EVENT_WEBHOOK:
        subscription = notification.subscription
        if subscription is None or not subscription.active:
            raise DeliveryError("SubscriptionInactive", permanent=True)
        body = notification.body or ""
        # The timestamp is the attempt's (receivers refuse stale ones); the id is the call's,
        # the same at every attempt (receivers drop one they have seen).
        headers = signed_headers(
            subscription.secret, message_id(notification), int(now.timestamp()), body
        )
        post_webhook(subscription.url, body, timeout=webhook_timeout, headers=headers)
        return
    qr_token = None
    if notification.kind == NotificationKind.INVITATION_EMAIL:
        invitation = notification.invitation
        if invitation is None or invitation.cancelled_at is not None:
            raise DeliveryError("InvitationCancelled", permanent=True)
        qr_token = invitation.token
    send_email(mail, build_email(notification, mail, now=now, qr_token=qr_token))


@dataclass
class DeliveryReport:
    """What one pass over the outbox did (counts only)."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed


def deliver_due(app: Flask, *, limit: int | None = None) -> DeliveryReport:
    """Deliver the notifications due now (at most ``limit``), each attempted once.

    Nothing is held open while a server is talked to: the claim is committed first, and the
    outcome is written in a transaction of its own.
    """
    report = DeliveryReport()
    clock: Clock = app.config["CLOCK"]
    settings = NotifySettings.from_config(app.config)
    mail = MailSettings.from_config(app.config)
    webhook_timeout = float(app.config["WEBHOOK_TIMEOUT_SECONDS"])
    sessionmaker = get_database(app).sessionmaker
    with app.app_context():
        with sessionmaker() as session:
            release_stale_claims(session, now=clock.now())
            due = due_notification_ids(session, now=clock.now(), limit=limit)
            session.commit()
        for notification_id in due:
            with sessionmaker() as session:
                if not claim_notification(session, notification_id, now=clock.now()):
                    session.rollback()
                    continue  # another sender was first
                session.commit()
                notification = session.scalars(
                    select(Notification)
                    .options(joinedload(Notification.invitation))
                    .where(Notification.id == notification_id)
                ).one()
                session.commit()  # end the read before talking to a server
                try:
                    deliver_notification(
                        notification, mail=mail, webhook_timeout=webhook_timeout, now=clock.now()
                    )
                except DeliveryError as exc:
                    error = exc
                except Exception as exc:  # noqa: BLE001 - a bug must not stop the other entries
                    # The type only: an exception's message may quote the message or address.
                    log.error("notification %s: unexpected %s", notification_id, type(exc).__name__)
                    error = DeliveryError(type(exc).__name__)
                else:
                    record_sent(session, notification_id, now=clock.now())
                    session.commit()
                    report.sent += 1
                    log.info("notification %s sent", notification_id)
                    continue
                status = record_failure(
                    session,
                    notification_id,
                    notification.attempts,
                    error,
                    now=clock.now(),
                    settings=settings,
                )
                session.commit()
                if status == NotificationStatus.FAILED:
                    report.failed += 1
                    log.warning(
                        "notification %s failed after %s attempt(s): %s",
                        notification_id,
                        notification.attempts,
                        error.code,
                    )
                else:
                    report.retrying += 1
                    log.info(
                        "notification %s attempt %s failed (%s); will retry",
                        notification_id,
                        notification.attempts,
                        error.code,
                    )
    return report


class NotificationSender:
    """A loop that delivers due notifications every ``NOTIFY_POLL_SECONDS``, or at once when
    woken (a check-in in the same process wakes it)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.poll_seconds = float(app.config["NOTIFY_POLL_SECONDS"])
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run the loop in a daemon thread and let this app's requests wake it."""
        self._thread = threading.Thread(target=self.run, name="kiosk-notify", daemon=True)
        self._thread.start()
        self.app.extensions[EXTENSION_KEY] = self

    def wake(self) -> None:
        """Look for due notifications now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to end and wait for it (an entry being sent is finished first)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.app.extensions.pop(EXTENSION_KEY, None)

    def run(self) -> None:
        """Deliver until stopped."""
        last_problem = None
        while not self._stop.is_set():
            self._wake.clear()
            try:
                report = deliver_due(self.app, limit=BATCH)
            except Exception as exc:  # noqa: BLE001 - e.g. the database is restarting: go on
                problem = type(exc).__name__
                if problem != last_problem:  # one line per kind of trouble, not per poll
                    log.warning("notification sender: %s; retrying", problem)
                last_problem = problem
            else:
                last_problem = None
                if report.attempted >= BATCH:
                    continue  # more may be due
            self._wake.wait(self.poll_seconds)


def wake_sender() -> None:
    """Tell this process's sender, if it has one, that there is something to send."""
    sender: NotificationSender | None = current_app.extensions.get(EXTENSION_KEY)
    if sender is not None:
        sender.wake()
