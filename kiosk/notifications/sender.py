"""The notification sender: delivers the outbox outside any request.

`kiosk serve` starts one :class:`NotificationSender` thread in each gunicorn worker (see
kiosk/server.py) unless ``NOTIFY_IN_SERVER`` is false; `kiosk notify run` runs the same loop
as a process of its own. Any number of senders can run against one database: each entry is
claimed by exactly one (kiosk.services.notifications.claim_notification).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kiosk.clock import Clock
from kiosk.db import get_database
from kiosk.models import NOTIFY_FAILED, Notification
from kiosk.notifications.transports import DeliveryError, MailSettings
from kiosk.services.notifications import (
    NotifySettings,
    claim_notification,
    deliver_notification,
    due_notification_ids,
    record_failure,
    record_sent,
    release_stale_claims,
)

log = logging.getLogger(__name__)

EXTENSION_KEY = "kiosk.notifications.sender"
#: A served sender takes this many entries per pass (it comes back at once when there are more).
BATCH = 20


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
                if status == NOTIFY_FAILED:
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
