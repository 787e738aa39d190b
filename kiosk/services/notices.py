"""Privacy notices: the published version a visitor is shown, with the site's facts filled in."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
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


#: The full notice's language when none is published in the visitor's: English, which most
#: visitors read, before the site's own (see :func:`current_notice`).
FALLBACK_LOCALE = "en"


def current_notice(
    session: Session, site: Site, locale: str, *, fallback: bool = True
) -> NoticeVersion | None:
    """The newest published notice in this language; else (``fallback``) in English, else
    in the site's language, else in any language; None when the site published none.

    Notices recorded from the generated first layer (``generated``) are never the full text.
    """
    published = (
        select(NoticeVersion)
        .where(
            NoticeVersion.site_id == site.id,
            NoticeVersion.published_at.is_not(None),
            NoticeVersion.generated.is_(False),
        )
        .order_by(NoticeVersion.version.desc())
    )
    notice = session.scalar(published.where(NoticeVersion.locale == locale).limit(1))
    if notice is not None or not fallback:
        return notice
    newest: dict[str, NoticeVersion] = {}
    for candidate in session.scalars(published):
        newest.setdefault(candidate.locale, candidate)
    for wanted in (FALLBACK_LOCALE, site.default_locale, *sorted(newest)):
        if wanted in newest:
            return newest[wanted]
    return None


def languages_without_notice(session: Session, site: Site, languages: Sequence[str]) -> list[str]:
    """The languages (of ``languages``, in order) in which the site has published no notice."""
    published = set(
        session.scalars(
            select(NoticeVersion.locale).where(
                NoticeVersion.site_id == site.id,
                NoticeVersion.published_at.is_not(None),
                NoticeVersion.generated.is_(False),
            )
        )
    )
    return [code for code in languages if code not in published]


def record_generated_notice(
    session: Session, site: Site, locale: str, text: str, *, now: datetime
) -> NoticeVersion:
    """The notice version recording ``text``, the generated first layer a visitor is shown
    at a site that has published no notice: the newest one with the same text, else a new
    published version marked ``generated`` (the caller commits).

    Any earlier version with the same text, not only the newest: each visitor type has a first
    layer of its own, and visitors of two types in turn must not add a version each."""
    literal = text.replace("{", "{{").replace("}", "}}")
    same = session.scalar(
        select(NoticeVersion)
        .where(
            NoticeVersion.site_id == site.id,
            NoticeVersion.locale == locale,
            NoticeVersion.generated.is_(True),
            NoticeVersion.text == literal,
        )
        .order_by(NoticeVersion.version.desc())
        .limit(1)
    )
    if same is not None:
        return same
    latest = session.scalar(
        select(NoticeVersion.version)
        .where(NoticeVersion.site_id == site.id, NoticeVersion.locale == locale)
        .order_by(NoticeVersion.version.desc())
        .limit(1)
    )
    notice = NoticeVersion(
        site_id=site.id,
        locale=locale,
        version=(latest or 0) + 1,
        text=literal,
        published_at=now,
        generated=True,
    )
    session.add(notice)
    return notice


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
