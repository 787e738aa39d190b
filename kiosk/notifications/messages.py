"""What to say: the messages a check-in or an invitation sets off, rendered in the reader's
language from the text templates in templates/emails/ and templates/webhooks/, and handed to
the outbox (kiosk.notifications.outbox)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import current_app, has_request_context, request
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.enums import NotificationKind, NotificationStatus
from kiosk.models import Host, Invitation, Notification, Site, Visit
from kiosk.notifications.outbox import (
    ArrivalMessage,
    NotifySettings,
    notify_settings,
    queue_arrival_messages,
    queue_notification,
)


def arrival_messages(
    visit: Visit, settings: NotifySettings | None = None, *, companions: Sequence[Visit] = ()
) -> list[ArrivalMessage]:
    """What a check-in sets off: an email to the host, and the site's webhook call, rendered
    (nothing is written). Needs an app context (for the catalogs).

    The host's email is in the host's language (else the site's); the webhook speaks the
    site's language. With ``companions`` (a group, kiosk.services.groups) the one message
    names the first visitor and how many people came.
    """
    settings = notify_settings(settings)
    site = visit.site
    host = visit.host
    messages = []
    # A visitor type may leave the host untold (a delivery for the building, say).
    host_told = visit.visitor_type is None or visit.visitor_type.notify_host
    if host is not None and host.email and settings.email_enabled and host_told:
        locale = host.locale or site.default_locale
        with force_locale(locale):
            subject, body = _host_email(visit, host, site, locale, companions)
        messages.append(ArrivalMessage(NotificationKind.HOST_EMAIL, host.email, subject, body))
    if site.webhook_url:
        with force_locale(site.default_locale):
            text = _arrival_text(visit, host, site, companions)
        # {"text": ...} is what Slack and Teams incoming webhooks both read.
        body = json.dumps({"text": text}, ensure_ascii=False)
        messages.append(ArrivalMessage(NotificationKind.HOST_WEBHOOK, site.webhook_url, None, body))
    return messages


def queue_arrival_notifications(
    session: Session, visit: Visit, *, now: datetime, settings: NotifySettings | None = None
) -> list[Notification]:
    """Queue what a check-in sets off (:func:`arrival_messages`); the caller commits."""
    settings = notify_settings(settings)
    messages = arrival_messages(visit, settings)
    return queue_arrival_messages(session, visit, messages, now=now, settings=settings)


@dataclass(frozen=True)
class QueuedArrival:
    """The arrival messages about a visit still waiting in the outbox, and the visits they
    are written from: a group's one message is on its first visitor's visit and names the
    others' count (kiosk.checkin)."""

    first: Visit
    companions: list[Visit]
    notifications: list[Notification]


def queued_arrival(session: Session, visit: Visit) -> QueuedArrival:
    """The host email and the site webhook call about ``visit`` (or its group) that have not
    gone: pending, or failed and waiting for staff to retry or dismiss them. One being sent
    goes as it is; one sent keeps no text."""
    first, companions = visit, []
    if visit.group_id is not None:
        group = session.scalars(
            select(Visit).where(Visit.group_id == visit.group_id).order_by(Visit.id)
        ).all()
        first, companions = group[0], list(group[1:])
    notifications = session.scalars(
        select(Notification)
        .where(
            Notification.visit_id == first.id,
            Notification.kind.in_((NotificationKind.HOST_EMAIL, NotificationKind.HOST_WEBHOOK)),
            Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.FAILED)),
        )
        .order_by(Notification.id)
    ).all()
    return QueuedArrival(first, companions, list(notifications))


def write_again(queued: QueuedArrival, settings: NotifySettings | None = None) -> int:
    """Write the queued arrival messages again from their visits as they are now: after a
    correction (GDPR Art. 16) the host and the site's webhook get the corrected details, not
    the ones corrected (Art. 19). A message the check-in would no longer send (email turned
    off, the host or the webhook address changed) is left as it was. Returns how many were
    written again. Needs an app context (the catalogs)."""
    if not queued.notifications:
        return 0
    fresh = {
        (message.kind, message.recipient): message
        for message in arrival_messages(queued.first, settings, companions=queued.companions)
    }
    written = 0
    for notification in queued.notifications:
        message = fresh.get((notification.kind, notification.recipient or ""))
        if message is None:
            continue
        notification.subject = message.subject
        notification.body = message.body
        written += 1
    return written


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
    settings = notify_settings(settings)
    if not invitation.email or not settings.email_enabled:
        return None
    site = invitation.site
    with force_locale(invitation.locale):
        subject, body = _invitation_email(invitation, site, _notice_url(settings, site, invitation))
    return queue_notification(
        session,
        settings,
        kind=NotificationKind.INVITATION_EMAIL,
        site=site,
        invitation=invitation,
        host=invitation.host,
        recipient=invitation.email,
        subject=subject,
        body=body,
        now=now,
    )


# Rendering (inside force_locale) -------------------------------------------------------------


def _render(template: str, **context: Any) -> tuple[str | None, str]:
    """A text template under templates/ (emails/, webhooks/): the ``subject`` it sets, if any,
    and its text.

    Text templates are not HTML-escaped (Flask escapes .html only): a name stays as typed.
    """
    module = current_app.jinja_env.get_template(template).make_module(context)
    subject: str | None = getattr(module, "subject", None)
    return subject, str(module)


def _email(template: str, **context: Any) -> tuple[str, str]:
    subject, text = _render(template, **context)
    # Jinja drops a template's last line break; a text email ends with one.
    return subject or "", text + "\n"


def _visitor_label(name: str, company: str | None) -> str:
    return f"{name} ({company})" if company else name


def _host_email(
    visit: Visit, host: Host, site: Site, locale: str, companions: Sequence[Visit] = ()
) -> tuple[str, str]:
    arrived = format_time(
        visit.checked_in_at, "short", tzinfo=ZoneInfo(site.timezone), locale=locale
    )
    visitor = _visitor_label(visit.visitor_name, visit.company)
    return _email(
        "emails/host_group_arrival.txt" if companions else "emails/host_arrival.txt",
        visit=visit,
        host=host,
        site=site,
        visitor=visitor,
        arrived=arrived,
        count=len(companions) + 1,
        companions=[_visitor_label(other.visitor_name, other.company) for other in companions],
    )


def slack_escaped(text: str) -> str:
    # Slack reads <...> as links and mentions; a visitor's name must stay plain text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _arrival_text(
    visit: Visit, host: Host | None, site: Site, companions: Sequence[Visit] = ()
) -> str:
    visitor = _visitor_label(visit.visitor_name, visit.company)
    _subject, text = _render(
        "webhooks/group_arrival.txt" if companions else "webhooks/arrival.txt",
        host=host,
        site=site,
        visitor=visitor,
        count=len(companions) + 1,
    )
    return slack_escaped(text)


def _notice_url(settings: NotifySettings, site: Site, invitation: Invitation) -> str | None:
    base = settings.public_url or (request.host_url if has_request_context() else None)
    if not base:
        return None
    return f"{base.rstrip('/')}/privacy/{site.id}/{invitation.locale}"


def _invitation_email(
    invitation: Invitation, site: Site, notice_url: str | None
) -> tuple[str, str]:
    day = format_date(invitation.expected_on, "full", locale=invitation.locale)
    return _email(
        "emails/invitation.txt", invitation=invitation, site=site, day=day, notice_url=notice_url
    )
