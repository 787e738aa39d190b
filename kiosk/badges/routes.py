"""Badge routes: the kiosk's own badge PDF, and the dashboard's prints and evacuation list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as WerkzeugResponse

from kiosk.app_headers import PDF_CSP
from kiosk.badges.evacuation import SiteList, evacuation_csv, render_evacuation_pdf
from kiosk.badges.service import (
    BROWSER_PRINT_FAILED,
    app_fonts,
    failed_prints,
    print_badge,
    print_summary,
    record_browser_print_failure,
    record_download,
    visit_badge_pdf,
    visit_print_target,
)
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.devices import current_device
from kiosk.forms import ButtonForm
from kiosk.models import Site, StaffUser, Visit
from kiosk.services.audit import record_event, record_site_views, staff_actor
from kiosk.services.sites import sites_served_by
from kiosk.services.visits import visits_on_site

bp = Blueprint("badges", __name__)

#: The signed session key naming the visit whose badge the kiosk's browser may fetch.
BADGE_SESSION_KEY = "badge_visit_id"
#: When (a UNIX time) the kiosk was last allowed to fetch that badge: its check-in, or a
#: reprint for a visitor who checked in again (kiosk.registration.routes.already_checked_in).
BADGE_GRANTED_KEY = "badge_granted_at"


def _pdf(data: bytes, filename: str) -> Response:
    """A PDF the browser shows (and prints) rather than saves."""
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _frameable_pdf(data: bytes, filename: str) -> Response:
    """A PDF that the app's own pages may load into a hidden frame to print it; the app's
    default headers forbid all framing."""
    response = _pdf(data, filename)
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = PDF_CSP.replace(
        "frame-ancestors 'none'", "frame-ancestors 'self'"
    )
    return response


def _badge_window() -> timedelta:
    return timedelta(seconds=int(current_app.config["BADGE_FETCH_SECONDS"]))


@bp.route("/badge.pdf")
def kiosk_badge() -> Response:
    """The badge of the visitor who just checked in at this browser, for it to print.

    The URL holds nothing: the visit comes from the signed session, and only for a short
    while after check-in, so the next visitor at the same kiosk cannot fetch it.
    """
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
    return _frameable_pdf(visit_badge_pdf(visit), "badge.pdf")


def _kiosk_badge_visit() -> Visit | None:
    """The visit whose badge this browser was just given (from the signed session)."""
    visit_id = session.get(BADGE_SESSION_KEY)
    return get_session().get(Visit, visit_id) if type(visit_id) is int else None


@bp.route("/badge/print-failed", methods=["POST"])
def kiosk_print_failed() -> Response:
    """The kiosk's browser could not print the badge it was given: tell reception.

    Sent by static/js/badge-print.js with the CSRF token only; the visit comes from the
    signed session, and only a visit registered at this paired kiosk, just now, is marked.
    """
    device = current_device()
    if device is None:
        abort(403)
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


# --- dashboard ------------------------------------------------------------------------------


def _staff() -> StaffUser:
    user: StaffUser = current_user._get_current_object()
    return user


def _served_sites(user: StaffUser) -> list[Site]:
    """The sites the user serves, or only the one asked for with ``?site=ID``."""
    sites = list(sites_served_by(get_session(), user))
    if "site" in request.args:
        wanted = request.args.get("site", type=int)
        sites = [site for site in sites if site.id == wanted]
        if not sites:
            abort(404)
    return sites


def _served_visit(user: StaffUser, visit_id: int) -> Visit:
    """A visit at a site the user serves; anything else is "not found", never "forbidden"."""
    visit = get_session().get(Visit, visit_id)
    served = {site.id for site in sites_served_by(get_session(), user)}
    if visit is None or visit.site_id not in served:
        abort(404)
    return visit


def _audit_visit(user: StaffUser, action: str, visit: Visit) -> None:
    record_event(
        get_session(),
        actor=staff_actor(user),
        action=action,
        target_type="visit",
        target_id=visit.id,
        now=now(),
    )


@bp.route("/dashboard/prints")
@login_required  # type: ignore[untyped-decorator]
def failed() -> str:
    """Visitors on site whose badge did not print, with a reprint button each, and what the
    server knows of the others' prints."""
    db_session = get_session()
    user = _staff()
    sites = sites_served_by(db_session, user)
    site_ids = [site.id for site in sites]
    jobs = failed_prints(db_session, site_ids)
    summary = print_summary(db_session, site_ids)
    record_site_views(db_session, user, sites, action="view_failed_prints", now=now())
    db_session.commit()
    return render_template("badges/failed.html", jobs=jobs, summary=summary)


@bp.route("/dashboard/visits/<int:visit_id>/badge.pdf")
@login_required  # type: ignore[untyped-decorator]
def download(visit_id: int) -> Response:
    """A visit's badge PDF, for reception to print on their own printer."""
    db_session = get_session()
    user = _staff()
    visit = _served_visit(user, visit_id)
    pdf = visit_badge_pdf(visit)
    record_download(db_session, visit, now=now(), requested_by=staff_actor(user))
    _audit_visit(user, "download_badge", visit)
    db_session.commit()
    # A reprint prints it in a hidden frame of the dashboard page (static/js/badge-reprint.js).
    return _frameable_pdf(pdf, f"badge-{visit.id}.pdf")


def _wants_json() -> bool:
    """Whether the reprint button's script sent the form (it prints in the page)."""
    # Asked for by name and preferred to HTML: "*/*" (curl) or a browser's own form post
    # (text/html first) get the page.
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


@bp.route("/dashboard/visits/<int:visit_id>/reprint", methods=["POST"])
@login_required  # type: ignore[untyped-decorator]
def reprint(visit_id: int) -> WerkzeugResponse | str:
    """Print a visit's badge again: on its kiosk's (or site's) CUPS printer, or from this
    browser.

    With JavaScript (static/js/badge-reprint.js, which asks for JSON) the answer says what the
    page does next: print the PDF in a hidden frame, or reload to show the printer's outcome.
    Without it, a page offers the PDF in a new tab and claims no print.
    """
    user = _staff()
    visit = _served_visit(user, visit_id)
    back = (
        url_for(".failed") if request.form.get("back") == "prints" else url_for("dashboard.on_site")
    )
    if not ButtonForm().validate_on_submit():
        flash(_("This page had expired. Please try again."))
        return jsonify(location=back) if _wants_json() else redirect(back)
    if visit_print_target(visit).backend != "cups":
        # No printer on the server: reception prints the PDF from their own browser, whose
        # download is recorded and audited when it is fetched.
        pdf_url = url_for(".download", visit_id=visit.id)
        if _wants_json():
            return jsonify(pdf=pdf_url)
        return render_template("badges/reprint.html", visit=visit, pdf_url=pdf_url, back=back)
    _audit_visit(user, "reprint_badge", visit)
    outcome = print_badge(get_session(), visit, now=now(), requested_by=staff_actor(user))
    if outcome.printing:
        flash(_("The badge was sent to the printer."))
    else:
        flash(
            _("The badge could not be printed: %(reason)s", reason=print_error_text(outcome.error))
        )
    return jsonify(location=back) if _wants_json() else redirect(back)


@bp.app_template_global()
def print_error_text(code: str | None) -> str:
    """A failed print's reason in the reader's language."""
    text: str
    if code in ("cups_unreachable", "cups_missing", "timeout"):
        text = _("the print server does not answer.")
    elif code in ("no_printer", "printer_unknown"):
        text = _("the printer is not set up.")
    elif code in ("printer_stopped", "printer_rejecting", "job_rejected"):
        text = _("the printer is stopped or refuses jobs.")
    elif code == BROWSER_PRINT_FAILED:
        text = _("the kiosk's browser could not print it.")
    else:
        text = _("the badge could not be drawn.")
    return text


def _evacuation_lists(fmt: str) -> list[SiteList]:
    db_session = get_session()
    user = _staff()
    sites = _served_sites(user)
    visits = visits_on_site(db_session, [site.id for site in sites])
    lists = [SiteList(site, [v for v in visits if v.site_id == site.id]) for site in sites]
    record_site_views(db_session, user, sites, action=f"evacuation_list_{fmt}", now=now())
    db_session.commit()
    return lists


def _stamp() -> str:
    return now().strftime("%Y%m%dT%H%MZ")


@bp.route("/dashboard/evacuation.pdf")
@login_required  # type: ignore[untyped-decorator]
def evacuation_pdf() -> Response:
    """Everyone on site now, per site the user serves, as an A4 PDF."""
    lists = _evacuation_lists("pdf")
    pdf = render_evacuation_pdf(lists, now=now(), fonts=app_fonts())
    return _pdf(pdf, f"evacuation-{_stamp()}.pdf")


@bp.route("/dashboard/evacuation.csv")
@login_required  # type: ignore[untyped-decorator]
def evacuation_csv_file() -> Response:
    """Everyone on site now, per site the user serves, as CSV."""
    lists = _evacuation_lists("csv")
    response = Response(evacuation_csv(lists), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="evacuation-{_stamp()}.csv"'
    return response
