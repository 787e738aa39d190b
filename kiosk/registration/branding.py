"""The kiosk's branding: the site's logo (the one its badges carry) and its welcome line."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import abort, g
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.models import Site
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


@bp.app_context_processor
def _branding() -> dict[str, Any]:
    return {"logo_version": logo_version, "welcome_line": welcome_line}


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
