"""What to say: the messages a check-in or an invitation sets off, rendered in the reader's
language and handed to the outbox (kiosk.notifications.outbox)."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import has_request_context, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from kiosk.models import (
    NOTIFY_HOST_EMAIL,
    NOTIFY_HOST_WEBHOOK,
    NOTIFY_INVITATION_EMAIL,
    Host,
    Invitation,
    Notification,
    Site,
    Visit,
)
from kiosk.notifications.outbox import (
    ArrivalMessage,
    NotifySettings,
    notify_settings,
    queue_arrival_messages,
    queue_notification,
)


def arrival_messages(visit: Visit, settings: NotifySettings | None = None) -> list[ArrivalMessage]:
    """What a check-in sets off: an email to the host, and the site's webhook call, rendered
    (nothing is written). Needs an app context (for the catalogs).

    The host's email is in the host's language (else the site's); the webhook speaks the
    site's language.
    """
    settings = notify_settings(settings)
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


def queue_arrival_notifications(
    session: Session, visit: Visit, *, now: datetime, settings: NotifySettings | None = None
) -> list[Notification]:
    """Queue what a check-in sets off (:func:`arrival_messages`); the caller commits."""
    settings = notify_settings(settings)
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
    settings = notify_settings(settings)
    if not invitation.email or not settings.email_enabled:
        return None
    site = invitation.site
    with force_locale(invitation.locale):
        subject, body = _invitation_email(invitation, site, _notice_url(settings, site, invitation))
    return queue_notification(
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
