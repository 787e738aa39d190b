"""Kiosk routes: the visitor's check-in screen and confirmation."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.badges.routes import BADGE_SESSION_KEY
from kiosk.badges.service import last_print_outcome, print_badge
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.models import Site, Visit
from kiosk.registration.forms import ASK_RECEPTION, CheckInForm, LanguageForm
from kiosk.services.notices import current_notice, render_notice
from kiosk.services.sites import active_hosts, kiosk_site
from kiosk.services.visits import VisitError, VisitorDetails, first_name, register_visit

bp = Blueprint("registration", __name__)

#: The session key that carries the just-registered visit to the confirmation screen, once.
_JUST_REGISTERED = "just_registered"


class KioskNotSetUp(Exception):
    """No site exists (or the configured one does not): the kiosk has nothing to serve."""


@bp.errorhandler(KioskNotSetUp)
def _not_set_up(_error: KioskNotSetUp) -> tuple[str, int]:
    message = _("This kiosk is not set up yet. Please ask at reception.")
    return render_template("errors/error.html", title=_("Welcome"), message=message), 503


def _site() -> Site:
    site = kiosk_site(get_session(), current_app.config["SITE"])
    if site is None:
        raise KioskNotSetUp()
    # The site's language is the kiosk's starting language (see the locale selector).
    g.site_locale = site.default_locale
    return site


@bp.route("/", methods=["GET", "POST"])
def check_in() -> str | Response:
    """The check-in form; a valid POST registers the visit and shows the confirmation."""
    db_session = get_session()
    site = _site()
    form = CheckInForm()
    hosts = active_hosts(db_session, site)
    form.host.choices = [(ASK_RECEPTION, _("I don't know – please ask reception"))] + [
        (host.id, host.name) for host in hosts
    ]
    locale = str(get_locale())
    notice = current_notice(db_session, site, locale)
    if form.validate_on_submit():
        details = VisitorDetails(
            name=form.name.data or "",
            company=form.company.data or None,
            host_id=None if form.host.data == ASK_RECEPTION else form.host.data,
        )
        try:
            visit = register_visit(
                db_session, site, details, locale=locale, notice=notice, now=now()
            )
            db_session.commit()
        except VisitError as exc:
            db_session.rollback()
            form.form_errors.append(_visit_error_message(exc))
        else:
            # Printer trouble never fails a check-in: print_badge records it and returns.
            print_badge(db_session, visit, now=now())
            session[_JUST_REGISTERED] = visit.id
            session[BADGE_SESSION_KEY] = visit.id
            return redirect(url_for(".done"))
    elif not form.is_submitted():
        # A new visitor at the form: the previous one's badge is no longer fetchable here.
        session.pop(BADGE_SESSION_KEY, None)
    return render_template(
        "registration/check_in.html",
        site=site,
        form=form,
        notice_text=render_notice(notice, site) if notice else None,
        language_form=LanguageForm(),
    )


def _visit_error_message(error: VisitError) -> str:
    message: str  # flask_babel is untyped: its gettext returns Any
    if error.code == "unknown_host":
        message = _("That person cannot be chosen here. Please pick again or ask reception.")
    elif error.code == "name_required":
        message = _("Please enter your name.")
    else:
        message = _("Sorry, this did not work. Please try again, or ask at reception.")
    return message


@bp.route("/done")
def done() -> str | Response:
    """The confirmation, shown once: reloading it or going back shows nothing."""
    visit_id = session.pop(_JUST_REGISTERED, None)
    visit = get_session().get(Visit, visit_id) if isinstance(visit_id, int) else None
    site = _site()
    if visit is None:
        return redirect(url_for(".check_in"))
    page = render_template(
        "registration/done.html",
        site=site,
        visit=visit,
        first_name=first_name(visit),
        seconds=int(current_app.config["CONFIRMATION_SECONDS"]),
        print_outcome=last_print_outcome(get_session(), visit),
    )
    # The next visitor starts in the site's language, not in this visitor's.
    session.pop("locale", None)
    return page


@bp.route("/language", methods=["POST"])
def choose_language() -> Response:
    """Switch the kiosk's language for the current visitor."""
    form = LanguageForm()
    if form.validate_on_submit() and form.locale.data in current_app.config["LANGUAGES"]:
        session["locale"] = form.locale.data
    return redirect(url_for(".check_in"))
