"""Kiosk routes: check-out by badge, and arriving with an invitation."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.db import get_session
from kiosk.devices import device_key
from kiosk.extensions import limiter
from kiosk.models import Visit
from kiosk.notifications.events import queue_checked_out
from kiosk.notifications.sender import wake_sender
from kiosk.registration.blueprint import bp
from kiosk.registration.forms import CodeForm
from kiosk.registration.visitor import (
    LOCALE,
    closing_screen,
    current_site,
    forget_visitor,
    keep_pending,
)
from kiosk.services.codes import scanned_token
from kiosk.services.invitations import InvitationError, find_invitation
from kiosk.services.visits import VisitError, check_out, first_name

_GOODBYE = "goodbye_visit"


def _scanned_a_token() -> bool:
    """Whether the code sent is a badge's or an invitation's token (128 random bits).

    Such a guess cannot succeed, so tokens are neither counted nor refused: a visitor who
    scans a badge checks out even while someone is guessing short codes at the same kiosk.
    """
    code = request.form.get("code")
    return isinstance(code, str) and scanned_token(code) is not None


#: Failed short codes (check-out and invitation together) per kiosk device: enough for
#: visitors who mistype, far too few to guess a code, and each tier a longer wait (see
#: README, CHECKOUT_LIMIT_PER_KIOSK).
_code_attempts = limiter.shared_limit(
    lambda: current_app.config["CHECKOUT_LIMIT_PER_KIOSK"],
    scope="kiosk-codes",
    key_func=device_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
    exempt_when=_scanned_a_token,
)


@bp.route("/check-out", methods=["GET", "POST"])
@_code_attempts
def check_out_badge() -> str | Response:
    """Check out: a barcode scanner types the badge token and Enter, or a person types the code."""
    form = CodeForm()
    if form.validate_on_submit():
        db_session = get_session()
        try:
            visit = check_out(db_session, current_site(), form.code.data or "", now=now())
            told = queue_checked_out(db_session, [visit], now=now())
            db_session.commit()
        except VisitError as exc:
            db_session.rollback()
            form.code.errors.append(
                _("This badge has already been checked out.")
                if exc.code == "already_checked_out"
                else _("We could not find that badge. Please try again, or ask reception.")
            )
            # The code stays, selected (kiosk.js): a scanner's next code replaces it whole,
            # and a visitor who typed it sees what to correct.
        else:
            if told:
                wake_sender()
            forget_visitor()  # the goodbye still speaks the visitor's language
            session[_GOODBYE] = visit.id
            return redirect(url_for(".goodbye"))
    return render_template("registration/check_out.html", site=current_site(), form=form)


@bp.route("/goodbye")
def goodbye() -> str | Response:
    """Goodbye, with the first name only, shown once."""
    visit_id = session.pop(_GOODBYE, None)
    visit = get_session().get(Visit, visit_id) if isinstance(visit_id, int) else None
    if visit is None or visit.site_id != current_site().id:
        return redirect(url_for(".welcome"))
    if LOCALE not in session and visit.locale in current_app.config["LANGUAGES"]:
        # A visitor who scanned their badge without choosing a language on this visit to the
        # kiosk is thanked in the one they checked in with, not in the site's.
        g.page_locale = visit.locale
        refresh()
    return closing_screen(
        render_template(
            "registration/goodbye.html",
            site=current_site(),
            first_name=first_name(visit),
            idle_seconds=int(current_app.config["CONFIRMATION_SECONDS"]),
        )
    )


@bp.route("/invitation", methods=["GET", "POST"])
@_code_attempts
def invitation() -> str | Response:
    """An invited visitor scans the invitation QR or types its code, then confirms details."""
    form = CodeForm()
    if form.validate_on_submit():
        try:
            found = find_invitation(get_session(), current_site(), form.code.data or "", now=now())
        except InvitationError as exc:
            form.code.errors.append(
                _INVITATION_ERRORS.get(exc.code, _INVITATION_ERRORS["unknown"])()
            )  # the code stays, selected, as at check-out
        else:
            forget_visitor()
            keep_pending(
                {
                    "name": found.visitor_name,
                    "company": found.company,
                    "email": found.email,
                    "host_id": found.host_id,
                    "host_query": found.host.name if found.host else "",
                    "invitation_id": found.id,
                    # Reception's choice: the kiosk asks only if the type has been retired.
                    "visitor_type_id": found.visitor_type_id,
                }
            )
            return redirect(url_for(".check_in"))
    return render_template("registration/invitation.html", site=current_site(), form=form)


_INVITATION_ERRORS = {
    "unknown": lambda: _("We could not find that invitation. Please try again, or ask reception."),
    "used": lambda: _("This invitation has already been used. Please ask reception."),
    "cancelled": lambda: _("This invitation was cancelled. Please ask reception."),
    "not_today": lambda: _("This invitation is for another day. Please ask reception."),
}
