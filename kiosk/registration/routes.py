"""Kiosk routes: welcome, check-in (details, privacy notice, confirmation), language, reset.

Every kiosk page needs a paired device (see device.py); the state between steps lives in the
signed session and is cleared by a reset, after a check-in and when the kiosk sits idle.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.badges.routes import BADGE_SESSION_KEY
from kiosk.badges.service import last_print_outcome, needs_printer, print_badge
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.forms import collapse_spaces
from kiosk.models import Host, Invitation, Site, Visit
from kiosk.notifier import wake_sender
from kiosk.registration.device import current_device
from kiosk.registration.forms import CheckInForm, LanguageForm, NoticeForm, check_in_form
from kiosk.services.notices import current_notice, render_notice
from kiosk.services.notifications import (
    NotifySettings,
    arrival_messages,
    host_is_being_told,
    queue_arrival_messages,
)
from kiosk.services.qr import notice_qr_svg
from kiosk.services.sites import HOST_SEARCH_LIMIT, search_hosts
from kiosk.services.visits import VisitError, VisitorDetails, first_name, register_visit

bp = Blueprint("registration", __name__)

#: Session keys that hold one visitor's state; a reset removes them all.
PENDING = "pending_visit"
NOTICE_SHOWN = "notice_shown"
JUST_REGISTERED = "just_registered"
#: Endpoints a browser may use before it is paired as a kiosk.
_OPEN_ENDPOINTS = {"registration.pair"}


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


def _site() -> Site:
    site: Site = g.site
    return site


@bp.route("/")
def welcome() -> str:
    """The start screen: check in, check out, invitation, language."""
    # A new visitor starts here: the previous one's badge is no longer fetchable.
    session.pop(BADGE_SESSION_KEY, None)
    return render_template("registration/welcome.html", site=_site())


@bp.route("/reset")
def reset() -> Response:
    """Forget everything about the current visitor and go back to the start."""
    session.clear()
    return redirect(url_for(".welcome"))


@bp.route("/language", methods=["POST"])
def choose_language() -> Response:
    """Switch the kiosk's language for the current visitor and stay on the same screen."""
    form = LanguageForm()
    if form.validate_on_submit() and form.locale.data in current_app.config["LANGUAGES"]:
        session["locale"] = form.locale.data
    target = form.next.data if form.next.data in _LANGUAGE_RETURN else ".welcome"
    return redirect(url_for(target))


# Screens the language picker may return to (endpoint names, never a URL from the form).
_LANGUAGE_RETURN = {".welcome", ".check_in", ".notice", ".check_out", ".invitation"}


@bp.route("/check-in", methods=["GET", "POST"])
def check_in() -> str | Response:
    """The visitor's details; valid details go on to the privacy notice."""
    site = _site()
    db_session = get_session()
    pending: dict[str, Any] = session.get(PENDING) or {}
    form = check_in_form(site, data=pending)
    host_matches: list[Host] = []
    if form.validate_on_submit():
        host, host_matches, host_error = _resolve_host(form, site)
        if host_error:
            form.host_query.errors.append(host_error)
        else:
            session[PENDING] = {
                "name": form.name.data,
                "company": _value(form, "company"),
                "purpose": _value(form, "purpose"),
                "email": _value(form, "email"),
                "phone": _value(form, "phone"),
                "host_id": host.id if host else None,
                "host_query": host.name if host else "",
                "ask_reception": host is None and _value(form, "ask_reception") is True,
                "invitation_id": pending.get("invitation_id"),
            }
            return redirect(url_for(".notice"))
    if not form.is_submitted():
        # A new visitor at the form: the previous one's badge is no longer fetchable here.
        session.pop(BADGE_SESSION_KEY, None)
    problem = request.args.get("problem")
    if request.method == "GET" and problem in _PROBLEMS:
        form.form_errors.append(_PROBLEMS[problem]())
    invitation = (
        db_session.get(Invitation, pending["invitation_id"])
        if pending.get("invitation_id")
        else None
    )
    return render_template(
        "registration/check_in.html",
        site=site,
        form=form,
        host_matches=host_matches,
        invitation=invitation,
    )


# Why a check-in could not be saved after the notice (the visitor's details are kept).
_PROBLEMS = {
    "unknown_host": lambda: _(
        "The person you chose can no longer be selected. Please choose again or ask reception."
    ),
    "invitation_used": lambda: _("Your invitation has already been used. Please check in here."),
    "name_required": lambda: _("Please enter your name."),
}


def _value(form: CheckInForm, name: str) -> Any:
    field = getattr(form, name, None)
    if field is None:
        return None
    if isinstance(field.data, str):
        return collapse_spaces(field.data)
    return field.data


def _resolve_host(form: CheckInForm, site: Site) -> tuple[Host | None, list[Host], str | None]:
    """The host the visitor picked: (host, choices to offer, error message)."""
    if form.host_query is None:  # the site does not ask
        return None, [], None
    if form.ask_reception.data:
        return None, [], None
    if form.host_id.data:
        host = get_session().get(Host, int(form.host_id.data))
        if host is not None and host.site_id == site.id and host.active:
            return host, [], None
    query = form.host_query.data or ""
    if query:
        matches = search_hosts(get_session(), site, query)
        if len(matches) == 1:
            return matches[0], [], None
        if not matches:
            return (
                None,
                [],
                _("Nobody here matches that name. Check the spelling, or choose “ask reception”."),
            )
        if len(matches) > HOST_SEARCH_LIMIT:
            return None, [], _("Many people match. Please type more of the name.")
        return None, matches, _("Several people match. Please choose one.")
    if site.field_mode("host") == "required":
        return None, [], _("Please tell us whom you are visiting, or choose “ask reception”.")
    return None, [], None


@bp.route("/hosts")
def hosts() -> Response | dict[str, Any]:
    """Search-as-you-type over the site's active hosts: names only after two characters."""
    if _site().field_mode("host") == "hidden":
        return {"hosts": []}
    matches = search_hosts(get_session(), _site(), request.args.get("q", "")[:200])
    shown = matches[:HOST_SEARCH_LIMIT]
    return {
        "hosts": [{"id": host.id, "name": host.name} for host in shown],
        "more": len(matches) > HOST_SEARCH_LIMIT,
    }


@bp.route("/notice", methods=["GET", "POST"])
def notice() -> str | Response:
    """The privacy notice: a short first layer, the full text, and a QR code to take it along."""
    pending = session.get(PENDING)
    if not pending:
        return redirect(url_for(".check_in"))
    site = _site()
    db_session = get_session()
    form = NoticeForm()
    if form.validate_on_submit():
        if form.decline.data:
            session.clear()
            return redirect(url_for(".declined"))
        return _register(site, pending)
    locale = str(get_locale())
    shown = current_notice(db_session, site, locale)
    session[NOTICE_SHOWN] = shown.id if shown else None
    public_url = _public_notice_url(site, locale)
    return render_template(
        "registration/notice.html",
        site=site,
        form=form,
        notice=shown,
        notice_text=render_notice(shown, site) if shown else None,
        public_url=public_url,
        public_qr=notice_qr_svg(public_url),
    )


def _public_notice_url(site: Site, locale: str) -> str:
    base = current_app.config["PUBLIC_URL"] or request.host_url
    return base.rstrip("/") + url_for("privacy.notice", site_id=site.id, locale=locale)


def _register(site: Site, pending: dict[str, Any]) -> str | Response:
    db_session = get_session()
    notice_id = session.get(NOTICE_SHOWN)
    invitation = (
        db_session.get(Invitation, pending["invitation_id"])
        if pending.get("invitation_id")
        else None
    )
    details = VisitorDetails(
        name=pending["name"],
        company=pending.get("company"),
        host_id=pending.get("host_id"),
        email=pending.get("email"),
        phone=pending.get("phone"),
        purpose=pending.get("purpose"),
    )
    try:
        visit = register_visit(
            db_session,
            site,
            details,
            locale=str(get_locale()),
            notice_id=notice_id if isinstance(notice_id, int) else None,
            invitation=invitation,
            now=now(),
            device=g.get("kiosk_device"),
        )
        db_session.flush()
    except VisitError as exc:
        db_session.rollback()
        if exc.code == "invitation_used":
            pending["invitation_id"] = None
        session[PENDING] = pending
        return redirect(url_for(".check_in", problem=exc.code))
    # The visit, its host's notifications and (unless a printer has to be asked) its badge's
    # print record go in one transaction: one commit instead of three is most of what a
    # check-in costs the database, and on PostgreSQL each commit waits for the disk.
    told = _queue_arrival(visit)
    prints_now = needs_printer(visit)
    if not prints_now:
        print_badge(db_session, visit, now=now(), commit=False)
    db_session.commit()
    if told:
        wake_sender()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale  # the confirmation still speaks the visitor's language
    session[JUST_REGISTERED] = visit.id
    # The kiosk's browser may now fetch this visit's badge (the browser print backend).
    session[BADGE_SESSION_KEY] = visit.id
    if prints_now:
        # After the commit: the visit is saved whatever the printer does. Printer trouble
        # never fails a check-in: print_badge records it and returns.
        print_badge(db_session, visit, now=now())
    return redirect(url_for(".done"))


def _queue_arrival(visit: Visit) -> bool:
    """Queue the host's email and the site's webhook call in the visit's transaction; the
    sender delivers them later. Returns whether anything was queued.

    A savepoint keeps the visit whatever goes wrong here: the check-in never fails for its
    notifications.
    """
    db_session = get_session()
    try:
        settings = NotifySettings.from_config(current_app.config)
        messages = arrival_messages(visit, settings)
        if not messages:
            return False  # no savepoint either: most check-ins tell nobody
        with db_session.begin_nested():
            queue_arrival_messages(db_session, visit, messages, now=now(), settings=settings)
    except Exception as exc:  # noqa: BLE001 - the visitor is checked in regardless
        current_app.logger.error(
            "notifications for visit %s not queued: %s", visit.id, type(exc).__name__
        )
        return False
    return True


@bp.route("/done")
def done() -> str | Response:
    """The confirmation, shown once: reloading it or going back shows nothing."""
    visit_id = session.pop(JUST_REGISTERED, None)
    visit = get_session().get(Visit, visit_id) if isinstance(visit_id, int) else None
    if visit is None or visit.site_id != _site().id:
        return redirect(url_for(".welcome"))
    page = render_template(
        "registration/done.html",
        site=_site(),
        visit=visit,
        first_name=first_name(visit),
        # The confirmation goes back to the start sooner than a half-filled form; a touch
        # restarts the wait (WCAG 2.2.1: the visitor can extend it).
        idle_seconds=int(current_app.config["CONFIRMATION_SECONDS"]),
        print_outcome=last_print_outcome(get_session(), visit),
        host_told=visit.host is not None and host_is_being_told(get_session(), visit),
    )
    # The next visitor starts in the site's language, not in this visitor's.
    session.pop("locale", None)
    return page


@bp.route("/declined")
def declined() -> str:
    """For a visitor who does not want to register: nothing was stored; ask reception."""
    return render_template(
        "registration/declined.html",
        site=_site(),
        idle_seconds=int(current_app.config["CONFIRMATION_SECONDS"]),
    )


from kiosk.registration import branding, checkout, pairing  # noqa: E402, F401  (routes on this blueprint)
