"""The kiosk blueprint: every kiosk screen needs a browser paired as a kiosk device.

View modules (routes.py, checkout.py, pairing.py, badge.py) import ``bp`` from here and the
visitor's state from ``visitor.py``; ``kiosk.registration`` imports the view modules, so
nothing imports back up and there is no cycle.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, render_template, request

from kiosk.devices import current_device
from kiosk.registration.forms import LanguageForm

bp = Blueprint("registration", __name__)

#: Endpoints a browser may use before it is paired as a kiosk. The kiosk's badge is the
#: signed session's, not the device's: without one it is "not found", as a stale badge is.
_OPEN_ENDPOINTS = {"registration.pair", "registration.badge_pdf"}


@bp.before_request
def _require_paired_device() -> str | tuple[str, int] | None:
    if request.endpoint in _OPEN_ENDPOINTS:
        return None
    device = current_device()
    if device is None:
        page = render_template("registration/not_paired.html")
        return page, 403
    g.kiosk_device = device
    g.site = device.site
    # The site's language is the kiosk's starting language (see the locale selector).
    g.site_locale = device.site.default_locale
    return None


@bp.context_processor
def _kiosk_context() -> dict[str, Any]:
    return {
        "idle_seconds": current_app.config["IDLE_SECONDS"],
        # Only its CSRF token is rendered; reading the request body here would fail again
        # while an error page (such as 413) is being rendered.
        "language_form": LanguageForm(formdata=None),
    }
