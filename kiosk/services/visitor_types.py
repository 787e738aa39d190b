"""Visitor types: per site, what the kiosk asks each kind of visitor, their badge band, whether
their host is told, and how long their visits are kept.

A type's settings left empty follow the site's, so the one "Visitor" type every site had when
types arrived (migration 0020) behaves exactly as the site did. A new site starts with Guest,
Contractor, Interview and Delivery. Types are retired, never deleted: visits keep their type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.enums import FieldMode, values
from kiosk.forms import is_plain_text
from kiosk.models import KIOSK_FIELDS, Site, VisitorType

#: The longest name and band label of a type, in any language.
NAME_MAX_LENGTH = 60
BAND_LABEL_MAX_LENGTH = 30
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")

#: Built-in types: their name and band label come translated from the catalogs. An interview
#: candidate's badge says VISITOR: a badge must not tell the building who is job hunting.
BUILT_IN: dict[str, tuple[Any, Any]] = {
    "visitor": (_l("Visitor"), _l("VISITOR")),
    "guest": (_l("Guest"), _l("VISITOR")),
    "contractor": (_l("Contractor"), _l("CONTRACTOR")),
    "interview": (_l("Interview"), _l("VISITOR")),
    "delivery": (_l("Delivery"), _l("DELIVERY")),
}


@dataclass(frozen=True)
class _Default:
    key: str
    band_colour: str | None = None
    field_modes: Mapping[str, str] = field(default_factory=dict)
    notify_host: bool = True
    retention_days: int | None = None


#: What a new site starts with; an admin renames, changes or retires them.
NEW_SITE_TYPES = (
    _Default("guest"),
    _Default(
        "contractor",
        band_colour="#C2410C",
        field_modes={"company": FieldMode.REQUIRED, "purpose": FieldMode.REQUIRED},
    ),
    _Default("interview", field_modes={"company": FieldMode.HIDDEN, "purpose": FieldMode.HIDDEN}),
    _Default(
        "delivery",
        band_colour="#15803D",
        field_modes={
            "company": FieldMode.REQUIRED,
            "host": FieldMode.OPTIONAL,
            "purpose": FieldMode.HIDDEN,
        },
        retention_days=7,
    ),
)


class VisitorTypeError(Exception):
    """Settings a type cannot take; ``code`` says why and ``field`` which setting."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(f"{field}: {code}")
        self.code = code
        self.field = field


@dataclass
class VisitorTypeSettings:
    """Everything an admin sets on a type; None and empty texts follow the site or the
    built-in defaults."""

    #: Name per language code; a language left empty shows the built-in name, or another
    #: language's name for a type an admin made.
    names: Mapping[str, str] = field(default_factory=dict)
    band_labels: Mapping[str, str] = field(default_factory=dict)
    band_colour: str | None = None
    #: Kiosk field -> FieldMode; a field left out (or None) follows the site.
    field_modes: Mapping[str, str | None] = field(default_factory=dict)
    notify_host: bool = True
    retention_days: int | None = None

    @classmethod
    def of(cls, visitor_type: VisitorType) -> VisitorTypeSettings:
        """The settings a type has now."""
        return cls(
            names=dict(visitor_type.names or {}),
            band_labels=dict(visitor_type.band_labels or {}),
            band_colour=visitor_type.band_colour,
            field_modes={name: getattr(visitor_type, f"field_{name}") for name in KIOSK_FIELDS},
            notify_host=visitor_type.notify_host,
            retention_days=visitor_type.retention_days,
        )


def add_default_types(session: Session, site: Site, *, now: datetime) -> list[VisitorType]:
    """Give a new site the default types (Guest, Contractor, Interview, Delivery)."""
    created = []
    for position, default in enumerate(NEW_SITE_TYPES):
        visitor_type = VisitorType(
            site=site,
            position=position,
            key=default.key,
            band_colour=default.band_colour,
            notify_host=default.notify_host,
            # Never longer than the site keeps visits (a site may keep them under a week).
            retention_days=(
                min(default.retention_days, site.retention_days)
                if default.retention_days is not None
                else None
            ),
            created_at=now,
        )
        for name, mode in default.field_modes.items():
            setattr(visitor_type, f"field_{name}", mode)
        session.add(visitor_type)
        created.append(visitor_type)
    return created


def types_by_site(session: Session, sites: Sequence[Site]) -> dict[int, list[VisitorType]]:
    """Every type of these sites (retired ones too), by site, in one query: a list of visits
    from several sites then finds each visit's type among those loaded instead of asking the
    database per site and per type."""
    found: dict[int, list[VisitorType]] = {site.id: [] for site in sites}
    if found:
        for visitor_type in session.scalars(
            select(VisitorType)
            .where(VisitorType.site_id.in_(found))
            .order_by(VisitorType.position, VisitorType.id)
        ):
            found[visitor_type.site_id].append(visitor_type)
    return found


def type_marks(
    session: Session, sites: Sequence[Site]
) -> tuple[dict[int, bool], dict[int, VisitorType]]:
    """What a list of visits needs to mark each visit's type: per site, whether it has
    several types (a site with one, "Visitor", shows no marks), and every type by id."""
    types = types_by_site(session, sites)
    return (
        {site_id: len(listed) > 1 for site_id, listed in types.items()},
        {kind.id: kind for listed in types.values() for kind in listed},
    )


def active_types(site: Site) -> list[VisitorType]:
    """The types the kiosk offers at ``site``, in order."""
    return [visitor_type for visitor_type in site.visitor_types if not visitor_type.is_retired]


def type_of_site(site: Site, type_id: object) -> VisitorType | None:
    """The active type ``type_id`` of ``site`` (an id from a form or a session), else None."""
    if type(type_id) is not int:
        return None
    for visitor_type in active_types(site):
        if visitor_type.id == type_id:
            return visitor_type
    return None


def type_name(visitor_type: VisitorType, locale: str) -> str:
    """The type's name in ``locale``: the admin's name in it, else the built-in one (the
    catalogs' translation, for the current locale), else the admin's name in another
    language."""
    names = visitor_type.names or {}
    if names.get(locale):
        return names[locale]
    if visitor_type.key in BUILT_IN:
        return str(BUILT_IN[visitor_type.key][0])
    for code in (visitor_type.site.default_locale, *sorted(names)):
        if names.get(code):
            return names[code]
    return str(BUILT_IN["visitor"][0])


def band_label(visitor_type: VisitorType | None, locale: str) -> str:
    """What the badge band says for this type in ``locale`` (call it inside
    ``force_locale(locale)`` so the built-in labels are translated)."""
    labels = (visitor_type.band_labels if visitor_type is not None else None) or {}
    if labels.get(locale):
        return labels[locale]
    if visitor_type is not None and visitor_type.key in BUILT_IN:
        return str(BUILT_IN[visitor_type.key][1])
    if visitor_type is not None:
        for code in (visitor_type.site.default_locale, *sorted(labels)):
            if labels.get(code):
                return labels[code]
    return str(BUILT_IN["visitor"][1])


def band_colour(visitor_type: VisitorType | None, site: Site) -> str:
    """The badge band's colour for this type: its own, else the site's."""
    if visitor_type is not None and visitor_type.band_colour:
        return visitor_type.band_colour
    return site.badge_band_colour


def check_type_settings(
    site: Site, settings: VisitorTypeSettings, *, languages: Sequence[str], key: str | None
) -> None:
    """Refuse settings a type of ``site`` cannot take (raises :class:`VisitorTypeError`)."""
    for prefix, texts, max_length in (
        ("name", settings.names, NAME_MAX_LENGTH),
        ("band_label", settings.band_labels, BAND_LABEL_MAX_LENGTH),
    ):
        for code, text in texts.items():
            if code not in languages:
                raise VisitorTypeError("invalid", f"{prefix}_{code}")
            if text and (len(text) > max_length or not is_plain_text(text)):
                raise VisitorTypeError("invalid", f"{prefix}_{code}")
    if key is None and not any((text or "").strip() for text in settings.names.values()):
        raise VisitorTypeError("name_required", f"name_{site.default_locale}")
    if settings.band_colour and not _COLOUR.match(settings.band_colour):
        raise VisitorTypeError("invalid", "band_colour")
    for name, mode in settings.field_modes.items():
        if name not in KIOSK_FIELDS or (mode is not None and mode not in values(FieldMode)):
            raise VisitorTypeError("invalid", f"field_{name}")
    days = settings.retention_days
    if days is not None and not 1 <= days <= site.retention_days:
        raise VisitorTypeError("longer_than_site", "retention_days")


def create_type(
    session: Session,
    site: Site,
    settings: VisitorTypeSettings,
    *,
    languages: Sequence[str],
    now: datetime,
) -> VisitorType:
    """Add a type at the end of the site's list."""
    check_type_settings(site, settings, languages=languages, key=None)
    position = max((existing.position for existing in site.visitor_types), default=-1) + 1
    visitor_type = VisitorType(site=site, position=position, created_at=now)
    _apply(visitor_type, settings)
    session.add(visitor_type)
    return visitor_type


def update_type(
    visitor_type: VisitorType, settings: VisitorTypeSettings, *, languages: Sequence[str]
) -> None:
    """Change every setting of a type."""
    check_type_settings(visitor_type.site, settings, languages=languages, key=visitor_type.key)
    _apply(visitor_type, settings)


def _apply(visitor_type: VisitorType, settings: VisitorTypeSettings) -> None:
    names = {code: text.strip() for code, text in settings.names.items() if (text or "").strip()}
    labels = {
        code: text.strip() for code, text in settings.band_labels.items() if (text or "").strip()
    }
    visitor_type.names = names or None
    visitor_type.band_labels = labels or None
    visitor_type.band_colour = settings.band_colour.upper() if settings.band_colour else None
    for name in KIOSK_FIELDS:
        setattr(visitor_type, f"field_{name}", settings.field_modes.get(name))
    visitor_type.notify_host = settings.notify_host
    visitor_type.retention_days = settings.retention_days


def retire_type(visitor_type: VisitorType, *, now: datetime) -> None:
    """Stop offering a type; its visits keep it. The last active type stays."""
    if len(active_types(visitor_type.site)) <= 1 and not visitor_type.is_retired:
        raise VisitorTypeError("last_type", "retired")
    if visitor_type.retired_at is None:
        visitor_type.retired_at = now


def restore_type(visitor_type: VisitorType) -> None:
    """Offer a retired type again."""
    visitor_type.retired_at = None


def move_type(visitor_type: VisitorType, step: int) -> None:
    """Move a type one place up (``step`` -1) or down (+1) in the site's list."""
    ordered = list(visitor_type.site.visitor_types)
    index = ordered.index(visitor_type)
    target = index + (1 if step > 0 else -1)
    if not 0 <= target < len(ordered):
        return
    ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, item in enumerate(ordered):
        item.position = position
