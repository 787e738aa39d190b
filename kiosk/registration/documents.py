"""Kiosk screens for the documents a visitor's type must sign, one screen each, after the
privacy notice (kiosk.registration.signing says why there)."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.db import get_session
from kiosk.enums import DocumentAcceptance
from kiosk.models import Host
from kiosk.registration.blueprint import bp
from kiosk.registration.forms import SignDocumentForm
from kiosk.registration.group import companions, group_members, keep_companions
from kiosk.registration.routes import _notice_shown, _register
from kiosk.registration.signing import (
    Progress,
    SigningTurn,
    next_turn,
    progress_after_form,
    remember_signature,
    signing_turns,
)
from kiosk.registration.visitor import (
    closing_screen,
    current_site,
    entered_details,
    forget_visitor,
    keep_pending,
)
from kiosk.services.documents import fill_placeholders, placeholder_values
from kiosk.services.signatures import SignatureError, checked_signature

_SIGNATURE_PROBLEMS = {
    "missing": lambda: _("Please sign with your finger in the box, then tap “Sign and continue”."),
    "blank": lambda: _("The signature is too small to read. Please tap Clear and sign again."),
    "invalid": lambda: _("The signature could not be read. Please tap Clear and sign again."),
}


@bp.route("/check-in/sign", methods=["GET", "POST"])
def sign_document() -> str | Response:
    """The next document to sign, with the visitor's details filled in; the last one signed
    checks the visitor in. Nothing signed is stored before the check-in."""
    site = current_site()
    pending = entered_details()
    if not pending:
        return redirect(url_for(".check_in"))
    shown = _notice_shown(site)
    if shown is None:
        return redirect(url_for(".notice"))
    members = group_members(pending, site)
    # Read once: whose turn it is, and (on the page) how far the group is.
    turns = signing_turns(site, pending, members)
    turn = next_turn(site, pending, members, turns)
    if turn is None:
        return _register(site, pending, shown)
    version = turn.version
    form = SignDocumentForm()
    tick = version.document.acceptance == DocumentAcceptance.TICK
    if form.validate_on_submit():
        if form.decline.data:
            # One person of a group not signing sends the group to reception: nobody's
            # details are kept, as for a visitor on their own.
            forget_visitor()
            return redirect(url_for(".sign_declined"))
        if form.version.data != version.id or form.signer.data not in (None, turn.member + 1):
            # A screen from before a language switch (or a double tap that already moved on
            # to the next person): show whose turn it is now.
            return redirect(url_for(".sign_document"))
        if tick:
            if form.accept.data:
                _remember(turn, pending, DocumentAcceptance.TICK, None)
                return redirect(url_for(".sign_document"))
            form.accept.errors.append(_("Please tick “I accept”, or tap “I don't want to sign”."))
        else:
            try:
                png = checked_signature(form.signature.data)
            except SignatureError as exc:
                form.signature.errors.append(_SIGNATURE_PROBLEMS[exc.code]())
            else:
                _remember(turn, pending, DocumentAcceptance.SIGNATURE, png)
                return redirect(url_for(".sign_document"))
    host_id = pending.get("host_id")
    host = get_session().get(Host, host_id) if type(host_id) is int else None
    locale = str(get_locale())
    text = fill_placeholders(
        version.text,
        placeholder_values(
            name=turn.details.get("name") or "",
            company=turn.details.get("company"),
            host=host.name if host is not None and host.site_id == site.id else None,
            day=_today(site.timezone),
            locale=locale,
        ),
    )
    form.version.data = version.id
    form.signer.data = turn.member + 1
    notice, accepted = progress_after_form(site, pending, lambda: members, turns)
    return render_template(
        "registration/sign_document.html",
        site=site,
        form=form,
        version=version,
        text=text,
        tick=tick,
        progress=None if notice is None else Progress(notice.current + accepted + 1, notice.total),
        # In a group the kiosk is passed from one person to the next: say whose turn it is.
        signer_name=turn.details.get("name") if turn.group_size > 1 else None,
    )


def _remember(turn: SigningTurn, pending: dict[str, Any], by: str, png: bytes | None) -> None:
    """Keep what ``turn``'s person accepted with their own details: the first visitor's in
    the pending details, a companion's beside the companion's."""
    if turn.member == 0:
        remember_signature(pending, turn.version, by, png)
        keep_pending(pending)
        return
    added = companions()
    index = turn.member - 1
    if 0 <= index < len(added):
        remember_signature(added[index], turn.version, by, png)
        keep_companions(added)


def _today(zone: str) -> date:
    return now().astimezone(ZoneInfo(zone)).date()


@bp.route("/check-in/sign/declined")
def sign_declined() -> str:
    """For a visitor who did not sign: nothing was stored; reception will help."""
    return closing_screen(
        render_template(
            "registration/sign_declined.html",
            site=current_site(),
            idle_seconds=int(current_app.config["CONFIRMATION_SECONDS"]),
        )
    )
