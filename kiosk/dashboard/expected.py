"""Dashboard: pre-registering expected visitors (invitations) and cancelling them."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.dashboard.access import audit, current_staff, served_or_404
from kiosk.dashboard.blueprint import bp
from kiosk.dashboard.forms import InvitationForm
from kiosk.db import get_session
from kiosk.forms import ButtonForm
from kiosk.i18n import language_choices
from kiosk.models import Host, Invitation, Site
from kiosk.notifications.events import invitation_event, queue_event_safely
from kiosk.notifications.messages import send_invitation_email
from kiosk.notifications.sender import wake_sender
from kiosk.services.invitations import create_invitation, site_today
from kiosk.services.qr import qr_svg
from kiosk.services.sites import active_hosts, sites_served_by
from kiosk.services.visitor_types import active_types, type_name, type_of_site


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
    form.visitor_type.choices = _type_choices(sites)
    form.locale.choices = language_choices(current_app)
    if not form.is_submitted() and sites:
        form.expected_on.data = site_today(sites[0], now())
        form.locale.data = sites[0].default_locale
    if form.validate_on_submit():
        site = next(site for site in sites if site.id == form.site.data)
        host = db_session.get(Host, form.host.data) if form.host.data else None
        visitor_type = type_of_site(site, form.visitor_type.data)
        if host is not None and host.site_id != site.id:
            form.host.errors.append(_("This person works at another site."))
        elif form.visitor_type.data and visitor_type is None:
            form.visitor_type.errors.append(_("This kind of visit is not offered at this site."))
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
                visitor_type=visitor_type,
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
    return render_template(
        "dashboard/invitation_new.html", form=form, ask_type=len(form.visitor_type.choices) > 1
    )


def _type_choices(sites: list[Site]) -> list[tuple[int, str]]:
    """The kinds of visit reception may expect: those of the sites where the kiosk asks (a
    site with one type gives it to every visitor), named as reception reads them."""
    locale = str(get_locale())
    several = [(site, types) for site in sites if len(types := active_types(site)) > 1]
    return [(0, _("Let the visitor choose at the kiosk"))] + [
        (
            visitor_type.id,
            f"{type_name(visitor_type, locale)} ({site.name})"
            if len(several) > 1
            else type_name(visitor_type, locale),
        )
        for site, types in several
        for visitor_type in types
    ]


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
