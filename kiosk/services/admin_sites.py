"""Sites as an admin sets them up: every setting the kiosk, the notice and notifications read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.enums import FieldMode, values
from kiosk.forms import is_plain_text
from kiosk.models import KIOSK_FIELDS, Site
from kiosk.services.groups import MAX_COMPANIONS_LIMIT
from kiosk.services.visitor_types import add_default_types

RETENTION_MIN_DAYS = 1
RETENTION_MAX_DAYS = 3650
#: The longest welcome line the kiosk shows under the site's name.
WELCOME_MAX_LENGTH = 200


class SiteError(Exception):
    """Settings a site cannot take; ``code`` says why and ``field`` which setting."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(f"{field}: {code}")
        self.code = code
        self.field = field


@dataclass
class SiteSettings:
    """Everything an admin sets on a site (the badge settings come with the badges)."""

    name: str
    timezone: str
    default_locale: str
    retention_days: int
    controller_name: str
    controller_contact: str
    authority_name: str
    dpo_contact: str | None = None
    authority_contact: str | None = None
    end_of_day: time | None = None
    #: Days email and phone are kept after check-out; None: as long as the visit.
    contact_retention_days: int | None = None
    webhook_url: str | None = None
    #: Kiosk field -> hidden, optional or required; fields left out keep their mode.
    field_modes: Mapping[str, str] = field(default_factory=dict)
    #: The kiosk's welcome line per language code; a language left out (or empty) shows the
    #: translated default. None keeps what the site has.
    welcome_text: Mapping[str, str] | None = None
    #: How many companions a visitor may add at the kiosk (0: no groups); None keeps the
    #: site's (kiosk.services.groups).
    max_companions: int | None = None

    @classmethod
    def of(cls, site: Site) -> SiteSettings:
        """The settings a site has now."""
        return cls(
            name=site.name,
            timezone=site.timezone,
            default_locale=site.default_locale,
            retention_days=site.retention_days,
            controller_name=site.controller_name,
            controller_contact=site.controller_contact,
            authority_name=site.authority_name,
            dpo_contact=site.dpo_contact,
            authority_contact=site.authority_contact,
            end_of_day=site.end_of_day,
            contact_retention_days=site.contact_retention_days,
            webhook_url=site.webhook_url,
            field_modes={name: site.field_mode(name) for name in KIOSK_FIELDS},
            welcome_text=dict(site.welcome_text or {}),
            max_companions=site.max_companions,
        )


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this system knows (e.g. "Europe/Stockholm")."""
    if not name or name != name.strip():
        return False
    zones = _zones()
    if zones:
        return name in zones
    try:  # no zone list (no tzdata files to scan): ask zoneinfo itself
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def is_webhook_url(url: str) -> bool:
    """Whether ``url`` is an absolute http or https URL with a host and nothing odd in it."""
    if not url or len(url) > 500 or not is_plain_text(url) or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(hostname) and not parts.username


def check_settings(
    session: Session, settings: SiteSettings, *, languages: Sequence[str], site: Site | None = None
) -> None:
    """Refuse settings a site cannot take (raises :class:`SiteError`); ``site`` when editing."""
    required = {
        "name": (settings.name, 100),
        "controller_name": (settings.controller_name, 200),
        "controller_contact": (settings.controller_contact, 500),
        "authority_name": (settings.authority_name, 200),
    }
    optional = {
        "dpo_contact": (settings.dpo_contact, 500),
        "authority_contact": (settings.authority_contact, 300),
    }
    for name, (value, max_length) in {**required, **optional}.items():
        if name in required and not (value or "").strip():
            raise SiteError("required", name)
        if value and (len(value) > max_length or not is_plain_text(value)):
            raise SiteError("invalid", name)
    if not is_timezone(settings.timezone):
        raise SiteError("invalid", "timezone")
    if settings.default_locale not in languages:
        raise SiteError("invalid", "default_locale")
    if not RETENTION_MIN_DAYS <= settings.retention_days <= RETENTION_MAX_DAYS:
        raise SiteError("invalid", "retention_days")
    contact_days = settings.contact_retention_days
    if contact_days is not None and not (
        RETENTION_MIN_DAYS <= contact_days <= settings.retention_days
    ):
        raise SiteError("invalid", "contact_retention_days")
    for name, mode in settings.field_modes.items():
        if name not in KIOSK_FIELDS or mode not in values(FieldMode):
            raise SiteError("invalid", f"field_{name}")
    companions = settings.max_companions
    if companions is not None and not 0 <= companions <= MAX_COMPANIONS_LIMIT:
        raise SiteError("invalid", "max_companions")
    if settings.webhook_url and not is_webhook_url(settings.webhook_url):
        raise SiteError("invalid", "webhook_url")
    for code, line in (settings.welcome_text or {}).items():
        if code not in languages:
            raise SiteError("invalid", f"welcome_{code}")
        if line and (len(line) > WELCOME_MAX_LENGTH or not is_plain_text(line)):
            raise SiteError("invalid", f"welcome_{code}")
    taken = session.scalar(
        select(Site.id).where(
            func.lower(Site.name) == settings.name.strip().lower(),
            *([Site.id != site.id] if site is not None and site.id is not None else []),
        )
    )
    if taken is not None:
        raise SiteError("name_taken", "name")


def create_site(
    session: Session, settings: SiteSettings, *, languages: Sequence[str], now: datetime
) -> Site:
    """Create a site with these settings (unset kiosk fields keep the model's defaults) and
    the default visitor types."""
    check_settings(session, settings, languages=languages)
    site = Site(created_at=now)
    _apply(site, settings)
    session.add(site)
    add_default_types(session, site, now=now)
    return site


def update_site(
    session: Session, site: Site, settings: SiteSettings, *, languages: Sequence[str]
) -> None:
    """Change every setting of a site."""
    check_settings(session, settings, languages=languages, site=site)
    _apply(site, settings)


def _apply(site: Site, settings: SiteSettings) -> None:
    site.name = settings.name.strip()
    site.timezone = settings.timezone
    site.default_locale = settings.default_locale
    site.retention_days = settings.retention_days
    site.controller_name = settings.controller_name.strip()
    site.controller_contact = settings.controller_contact.strip()
    site.authority_name = settings.authority_name.strip()
    site.dpo_contact = (settings.dpo_contact or "").strip() or None
    site.authority_contact = (settings.authority_contact or "").strip() or None
    site.end_of_day = settings.end_of_day
    site.contact_retention_days = settings.contact_retention_days
    site.webhook_url = settings.webhook_url or None
    for name, mode in settings.field_modes.items():
        setattr(site, f"field_{name}", mode)
    if settings.max_companions is not None:
        site.max_companions = settings.max_companions
    if settings.welcome_text is not None:
        lines = {code: line.strip() for code, line in settings.welcome_text.items()}
        site.welcome_text = {code: line for code, line in lines.items() if line} or None
