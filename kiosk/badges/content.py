"""What goes on a badge: a visit's details in the visitor's language and the site's time, in
the site's format, and a sample badge for setting up a printer.

Runs inside an app context (the app's fonts and translations).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask_babel import force_locale
from flask_babel import gettext as _

from kiosk.badges.fonts import app_fonts
from kiosk.badges.presets import DEFAULT_PRESET, PRESETS, BadgePreset, get_preset
from kiosk.badges.render import BadgeContent, render_badge
from kiosk.models import Site, Visit
from kiosk.services.visitor_types import band_colour, band_label
from kiosk.services.visits import new_badge_token, new_short_code


def site_preset(site: Site) -> BadgePreset:
    """The site's badge format; an unknown name (a removed preset) falls back to the default."""
    return PRESETS.get(site.badge_preset) or get_preset(DEFAULT_PRESET)


def format_when(moment: datetime, timezone: str, locale: str) -> str:
    """A date and time as people at the site read it, in ``locale``."""
    local = moment.astimezone(ZoneInfo(timezone))
    try:
        date, time = (
            format_date(local, "medium", locale=locale),
            format_time(local, "short", locale=locale),
        )
    except (ValueError, LookupError):
        date, time = (
            format_date(local, "medium", locale="en"),
            format_time(local, "short", locale="en"),
        )
    return f"{date} {time}"


def _content(
    site: Site,
    *,
    name: str,
    company: str | None,
    host: str | None,
    moment: datetime,
    locale: str,
    short_code: str,
    token: str,
) -> BadgeContent:
    with force_locale(locale):
        band_text = _("VISITOR")
        host_line = _("Visiting %(host)s", host=host) if host else _("Ask reception")
    return BadgeContent(
        visitor_name=name,
        company=company,
        host_line=host_line,
        when=format_when(moment, site.timezone, locale),
        site_name=site.name,
        short_code=short_code,
        token=token,
        band_text=band_text,
        band_colour=site.badge_band_colour,
        logo=site.badge_logo,
    )


def badge_content(visit: Visit) -> BadgeContent:
    """What the visit's badge shows, in the visitor's language and the site's time."""
    content = _content(
        visit.site,
        name=visit.visitor_name,
        company=visit.company,
        host=visit.host.name if visit.host else None,
        moment=visit.checked_in_at,
        locale=visit.locale,
        short_code=visit.short_code,
        token=visit.badge_token,
    )
    if visit.visitor_type is None:
        return content
    # The visitor type's band ("CONTRACTOR" in its colour); kiosk.services.visitor_types.
    with force_locale(visit.locale):
        label = band_label(visit.visitor_type, visit.locale)
    return replace(
        content, band_text=label, band_colour=band_colour(visit.visitor_type, visit.site)
    )


def visit_badge_pdf(visit: Visit) -> bytes:
    """The visit's badge as a PDF in its site's format."""
    return render_badge(badge_content(visit), site_preset(visit.site), app_fonts())


def sample_badge(
    site: Site | None, *, preset: BadgePreset, locale: str, now: datetime
) -> tuple[bytes, str]:
    """A badge with made-up visitor details, for setting up a printer; returns (PDF, token)."""
    token = new_badge_token(now)
    sample_site = site or Site(
        name="Sample Office",
        timezone="Europe/Stockholm",
        badge_band_colour="#0B5CAD",
        badge_logo=None,
    )
    content = _content(
        sample_site,
        name="Alexandra Ødegård-Lindqvist",
        company="Example Systems AB",
        host="Hanna Host",
        moment=now,
        locale=locale,
        short_code=new_short_code(now),
        token=token,
    )
    return render_badge(content, preset, app_fonts()), token
