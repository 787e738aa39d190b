"""Badge routes: the badge PDF the kiosk's browser prints."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, session

from kiosk.badges.service import visit_badge_pdf
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.models import Visit

bp = Blueprint("badges", __name__)

#: The signed session key naming the visit whose badge the kiosk's browser may fetch.
BADGE_SESSION_KEY = "badge_visit_id"


def _pdf(data: bytes, filename: str) -> Response:
    """A PDF the browser shows (and prints) rather than saves."""
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.route("/badge.pdf")
def kiosk_badge() -> Response:
    """The badge of the visitor who just checked in at this browser, for it to print.

    The URL holds nothing: the visit comes from the signed session, and only for a short
    while after check-in, so the next visitor at the same kiosk cannot fetch it.
    """
    visit_id = session.get(BADGE_SESSION_KEY)
    visit = get_session().get(Visit, visit_id) if type(visit_id) is int else None
    window = timedelta(seconds=int(current_app.config["BADGE_FETCH_SECONDS"]))
    if visit is None or visit.checked_out_at is not None or now() - visit.checked_in_at > window:
        abort(404)
    response = _pdf(visit_badge_pdf(visit), "badge.pdf")
    # The confirmation page prints this in a frame of its own origin; the app's default
    # headers forbid all framing.
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
    return response
