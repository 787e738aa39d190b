"""The check-in use case: one visitor registered in one transaction.

The visit, its folded name words, the host's notifications (in a savepoint, so an outbox row
the database refuses never fails a check-in) and, unless a printer must be asked, its badge's
print record commit together: one commit instead of three is most of what a check-in costs
the database, and on PostgreSQL each commit waits for the disk. What has to wait until the
commit (asking a CUPS printer, waking the notification sender) is returned to the caller,
which is the kiosk's view today and can be a test, a benchmark or an API tomorrow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from kiosk.badges.jobs import local_print_record, needs_printer, print_badge
from kiosk.badges.signed_document import store_signed_documents
from kiosk.enums import WebhookEvent
from kiosk.models import Invitation, KioskDevice, NoticeVersion, PrintJob, Site, Visit
from kiosk.notifications.events import (
    group_event,
    has_subscriptions,
    queue_event_safely,
    visit_event,
)
from kiosk.notifications.messages import arrival_messages
from kiosk.notifications.outbox import NotifySettings, queue_arrival_messages
from kiosk.services.documents import Signature
from kiosk.services.groups import new_group
from kiosk.services.visits import VisitError, VisitorDetails, register_visit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckIn:
    """A committed check-in, and what its caller still has to do."""

    visit: Visit
    #: Messages to the host or webhook calls were queued: wake the sender (after the commit).
    messages_queued: bool
    #: The badge goes to a printer that must be asked: call ``print_badge`` now, outside
    #: the transaction, so a slow or broken printer never holds up or fails the check-in.
    print_after_commit: bool


def check_in(
    session: Session,
    site: Site,
    details: VisitorDetails,
    *,
    locale: str,
    notice: NoticeVersion,
    invitation: Invitation | None,
    device: KioskDevice | None,
    notify: NotifySettings,
    now: datetime,
    in_same_transaction: Callable[[], None] | None = None,
    signatures: Sequence[Signature] = (),
) -> CheckIn:
    """Register a visitor at ``site`` who read ``notice``, and commit.

    ``in_same_transaction`` runs just before the commit (the kiosk erases the details it kept
    for the visitor there, so they go exactly when the visit holds them). Raises
    :class:`kiosk.services.visits.VisitError` after rolling back when the visit cannot be
    saved (an unknown host, an invitation already used …): nothing of it is kept.

    ``signatures`` are the documents the visitor signed at the kiosk: their PDFs are stored
    with the visit, in the same commit (kiosk.badges.signed_document).
    """
    print_after_commit = False

    def print_record(visit: Visit) -> list[PrintJob]:
        # A badge no printer is asked for is recorded in the visit's own flush.
        nonlocal print_after_commit
        print_after_commit = needs_printer(visit)
        return [] if print_after_commit else [local_print_record(visit, now=now)]

    # Read before the first write: on SQLite the write lock is held from the visit's INSERT
    # to the commit, and every other kiosk's check-in waits for it.
    tell_webhooks = has_subscriptions(session, site.id, WebhookEvent.VISIT_CHECKED_IN)
    try:
        visit = register_visit(
            session,
            site,
            details,
            locale=locale,
            notice_id=notice.id,
            invitation=invitation,
            now=now,
            device=device,
            rows_with_visit=print_record,
        )
        if signatures:
            store_signed_documents(session, visit, signatures, now=now)
    except Exception:
        session.rollback()
        raise
    queued = _queue_arrival(session, visit, notify, now=now)
    if tell_webhooks:
        event = visit_event(WebhookEvent.VISIT_CHECKED_IN, visit, now=now)
        queued = queue_event_safely(session, event, now=now) or queued
    if in_same_transaction is not None:
        in_same_transaction()
    session.commit()
    return CheckIn(visit=visit, messages_queued=queued, print_after_commit=print_after_commit)


def _queue_arrival(
    session: Session,
    visit: Visit,
    notify: NotifySettings,
    *,
    now: datetime,
    companions: Sequence[Visit] = (),
) -> bool:
    """Queue the host's email and the site's webhook call in the visit's transaction; the
    sender delivers them later. Returns whether anything was queued.

    A savepoint keeps the visit whatever goes wrong here: the check-in never fails for its
    notifications, and the log line names the visit and the error's class, never its text.
    """
    try:
        messages = arrival_messages(visit, notify, companions=companions)
        if not messages:
            return False  # no savepoint either: most check-ins tell nobody
        with session.begin_nested():
            queue_arrival_messages(session, visit, messages, now=now, settings=notify)
    except Exception as exc:  # noqa: BLE001 - the visitor is checked in regardless
        logger.error("notifications for visit %s not queued: %s", visit.id, type(exc).__name__)
        return False
    return True


# Groups ("I am with others", kiosk.services.groups) -------------------------------------------


@dataclass(frozen=True)
class GroupCheckIn:
    """A committed group check-in: the first visitor's visit first, then each companion's."""

    visits: list[Visit]
    messages_queued: bool
    #: The visits whose badges go to a printer that must be asked (see :class:`CheckIn`).
    print_after_commit: list[Visit]


def check_in_group(
    session: Session,
    site: Site,
    members: Sequence[VisitorDetails],
    *,
    locale: str,
    notice: NoticeVersion,
    invitation: Invitation | None,
    device: KioskDevice | None,
    notify: NotifySettings,
    now: datetime,
    in_same_transaction: Callable[[], None] | None = None,
    signatures: Sequence[Sequence[Signature]] = (),
) -> GroupCheckIn:
    """Register a group at ``site`` in one transaction: a visit and a badge for each member
    (the first is the visitor who filled in the form, and only they use ``invitation``), one
    :class:`~kiosk.models.VisitGroup` linking them, and ONE message to the host and one
    webhook event for everyone. Each member checks out on their own badge.

    ``signatures`` are what each member signed, in the order of ``members``: stored with
    their own visit in the same commit.

    Raises :class:`kiosk.services.visits.VisitError` after rolling back when any member cannot
    be registered: nobody of the group is kept.
    """
    if not members:
        raise VisitError("name_required")
    try:
        visits = [
            register_visit(
                session,
                site,
                details,
                locale=locale,
                notice_id=notice.id,
                invitation=invitation if position == 0 else None,
                now=now,
                device=device,
            )
            for position, details in enumerate(members)
        ]
        new_group(session, site, visits, now=now)
        session.flush()
        for visit, signed in zip(visits, signatures, strict=False):
            if signed:
                store_signed_documents(session, visit, signed, now=now)
    except Exception:
        session.rollback()
        raise
    first, companions = visits[0], visits[1:]
    queued = _queue_arrival(session, first, notify, now=now, companions=companions)
    event = group_event(first, companions, now=now)
    queued = queue_event_safely(session, event, now=now) or queued
    print_later = [visit for visit in visits if needs_printer(visit)]
    for visit in visits:
        if visit not in print_later:
            print_badge(session, visit, now=now, commit=False)
    if in_same_transaction is not None:
        in_same_transaction()
    session.commit()
    return GroupCheckIn(visits=visits, messages_queued=queued, print_after_commit=print_later)
