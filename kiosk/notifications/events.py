"""Webhook subscriptions: events told to the systems a site chose, signed so receivers can trust
them (https://www.standardwebhooks.com).

An event (a visit checked in or out, an invitation made, a purge run done) becomes one outbox
row per active subscription of the site that asked for it, written in the subscription's format
and the site's language; the sender signs each call when it goes (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``) and retries like any other notification.

Calls carry ids and times only. A subscription whose ``personal`` box is ticked also gets the
visitor's name and company (and the host's name): such a receiver is a recipient of personal
data, and the privacy notice's first layer names it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.enums import NotificationKind, WebhookEvent, WebhookFormat
from kiosk.models import (
    Invitation,
    Notification,
    PurgeRun,
    Site,
    Visit,
    VisitorType,
    WebhookSubscription,
)
from kiosk.notifications.messages import slack_escaped
from kiosk.notifications.outbox import NotifySettings, notify_settings, queue_notification
from kiosk.sealing import fields_state, kept
from kiosk.services.visitor_types import active_types, type_name
from kiosk.services.webhooks import SECRET_PREFIX

log = logging.getLogger(__name__)


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header: ``v1,`` and base64(HMAC-SHA256(key, id.timestamp.body))."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


def message_id(notification: Notification) -> str:
    """The same for every attempt of one call, so a receiver can drop a repeat."""
    return f"msg_kiosk_{notification.id}"


@dataclass(frozen=True)
class Event:
    """One thing that happened at a site, before it is written for each subscription."""

    type: WebhookEvent
    site: Site
    at: datetime
    #: Ids and times: what every subscription gets.
    data: Mapping[str, Any]
    #: The visitor's name, company and host's name: only for subscriptions that may have them.
    personal: Mapping[str, Any]
    visit: Visit | None = None
    invitation: Invitation | None = None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _kind_of_visit(visitor_type: VisitorType | None, site: Site) -> dict[str, Any]:
    """The visitor type as the API gives it (docs/api.md): its id and its name in the site's
    language, both null for a visit or invitation without one. Not personal data: it goes to
    every subscription, as the kind of visit goes to every API client."""
    if visitor_type is None:
        return {"visitor_type_id": None, "visitor_type": None}
    with force_locale(site.default_locale):
        name = type_name(visitor_type, site.default_locale)
    return {"visitor_type_id": visitor_type.id, "visitor_type": name}


def visit_event(kind: WebhookEvent, visit: Visit, *, now: datetime) -> Event:
    host = visit.host
    return Event(
        type=kind,
        site=visit.site,
        at=now,
        data={
            "visit_id": visit.id,
            "site_id": visit.site_id,
            "host_id": visit.host_id,
            **_kind_of_visit(visit.visitor_type, visit.site),
            "checked_in_at": _iso(visit.checked_in_at),
            "checked_out_at": _iso(visit.checked_out_at),
        },
        personal={
            # Null, with the state saying why, for a visit whose key is destroyed (checked
            # out after it went): never an empty name that looks like one left blank.
            "visitor_name": kept(visit.visitor_name),
            "company": kept(visit.company),
            "visitor_state": fields_state(visit.visitor_name, visit.company),
            "host_name": host.name if host is not None else None,
        },
        visit=visit,
    )


def group_event(first: Visit, companions: Sequence[Visit], *, now: datetime) -> Event:
    """One ``visit.checked_in`` event for a group (kiosk.services.groups): the first visitor's
    visit, with the group's id, size and every member's visit id (and, for subscriptions
    that may have them, the companions' names)."""
    event = visit_event(WebhookEvent.VISIT_CHECKED_IN, first, now=now)
    if not companions:
        return event
    return replace(
        event,
        data={
            **event.data,
            "group_id": first.group_id,
            "group_size": len(companions) + 1,
            "group_visit_ids": [first.id, *(visit.id for visit in companions)],
        },
        personal={
            **event.personal,
            "companions": [visit.visitor_name for visit in companions],
        },
    )


def invitation_event(invitation: Invitation, *, now: datetime) -> Event:
    host = invitation.host
    return Event(
        type=WebhookEvent.INVITATION_CREATED,
        site=invitation.site,
        at=now,
        data={
            "invitation_id": invitation.id,
            "site_id": invitation.site_id,
            "host_id": invitation.host_id,
            # Null when reception left the kind of visit to the visitor at the kiosk.
            **_kind_of_visit(invitation.visitor_type, invitation.site),
            "expected_on": invitation.expected_on.isoformat(),
        },
        personal={
            "visitor_name": invitation.visitor_name,
            "company": invitation.company,
            "host_name": host.name if host is not None else None,
        },
        invitation=invitation,
    )


def purge_event(run: PurgeRun, site: Site, *, now: datetime) -> Event:
    counts = next((item for item in run.sites if item.site_id == site.id), None)
    return Event(
        type=WebhookEvent.PURGE_COMPLETED,
        site=site,
        at=now,
        data={
            "purge_run_id": run.id,
            "site_id": site.id,
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "visits_erased": counts.visits_erased if counts else 0,
            "invitations_erased": counts.invitations_erased if counts else 0,
            "contacts_erased": counts.contacts_erased if counts else 0,
            "documents_erased": counts.documents_erased if counts else 0,
        },
        personal={},
    )


def subscriptions_for(
    session: Session, site_id: int, kind: WebhookEvent
) -> list[WebhookSubscription]:
    """The site's active subscriptions that asked for this kind of event."""
    found = session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.site_id == site_id, WebhookSubscription.active.is_(True)
        )
    )
    return [subscription for subscription in found if kind in subscription.event_list]


def has_subscriptions(session: Session, site_id: int, kind: WebhookEvent) -> bool:
    """Whether any active subscription of the site asked for this kind of event.

    Only their event lists are read, outside any savepoint: a site that tells nobody (most)
    pays one small query, and :func:`queue_event_safely` is called only when there is
    something to queue. (A database that fails this read fails the transaction's commit too.)
    """
    lists = session.scalars(
        select(WebhookSubscription.events).where(
            WebhookSubscription.site_id == site_id, WebhookSubscription.active.is_(True)
        )
    )
    return any(kind in events.split() for events in lists)


def queue_event(
    session: Session, event: Event, *, now: datetime, settings: NotifySettings | None = None
) -> list[Notification]:
    """One outbox row per subscription of the event's site that asked for it; the caller
    commits. Needs an app context (the catalogs, for Teams and Slack text)."""
    settings = notify_settings(settings)
    queued = []
    for subscription in subscriptions_for(session, event.site.id, event.type):
        queued.append(
            queue_notification(
                session,
                settings,
                kind=NotificationKind.EVENT_WEBHOOK,
                site=event.site,
                visit=event.visit,
                invitation=event.invitation,
                host=event.visit.host if event.visit else None,
                subscription=subscription,
                recipient=subscription.url,
                subject=None,
                body=render_event(event, subscription),
                now=now,
            )
        )
    return queued


def queue_checked_out(session: Session, visits: list[Visit], *, now: datetime) -> bool:
    """Tell the subscriptions of these visits' sites that they checked out; whether anything
    was queued (then wake the sender after the commit)."""
    queued = False
    for visit in visits:
        event = visit_event(WebhookEvent.VISIT_CHECKED_OUT, visit, now=now)
        queued = queue_event_safely(session, event, now=now) or queued
    return queued


def queue_event_safely(session: Session, event: Event, *, now: datetime) -> bool:
    """:func:`queue_event` in a savepoint: whatever happened stays done if this fails (the
    log names the event and the error's class only). Returns whether anything was queued."""
    try:
        with session.begin_nested():
            return bool(queue_event(session, event, now=now))
    except Exception as exc:  # noqa: BLE001 - the event itself must not fail for its webhooks
        log.error("webhook calls for %s not queued: %s", event.type, type(exc).__name__)
        return False


# Writing an event in a subscription's format ---------------------------------------------


def render_event(event: Event, subscription: WebhookSubscription) -> str:
    """The JSON body of the call, in the subscription's format."""
    data = {**event.data, **(event.personal if subscription.personal else {})}
    if subscription.format == WebhookFormat.STANDARD:
        payload: dict[str, Any] = {
            "type": str(event.type),
            "timestamp": _iso(event.at),
            "data": data,
        }
    else:
        with force_locale(event.site.default_locale):
            title, facts = _readable(event, data, subscription.personal)
        if subscription.format == WebhookFormat.TEAMS:
            payload = _adaptive_card(title, facts)
        else:
            payload = _slack_blocks(title, facts)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _when(moment: str | None, site: Site, locale: str) -> str:
    if moment is None:
        return "–"
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return format_datetime(parsed, "short", tzinfo=ZoneInfo(site.timezone), locale=locale)


def _readable(
    event: Event, data: Mapping[str, Any], personal: bool
) -> tuple[str, list[tuple[str, str]]]:
    """A title and facts for people reading a chat channel, in the site's language."""
    site = event.site
    locale = site.default_locale
    visitor = data.get("visitor_name") if personal else None
    if visitor is None:
        visitor = _("Visit %(id)s", id=data.get("visit_id"))
    facts: list[tuple[str, str]] = [(_("Site"), site.name)]
    if personal and data.get("company"):
        facts.append((_("Company"), str(data["company"])))
    if personal and data.get("host_name"):
        facts.append((_("Host"), str(data["host_name"])))
    # As reception's lists: a site with one type ("Visitor") marks none.
    if data.get("visitor_type") and len(active_types(site)) > 1:
        facts.append((_("Kind of visit"), str(data["visitor_type"])))
    if event.type == WebhookEvent.VISIT_CHECKED_IN and data.get("group_size"):
        others = int(data["group_size"]) - 1
        title = ngettext(
            "%(visitor)s and %(num)d other person checked in",
            "%(visitor)s and %(num)d other people checked in",
            others,
            visitor=visitor,
        )
        facts.append((_("Arrived"), _when(data.get("checked_in_at"), site, locale)))
    elif event.type == WebhookEvent.VISIT_CHECKED_IN:
        title = _("%(visitor)s checked in", visitor=visitor)
        facts.append((_("Arrived"), _when(data.get("checked_in_at"), site, locale)))
    elif event.type == WebhookEvent.VISIT_CHECKED_OUT:
        title = _("%(visitor)s checked out", visitor=visitor)
        facts.append((_("Left"), _when(data.get("checked_out_at"), site, locale)))
    elif event.type == WebhookEvent.INVITATION_CREATED:
        expected = (
            data.get("visitor_name")
            if personal
            else _("Invitation %(id)s", id=data.get("invitation_id"))
        )
        title = _("%(visitor)s is expected", visitor=expected)
        facts.append((_("Date"), str(data.get("expected_on"))))
    else:
        title = _("Retention purge done at %(site)s", site=site.name)
        facts.append((_("Visits erased"), str(data.get("visits_erased", 0))))
        facts.append((_("Invitations erased"), str(data.get("invitations_erased", 0))))
    return str(title), [(str(name), value) for name, value in facts]


def _adaptive_card(title: str, facts: list[tuple[str, str]]) -> dict[str, Any]:
    """A Teams Workflows message: an Adaptive Card with the title and a fact set."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": title,
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                        },
                        {
                            "type": "FactSet",
                            "facts": [{"title": name, "value": value} for name, value in facts],
                        },
                    ],
                },
            }
        ],
    }


def _slack_blocks(title: str, facts: list[tuple[str, str]]) -> dict[str, Any]:
    """A Slack message: ``text`` (read as markup, so escaped) for notifications, and Block Kit
    plain-text sections to read."""
    return {
        "text": slack_escaped(title),
        "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": title}},
            {
                "type": "section",
                "fields": [
                    {"type": "plain_text", "text": f"{name}: {value}"} for name, value in facts
                ],
            },
        ],
    }
