"""The kiosk's branding: the site's logo (the one its badges carry), its welcome line, and
its own email domains for the on-screen keyboard."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Any

from flask import abort, g
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from kiosk.db import get_session
from kiosk.enums import FieldMode
from kiosk.models import Host, Site
from kiosk.registration.blueprint import bp

#: A logo URL carries its content's hash, so browsers may keep it: a new logo is a new URL.
LOGO_MAX_AGE = 7 * 24 * 3600


def logo_version(site: Site) -> str:
    """A short hash of the site's logo, for its URL (empty without a logo)."""
    if not site.badge_logo:
        return ""
    return hashlib.sha256(site.badge_logo).hexdigest()[:16]


def welcome_line(site: Site) -> str:
    """The site's welcome line in the current language, or the translated default."""
    line = (site.welcome_text or {}).get(str(get_locale()))
    return line or _("Please register your visit here.")


#: How many of the site's own domains the keyboard's email layout offers.
SITE_DOMAIN_HINTS = 2
#: Mail services the keyboard offers anyway (static/js/keyboard.js): not a site's own domain
#: even when some hosts' addresses are there.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "yahoo.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
    }
)
_DOMAIN = re.compile(
    r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}"
)


def site_email_domains(site: Site) -> list[str]:
    """The site's own email domains, most used first, for the keyboard's email keys.

    They come from the addresses of the site's active hosts rather than from a setting of
    their own: visitors from the same company (colleagues from another office, new starters
    on their first day) are the ones who type them, the hosts' addresses are already kept up
    to date by whoever manages the host list, and a site needs no extra set-up. Only the
    domain part of each address is used, and it is shown only when the site asks visitors
    for an email address."""
    if site.field_email == FieldMode.HIDDEN:
        return []
    emails = get_session().scalars(
        select(Host.email).where(Host.site_id == site.id, Host.active.is_(True))
    )
    counts = Counter(
        domain
        for email in emails
        if "@" in email
        and _DOMAIN.fullmatch(domain := email.rsplit("@", 1)[1].strip().lower())
        and domain not in PUBLIC_MAIL_DOMAINS
    )
    ranked = sorted(counts, key=lambda domain: (-counts[domain], domain))
    return ranked[:SITE_DOMAIN_HINTS]


@bp.app_context_processor
def _branding() -> dict[str, Any]:
    return {
        "logo_version": logo_version,
        "welcome_line": welcome_line,
        "site_email_domains": site_email_domains,
    }


@bp.route("/site-logo.png")
def site_logo() -> Response:
    """The paired site's logo (stored as a small PNG by the badge settings)."""
    site: Site = g.site
    if not site.badge_logo:
        abort(404)
    response = Response(site.badge_logo, mimetype="image/png")
    # Not personal data, and versioned by its URL (see logo_version).
    response.headers["Cache-Control"] = f"private, max-age={LOGO_MAX_AGE}, immutable"
    return response
