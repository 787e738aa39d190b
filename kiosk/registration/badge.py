"""The kiosk's own badge: the PDF its browser prints right after a check-in, and the report
that the browser could not print it.

Neither URL names a visit: the visit comes from the signed session (the keys in
:mod:`kiosk.registration.visitor`), and only for a short while after the check-in, so the
next visitor at the same kiosk cannot fetch it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Response, abort, current_app, g, session

from kiosk.app_headers import pdf_response
from kiosk.badges.content import visit_badge_pdf
from kiosk.badges.jobs import record_browser_print_failure
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.models import KioskDevice, Visit
from kiosk.registration.blueprint import bp
from kiosk.registration.visitor import BADGE_GRANTED_KEY, BADGE_SESSION_KEY


def _badge_window() -> timedelta:
    return timedelta(seconds=int(current_app.config["BADGE_FETCH_SECONDS"]))


def _kiosk_badge_visit() -> Visit | None:
    """The visit whose badge this browser was just given (from the signed session)."""
    visit_id = session.get(BADGE_SESSION_KEY)
    return get_session().get(Visit, visit_id) if type(visit_id) is int else None


@bp.route("/badge.pdf")
def badge_pdf() -> Response:
    """The badge of the visitor who just checked in at this browser, for it to print."""
    visit = _kiosk_badge_visit()
    window = _badge_window()
    granted = session.get(BADGE_GRANTED_KEY)
    since = visit.checked_in_at if visit is not None else now()
    if type(granted) is int and visit is not None:
        # A reprint at the kiosk ("already checked in") opens the window again.
        since = max(since, datetime.fromtimestamp(granted, UTC))
    if visit is None or visit.checked_out_at is not None or now() - since > window:
        abort(404)
    # The confirmation page prints this in a frame of its own origin.
    return pdf_response(visit_badge_pdf(visit), "badge.pdf", frameable=True)


@bp.route("/badge/print-failed", methods=["POST"])
def badge_print_failed() -> Response:
    """The kiosk's browser could not print the badge it was given: tell reception.

    Sent by static/js/badge-print.js with the CSRF token only; the visit comes from the
    signed session, and only a visit registered at this paired kiosk, just now, is marked
    (a browser that is not a paired kiosk gets the blueprint's 403).
    """
    device: KioskDevice = g.kiosk_device  # paired: the blueprint's device check
    visit = _kiosk_badge_visit()
    db_session = get_session()
    job = (
        record_browser_print_failure(db_session, visit, device, now=now(), window=_badge_window())
        if visit is not None
        else None
    )
    if job is None:
        abort(404)
    db_session.commit()
    return Response(status=204)
