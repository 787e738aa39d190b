"""Writing a privacy notice in the dashboard: drafts, one text per element, and publishing.

The editor asks for each element of GDPR Art. 13 that the site's settings cannot supply (see
GDPR.md) in its own text area, so a missing element is an empty field that can be named, not a
sentence that cannot be found. The full text the kiosk shows is composed from those texts and
from placeholders for the site's settings (controller, DPO, retention, authority), in the
notice's language. A draft can be edited and discarded; publishing freezes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from flask_babel import force_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import NoticeVersion, Site
from kiosk.services.first_layer import asks_contact_details, signed_periods
from kiosk.services.notices import PLACEHOLDERS, check_notice_text

#: The notice-text elements (GDPR.md rows 3-7, 9, 11, 12, and the right to object of Art.
#: 21(4) on its own), in the order the full text gives them; each is required.
SECTIONS = (
    "purposes",
    "legal_basis",
    "legitimate_interests",
    "recipients",
    "transfers",
    "rights",
    "objection",
    "requirement",
    "automated_decisions",
)
#: Site settings the notice cannot do without (GDPR.md rows 1 and 10); the DPO is optional
#: and the storage period always comes from the retention days.
SITE_ELEMENTS = ("controller_name", "controller_contact", "authority_name")

#: The longest text one element may have.
SECTION_MAX_LENGTH = 4000

# Headings of the full text, in the visitor's language; most are the first layer's own words.
_HEADINGS: Mapping[str, Any] = {
    "controller": _l("Who is responsible"),
    "purposes": _l("Why"),
    "legal_basis": _l("Legal basis"),
    "legitimate_interests": _l("Our legitimate interests"),
    "recipients": _l("Who sees it"),
    "transfers": _l("Transfers outside the EU/EEA"),
    "storage": _l("How long"),
    "rights": _l("Your rights"),
    "objection": _l("Right to object"),
    "complaints": _l("Complaints"),
    "requirement": _l("Do you have to register?"),
    "automated_decisions": _l("Automated decisions"),
}

_PLACEHOLDER = re.compile(r"\{\s*(\w*)\s*\}")


class NoticeDraftError(Exception):
    """A notice draft operation that cannot be done; ``code`` says why."""

    def __init__(self, code: str, *, section: str | None = None, detail: str = "") -> None:
        super().__init__(f"{code} {section or ''} {detail}".strip())
        self.code = code
        self.section = section
        self.detail = detail


class NoticeIncomplete(NoticeDraftError):
    """Publishing refused: these elements (SECTIONS and SITE_ELEMENTS keys) are missing."""

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__("incomplete", detail=", ".join(missing))
        self.missing = list(missing)


def clean_sections(sections: Mapping[str, str | None]) -> dict[str, str]:
    """Every element's text, stripped, with Windows line ends made plain ("" when absent)."""
    return {
        key: (sections.get(key) or "").replace("\r\n", "\n").replace("\r", "\n").strip()
        for key in SECTIONS
    }


def check_sections(sections: Mapping[str, str]) -> None:
    """Refuse an element with an unknown placeholder or that is too long.

    ``{retention_days}`` and the other placeholders of kiosk.services.notices may be used; any
    other ``{word}`` is most likely a typo and is refused rather than shown to visitors. Lone
    braces are fine: they are kept as they are.
    """
    for key, text in sections.items():
        if len(text) > SECTION_MAX_LENGTH:
            raise NoticeDraftError("too_long", section=key)
        for match in _PLACEHOLDER.finditer(text):
            if match[1] not in PLACEHOLDERS:
                raise NoticeDraftError("unknown_placeholder", section=key, detail=match[0])


def missing_elements(site: Site, sections: Mapping[str, str] | None) -> list[str]:
    """The required elements a notice would lack: empty sections, then missing site settings."""
    cleaned = clean_sections(sections or {})
    return [key for key in SECTIONS if not cleaned[key]] + missing_site_elements(site)


def missing_site_elements(site: Site) -> list[str]:
    """The site settings a notice needs that the site lacks."""
    return [key for key in SITE_ELEMENTS if not (getattr(site, key) or "").strip()]


def compose_notice_text(site: Site, sections: Mapping[str, str], locale: str) -> str:
    """The full notice text in ``locale``: headings, the sections, and the site's facts.

    The facts stay ``{placeholders}``, filled when the notice is shown (render_notice), so a
    changed retention period or contact shows at once. Whether the site has a DPO and an
    authority contact is decided here, when composing; publishing composes again.
    """
    cleaned = clean_sections(sections)
    with force_locale(locale):
        headings = {key: str(heading) for key, heading in _HEADINGS.items()}
        controller = "{controller_name}, {controller_contact}"
        if site.dpo_contact:
            controller += "\n" + gettext(
                "Data protection officer: %(contact)s", contact="{dpo_contact}"
            )
        storage = ngettext(
            "Your details are deleted automatically %(days)s day after you check out.",
            "Your details are deleted automatically %(days)s days after you check out.",
            site.retention_days,
            days="{retention_days}",
        )
        # The periods the first layer states beside it (kiosk.services.first_layer): the
        # full text said only the visit's, which contradicted it (an outside audit).
        if site.contact_days < site.retention_days and asks_contact_details(site):
            storage += "\n" + ngettext(
                "Your email address and phone number are deleted automatically %(days)s day "
                "after you check out.",
                "Your email address and phone number are deleted automatically %(days)s days "
                "after you check out.",
                site.contact_days,
                days="{contact_retention_days}",
            )
        storage += "".join("\n" + _escape_braces(line) for line in signed_periods(site, locale))
        authority = "{authority_name}"
        if site.authority_contact:
            authority += " ({authority_contact})"
        complaints = gettext(
            "You have the right to lodge a complaint with the supervisory authority: "
            "%(authority)s.",
            authority=authority,
        )
    bodies = {
        "controller": controller,
        **{key: _escape_braces(cleaned[key]) for key in SECTIONS},
        "storage": storage,
        "complaints": complaints,
    }
    # A draft may still have empty elements (publishing refuses that): leave them out.
    return "\n\n".join(f"{headings[key]}\n{bodies[key]}" for key in _HEADINGS if bodies[key]) + "\n"


def _escape_braces(text: str) -> str:
    """Keep known placeholders; make every other brace literal for str.format_map."""
    parts = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        if match[1] in PLACEHOLDERS:
            parts.append(_literal(text[position : match.start()]))
            parts.append("{" + match[1] + "}")
            position = match.end()
    parts.append(_literal(text[position:]))
    return "".join(parts)


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def find_draft(session: Session, site: Site, locale: str) -> NoticeVersion | None:
    """The site's draft in this language, if there is one (there is at most one)."""
    return session.scalar(
        select(NoticeVersion)
        .where(
            NoticeVersion.site_id == site.id,
            NoticeVersion.locale == locale,
            NoticeVersion.published_at.is_(None),
        )
        .order_by(NoticeVersion.version.desc())
        .limit(1)
    )


def notice_versions(session: Session, site: Site) -> Sequence[NoticeVersion]:
    """Every version of the site's notices, by language and newest first."""
    return session.scalars(
        select(NoticeVersion)
        .where(NoticeVersion.site_id == site.id)
        .order_by(NoticeVersion.locale, NoticeVersion.version.desc())
    ).all()


def _latest_version(
    session: Session, site: Site, locale: str, *, published: bool = False
) -> NoticeVersion | None:
    query = select(NoticeVersion).where(
        NoticeVersion.site_id == site.id, NoticeVersion.locale == locale
    )
    if published:
        query = query.where(NoticeVersion.published_at.is_not(None))
    return session.scalar(query.order_by(NoticeVersion.version.desc()).limit(1))


def start_draft(session: Session, site: Site, locale: str) -> NoticeVersion:
    """The site's draft in this language: the existing one, else a new one.

    A new draft starts from the newest published version's sections, so a small change is a
    small edit. A version written whole (before the editor existed) cannot be split into
    elements: the draft then starts empty.
    """
    draft = find_draft(session, site, locale)
    if draft is not None:
        return draft
    latest = _latest_version(session, site, locale)
    published = _latest_version(session, site, locale, published=True)
    sections = clean_sections(published.sections or {}) if published else clean_sections({})
    draft = NoticeVersion(
        site_id=site.id,
        locale=locale,
        version=(latest.version if latest else 0) + 1,
        sections=sections,
        text=compose_notice_text(site, sections, locale),
        published_at=None,
    )
    session.add(draft)
    return draft


def save_draft(draft: NoticeVersion, site: Site, sections: Mapping[str, str | None]) -> None:
    """Store new texts in a draft; raises :class:`NoticeDraftError` for a published version."""
    if draft.published_at is not None:
        raise NoticeDraftError("published")
    cleaned = clean_sections(sections)
    check_sections(cleaned)
    draft.sections = cleaned
    draft.text = compose_notice_text(site, cleaned, draft.locale)


def publish_draft(
    session: Session, draft: NoticeVersion, site: Site, *, now: datetime
) -> NoticeVersion:
    """Publish a draft: from now on the kiosk shows it, and it never changes again.

    Refused with :class:`NoticeIncomplete` while a required element is missing.
    """
    if draft.published_at is not None:
        raise NoticeDraftError("published")
    missing = missing_elements(site, draft.sections)
    if missing:
        raise NoticeIncomplete(missing)
    cleaned = clean_sections(draft.sections or {})
    check_sections(cleaned)
    text = compose_notice_text(site, cleaned, draft.locale)
    check_notice_text(text)
    # A version published meanwhile by other means (kiosk demo) must not end up newer than
    # this one, or the kiosk would keep showing it.
    newest = session.scalar(
        select(NoticeVersion.version)
        .where(
            NoticeVersion.site_id == site.id,
            NoticeVersion.locale == draft.locale,
            NoticeVersion.id != draft.id,
        )
        .order_by(NoticeVersion.version.desc())
        .limit(1)
    )
    if newest is not None and newest >= draft.version:
        draft.version = newest + 1
    draft.sections = cleaned
    draft.text = text
    draft.published_at = now
    return draft


def discard_draft(session: Session, draft: NoticeVersion) -> None:
    """Delete a draft (published versions are evidence and are never deleted)."""
    if draft.published_at is not None:
        raise NoticeDraftError("published")
    session.delete(draft)
