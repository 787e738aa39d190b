"""Privacy notices: the published version a visitor is shown, with the site's facts filled in."""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import NoticeVersion, Site

#: Placeholders a notice text may use; each comes from the site's settings, so the text and
#: the behaviour (retention) can never disagree.
PLACEHOLDERS = (
    "controller_name",
    "controller_contact",
    "dpo_contact",
    "authority_name",
    "authority_contact",
    "retention_days",
    "contact_retention_days",
)


class NoticeError(Exception):
    """A notice text that cannot be published, with the reason."""


def current_notice(session: Session, site: Site, locale: str) -> NoticeVersion | None:
    """The newest published notice in this language, else in the site's default language."""
    for wanted in (locale, site.default_locale):
        notice = session.scalar(
            select(NoticeVersion)
            .where(
                NoticeVersion.site_id == site.id,
                NoticeVersion.locale == wanted,
                NoticeVersion.published_at.is_not(None),
            )
            .order_by(NoticeVersion.version.desc())
            .limit(1)
        )
        if notice is not None:
            return notice
    return None


def site_facts(site: Site) -> Mapping[str, str]:
    """The values that fill a notice's placeholders."""
    return {
        "controller_name": site.controller_name,
        "controller_contact": site.controller_contact,
        "dpo_contact": site.dpo_contact or "",
        "authority_name": site.authority_name,
        "authority_contact": site.authority_contact or "",
        "retention_days": str(site.retention_days),
        # Email and phone: the site's shorter period, else the visit's.
        "contact_retention_days": str(site.contact_days),
    }


def render_notice(notice: NoticeVersion, site: Site) -> str:
    """The notice text with the site's facts filled in."""
    return notice.text.format_map(site_facts(site))


def check_notice_text(text: str) -> None:
    """Refuse a text with an unknown or malformed placeholder before it is published."""
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:
        raise NoticeError(f"malformed placeholder: {exc}") from exc
    unknown = sorted(set(fields) - set(PLACEHOLDERS))
    if unknown:
        raise NoticeError(f"unknown placeholders: {', '.join(unknown)}")


def publish_notice(
    session: Session, site: Site, locale: str, text: str, *, now: datetime
) -> NoticeVersion:
    """Publish a new version of a site's notice in one language."""
    check_notice_text(text)
    latest = session.scalar(
        select(NoticeVersion.version)
        .where(NoticeVersion.site_id == site.id, NoticeVersion.locale == locale)
        .order_by(NoticeVersion.version.desc())
        .limit(1)
    )
    notice = NoticeVersion(
        site_id=site.id, locale=locale, version=(latest or 0) + 1, text=text, published_at=now
    )
    session.add(notice)
    return notice
