"""Badges on the dashboard: the prints that failed, a visit's badge PDF, reprints, and the
evacuation list of everyone on site.

Printing itself, and the record of every attempt, is the badges domain's
(:mod:`kiosk.badges.jobs`); these views check who may see what (:mod:`kiosk.dashboard.access`),
audit it, and send the result.
"""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.app_headers import pdf_response
from kiosk.badges.content import visit_badge_pdf
from kiosk.badges.evacuation import SiteList, evacuation_csv, render_evacuation_pdf
from kiosk.badges.fonts import app_fonts
from kiosk.badges.jobs import (
    BROWSER_PRINT_FAILED,
    failed_prints,
    needs_printer,
    print_badge,
    print_summary,
    record_download,
)
from kiosk.clock import now
from kiosk.dashboard.access import audit, current_staff, served_or_404, served_site, served_sites
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.forms import ButtonForm, parse_id
from kiosk.models import Site, Visit
from kiosk.sealing import ErasedText
from kiosk.services.audit import record_site_views, staff_actor
from kiosk.services.visits import visits_on_site


@bp.route("/prints")
def prints() -> str:
    """Visitors on site whose badge did not print, with a reprint button each, and what the
    server knows of the others' prints."""
    db_session = get_session()
    sites = served_sites()
    site_ids = [site.id for site in sites]
    jobs = failed_prints(db_session, site_ids)
    summary = print_summary(db_session, site_ids)
    record_site_views(db_session, current_staff(), sites, action="view_failed_prints", now=now())
    db_session.commit()
    return render_template("dashboard/prints.html", jobs=jobs, summary=summary)


@bp.route("/visits/<int:visit_id>/badge.pdf")
def badge_download(visit_id: int) -> FlaskResponse:
    """A visit's badge PDF, for reception to print on their own printer."""
    db_session = get_session()
    visit = served_or_404(Visit, visit_id)
    if isinstance(visit.visitor_name, ErasedText):
        # Its key is destroyed: there is no name to print (the purge deletes the row).
        abort(410)
    pdf = visit_badge_pdf(visit)
    record_download(db_session, visit, now=now(), requested_by=staff_actor(current_staff()))
    audit("download_badge", "visit", visit.id)
    db_session.commit()
    # A reprint prints it in a hidden frame of the dashboard page (static/js/badge-reprint.js).
    return pdf_response(pdf, f"badge-{visit.id}.pdf", frameable=True)


def _wants_json() -> bool:
    """Whether the reprint button's script sent the form (it prints in the page)."""
    # Asked for by name and preferred to HTML: "*/*" (curl) or a browser's own form post
    # (text/html first) get the page.
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


@bp.route("/visits/<int:visit_id>/reprint", methods=["POST"])
def badge_reprint(visit_id: int) -> Response | str:
    """Print a visit's badge again: on its kiosk's (or site's) CUPS or label printer, or
    from this browser.

    With JavaScript (static/js/badge-reprint.js, which asks for JSON) the answer says what the
    page does next: print the PDF in a hidden frame, or reload to show the printer's outcome.
    Without it, a page offers the PDF in a new tab and claims no print.
    """
    visit = served_or_404(Visit, visit_id)
    back = url_for(".prints") if request.form.get("back") == "prints" else url_for(".on_site")
    if not ButtonForm().validate_on_submit():
        flash(_("This page had expired. Please try again."))
        return jsonify(location=back) if _wants_json() else redirect(back)
    if isinstance(visit.visitor_name, ErasedText):
        flash(_("This visit's details are erased: there is no badge to print."))
        return jsonify(location=back) if _wants_json() else redirect(back)
    if not needs_printer(visit):
        # No printer on the server: reception prints the PDF from their own browser, whose
        # download is recorded and audited when it is fetched.
        pdf_url = url_for(".badge_download", visit_id=visit.id)
        if _wants_json():
            return jsonify(pdf=pdf_url)
        return render_template("dashboard/reprint.html", visit=visit, pdf_url=pdf_url, back=back)
    audit("reprint_badge", "visit", visit.id)
    outcome = print_badge(
        get_session(), visit, now=now(), requested_by=staff_actor(current_staff())
    )
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
    elif code == "printer_unreachable":
        text = _("the label printer does not answer: is it switched on and connected?")
    elif code == "out_of_labels":
        text = _("the label printer is out of labels.")
    elif code == "wrong_labels":
        text = _("the label printer holds other labels than the badge format needs.")
    elif code == "printer_fault":
        text = _("the label printer reports a fault, such as an open cover or a jam.")
    elif code == "label_unsupported":
        text = _("the badge format cannot be printed on a Brother QL label.")
    elif code == BROWSER_PRINT_FAILED:
        text = _("the kiosk's browser could not print it.")
    else:
        text = _("the badge could not be drawn.")
    return text


def _sites_asked_for() -> list[Site]:
    """The sites the user serves, or only the one asked for with ``?site=ID`` (else 404)."""
    if "site" in request.args:
        return [served_site(parse_id(request.args["site"]))]  # not an id: 404
    return served_sites()


def _evacuation_lists(fmt: str) -> list[SiteList]:
    db_session = get_session()
    sites = _sites_asked_for()
    visits = visits_on_site(db_session, [site.id for site in sites])
    lists = [SiteList(site, [v for v in visits if v.site_id == site.id]) for site in sites]
    record_site_views(
        db_session, current_staff(), sites, action=f"evacuation_list_{fmt}", now=now()
    )
    db_session.commit()
    return lists


def _stamp() -> str:
    return now().strftime("%Y%m%dT%H%MZ")


@bp.route("/evacuation.pdf")
def evacuation_pdf() -> FlaskResponse:
    """Everyone on site now, per site the user serves, as an A4 PDF."""
    lists = _evacuation_lists("pdf")
    pdf = render_evacuation_pdf(lists, now=now(), fonts=app_fonts())
    return pdf_response(pdf, f"evacuation-{_stamp()}.pdf")


@bp.route("/evacuation.csv")
def evacuation_csv_file() -> FlaskResponse:
    """Everyone on site now, per site the user serves, as CSV."""
    lists = _evacuation_lists("csv")
    response = FlaskResponse(evacuation_csv(lists), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="evacuation-{_stamp()}.csv"'
    return response
