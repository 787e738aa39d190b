"""Admins' side of webhook subscriptions: making, changing, renewing the secret, removing."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from kiosk.enums import WebhookEvent, WebhookFormat
from kiosk.models import Site, WebhookSubscription
from kiosk.services.admin_sites import is_webhook_url

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 24


class WebhookError(Exception):
    """A subscription that cannot be saved; ``field`` says which input is wrong."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes them: ``whsec_`` and base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


@dataclass(frozen=True)
class SubscriptionSettings:
    name: str
    url: str
    format: str
    events: Sequence[str]
    personal: bool


def _checked(settings: SubscriptionSettings) -> SubscriptionSettings:
    if not settings.name.strip() or len(settings.name) > 100:
        raise WebhookError("name")
    if not is_webhook_url(settings.url):
        raise WebhookError("url")
    if settings.format not in set(WebhookFormat):
        raise WebhookError("format")
    events = [event for event in WebhookEvent if event in settings.events]
    if not events or len(events) != len(set(settings.events)):
        raise WebhookError("events")
    return SubscriptionSettings(
        settings.name.strip(), settings.url, settings.format, events, settings.personal
    )


def create_subscription(
    session: Session, site: Site, settings: SubscriptionSettings, *, now: datetime
) -> WebhookSubscription:
    """A new active subscription with a fresh secret; the caller commits and shows the secret."""
    checked = _checked(settings)
    subscription = WebhookSubscription(
        site=site,
        name=checked.name,
        url=checked.url,
        format=checked.format,
        events=" ".join(checked.events),
        personal=checked.personal,
        secret=new_secret(),
        active=True,
        created_at=now,
    )
    session.add(subscription)
    return subscription


def update_subscription(subscription: WebhookSubscription, settings: SubscriptionSettings) -> None:
    checked = _checked(settings)
    subscription.name = checked.name
    subscription.url = checked.url
    subscription.format = checked.format
    subscription.events = " ".join(checked.events)
    subscription.personal = checked.personal


def renew_secret(subscription: WebhookSubscription) -> str:
    """Replace the secret (the old one stops verifying at once); return the new one."""
    subscription.secret = new_secret()
    return subscription.secret


def site_subscriptions(session: Session, site_ids: Sequence[int]) -> Sequence[WebhookSubscription]:
    return session.scalars(
        select(WebhookSubscription)
        .options(joinedload(WebhookSubscription.site))
        .where(WebhookSubscription.site_id.in_(list(site_ids)))
        .order_by(WebhookSubscription.site_id, WebhookSubscription.name, WebhookSubscription.id)
    ).all()
