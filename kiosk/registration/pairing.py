"""Pairing a browser as a kiosk device with a one-time code from the dashboard or CLI."""

from __future__ import annotations

from flask import (
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.db import get_session
from kiosk.devices import current_device, remember_device
from kiosk.extensions import limiter
from kiosk.registration.blueprint import bp
from kiosk.registration.forms import CodeForm
from kiosk.services.audit import record_event
from kiosk.services.kiosks import KioskError, pair_device


@bp.route("/pair", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["PAIR_LIMIT_PER_IP"],
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
)
def pair() -> str | Response:
    """Make this browser a kiosk: staff type (or open a link with) a one-time pairing code."""
    form = CodeForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = request.args["code"][:20]
    if form.validate_on_submit():
        db_session = get_session()
        try:
            device = pair_device(db_session, form.code.data or "", now=now())
        except KioskError as exc:
            form.code.errors.append(
                _("This pairing code has expired. Create a new one on the dashboard.")
                if exc.code == "expired_code"
                else _("This pairing code is not valid.")
            )
        else:
            record_event(
                db_session,
                actor=f"kiosk:{device.id}",
                action="pair_kiosk",
                target_type="kiosk_device",
                target_id=device.id,
                now=now(),
            )
            db_session.commit()
            session.clear()
            response = make_response(redirect(url_for(".welcome")))
            remember_device(response, device)
            return response
    current = current_device()
    if current is not None:
        g.site_locale = current.site.default_locale
    return render_template("registration/pair.html", form=form, current=current)
