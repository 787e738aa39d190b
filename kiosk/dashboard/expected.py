"""Dashboard: pre-registering expected visitors (invitations) and cancelling them."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.dashboard.access import audit, current_staff, served_or_404
from kiosk.dashboard.blueprint import bp
from kiosk.dashboard.forms import InvitationForm
from kiosk.db import get_session
from kiosk.forms import ButtonForm
from kiosk.i18n import language_choices
from kiosk.models import Host, Invitation
from kiosk.notifications.events import invitation_event, queue_event_safely
from kiosk.notifications.messages import send_invitation_email
from kiosk.notifications.sender import wake_sender
from kiosk.services.invitations import create_invitation, site_today
from kiosk.services.qr import qr_svg
from kiosk.services.sites import active_hosts, sites_served_by


@bp.route("/expected/new", methods=["GET", "POST"])
def new_invitation() -> str | Response:
    """Register a visitor in advance; the kiosk then only asks them to confirm."""
    db_session = get_session()
    sites = list(sites_served_by(db_session, current_staff()))
    form = InvitationForm()
    form.site.choices = [(site.id, site.name) for site in sites]
    hosts = [host for site in sites for host in active_hosts(db_session, site)]
    form.host.choices = [(0, _("Not decided"))] + [
        (host.id, f"{host.name} ({host.site.name})" if len(sites) > 1 else host.name)
        for host in hosts
    ]
    form.locale.choices = language_choices(current_app)
    if not form.is_submitted() and sites:
        form.expected_on.data = site_today(sites[0], now())
        form.locale.data = sites[0].default_locale
    if form.validate_on_submit():
        site = next(site for site in sites if site.id == form.site.data)
        host = db_session.get(Host, form.host.data) if form.host.data else None
        if host is not None and host.site_id != site.id:
            form.host.errors.append(_("This person works at another site."))
        elif form.expected_on.data < site_today(site, now()):
            form.expected_on.errors.append(_("The date has passed."))
        else:
            invitation = create_invitation(
                db_session,
                site,
                visitor_name=form.name.data or "",
                company=form.company.data,
                email=form.email.data,
                host=host,
                expected_on=form.expected_on.data,
                locale=form.locale.data,
                now=now(),
            )
            db_session.flush()
            audit("create_invitation", "invitation", invitation.id)
            emailed = send_invitation_email(db_session, invitation, now=now()) is not None
            told = queue_event_safely(
                db_session, invitation_event(invitation, now=now()), now=now()
            )
            db_session.commit()
            if emailed or told:
                wake_sender()
            return render_template(
                "dashboard/invitation_created.html",
                invitation=invitation,
                qr=qr_svg(invitation.token),
                emailed=emailed,
            )
    return render_template("dashboard/invitation_new.html", form=form)


@bp.route("/expected/<int:invitation_id>/cancel", methods=["POST"])
def cancel_invitation(invitation_id: int) -> Response:
    """Cancel an expected visit that will not happen."""
    db_session = get_session()
    invitation = served_or_404(Invitation, invitation_id)
    if ButtonForm().validate_on_submit() and invitation.cancelled_at is None:
        invitation.cancelled_at = now()
        audit("cancel_invitation", "invitation", invitation.id)
        db_session.commit()
        flash(_("The expected visit was cancelled."))
    return redirect(url_for(".on_site"))
