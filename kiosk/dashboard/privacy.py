"""Dashboard: visit statistics, the retention purge's status, and data-subject requests.

Statistics are for all staff of a site; the purge status and the requests (find, export,
correct, erase one person's records) are for admins and the privacy role. Every view, export,
correction and erasure of personal data is audited with ids only; search terms travel in POST
bodies, never in a URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from kiosk.clock import now
from kiosk.dashboard.access import audit_each, current_staff, requests_required, served_sites
from kiosk.dashboard.blueprint import bp
from kiosk.dashboard.privacy_forms import EraseForm, ExportForm, PersonSearchForm, RectifyForm
from kiosk.db import get_session
from kiosk.forms import parse_id
from kiosk.i18n import language_choices, reading_locale
from kiosk.models import Invitation, SignedDocument, Visit
from kiosk.privacy.access_pdf import render_access_pdf
from kiosk.privacy.requests import (
    AccessReport,
    PersonRecords,
    access_json,
    erase_person,
    export_access,
    find_person,
    load_invitations,
    load_signed_documents,
    load_visits,
    rectify_visit,
)
from kiosk.privacy.schedule import next_scheduled_run
from kiosk.privacy.shredding import REPLACED_KEY_SETTLE
from kiosk.privacy.stats import DailyStats, Tally, daily_stats
from kiosk.privacy.status import purge_overdue, purge_status, recent_runs

#: After how many minutes copies of the database taken before an erasure or a correction by
#: request can no longer be read for it (its replaced keys destroyed, at the next tick after).
FORGOTTEN_IN_COPIES_MINUTES = round(REPLACED_KEY_SETTLE.total_seconds() / 60)

#: Periods the statistics page offers, in days.
STATS_PERIODS = (7, 30, 90, 365)


def _audit_records(
    action: str,
    visits: list[Visit],
    invitations: list[Invitation],
    documents: Sequence[SignedDocument] = (),
) -> None:
    audit_each(action, "visit", [visit.id for visit in visits])
    audit_each(action, "invitation", [item.id for item in invitations])
    audit_each(action, "signed_document", [item.id for item in documents])


@bp.context_processor
def _purge_warning() -> dict[str, bool | int]:
    """Admins and privacy officers see a warning on every page while the purge is overdue,
    and while the key store lacks keys that rows name (found at start, kiosk.key_setup)."""
    if not current_user.is_authenticated or not current_staff().handles_requests:
        return {}
    return {
        "purge_overdue": purge_overdue(get_session(), now=now()),
        "keys_lost": current_app.extensions.get("kiosk.keys_lost", 0),
    }


# Statistics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class Chart:
    """An inline SVG bar chart (no script, no CDN: the page's CSP allows neither)."""

    width: int
    height: int
    bars: list[Bar]
    peak: int
    first_label: str
    last_label: str


def _chart(days: list[tuple[object, Tally]], width: int = 720, height: int = 160) -> Chart:
    peak = max((tally.visits for _day, tally in days), default=0)
    slot = width / max(1, len(days))
    gap = min(2.0, slot * 0.2)
    bars = []
    for index, (day, tally) in enumerate(days):
        bar_height = 0.0 if not peak else (height - 4) * tally.visits / peak
        bars.append(
            Bar(
                x=round(index * slot + gap / 2, 2),
                y=round(height - bar_height, 2),
                width=round(slot - gap, 2),
                height=round(bar_height, 2),
                label=format_date(day, "medium"),
                value=tally.visits,
            )
        )
    return Chart(
        width=width,
        height=height,
        bars=bars,
        peak=peak,
        first_label=bars[0].label if bars else "",
        last_label=bars[-1].label if bars else "",
    )


@bp.route("/statistics")
def statistics() -> str:
    """Visits per day and per host at the user's sites, kept after the visits are erased."""
    period = request.args.get("days", 30, type=int)
    if period not in STATS_PERIODS:
        period = 30
    db_session = get_session()
    sites = served_sites()
    at = now()
    per_site: dict[int, DailyStats] = {}
    charts: dict[int, Chart] = {}
    hosts: dict[int, str] = {}
    for site in sites:
        last = at.astimezone(ZoneInfo(site.timezone)).date()
        first = last - timedelta(days=period - 1)
        stats = daily_stats(db_session, [site.id], {site.id: ZoneInfo(site.timezone)}, first, last)
        per_site[site.id] = stats[site.id]
        charts[site.id] = _chart(list(stats[site.id].days))
        hosts.update({host.id: host.name for host in site.hosts})
    return render_template(
        "dashboard/statistics.html",
        sites=sites,
        stats=per_site,
        charts=charts,
        host_names=hosts,
        period=period,
        periods=STATS_PERIODS,
    )


# Retention -------------------------------------------------------------------------------


@bp.route("/retention")
@requests_required
def retention() -> str:
    """The purge: last run, next run, a warning when overdue, and the recent runs per site."""
    db_session = get_session()
    at = now()
    sites = served_sites()
    site_ids = {site.id for site in sites}
    status = purge_status(db_session, now=at, next_run=next_scheduled_run(current_app.config, at))
    zone = ZoneInfo(current_app.config["PURGE_TIMEZONE"])
    locale = reading_locale(current_app.config["PURGE_TIMEZONE"])

    def purge_time(moment: datetime, style: str = "medium") -> str:
        return format_datetime(moment, style, tzinfo=zone, locale=locale)

    return render_template(
        "dashboard/retention.html",
        purge_time=purge_time,
        status=status,
        sites=sites,
        runs=recent_runs(db_session),
        site_ids=site_ids,
        purge_timezone=current_app.config["PURGE_TIMEZONE"],
        keys_lost=current_app.extensions.get("kiosk.keys_lost", 0),
    )


# Data-subject requests -------------------------------------------------------------------


def _export_form(records: PersonRecords | None = None) -> ExportForm:
    form = ExportForm()
    form.language.choices = language_choices(current_app)
    if records is not None:
        # The PDF speaks the language the person last used at the kiosk.
        form.language.data = next(
            (visit.locale for visit in records.visits),
            next((item.locale for item in records.invitations), str(get_locale())),
        )
    return form


@bp.route("/requests", methods=["GET", "POST"])
@requests_required
def requests() -> str:
    """Find one person's visits and expected visits at the user's sites."""
    form = PersonSearchForm()
    records: PersonRecords | None = None
    if form.validate_on_submit():
        site_ids = [site.id for site in served_sites()]
        records = find_person(
            get_session(), site_ids, name=form.name.data or "", email=form.email.data or ""
        )
        _audit_records("request_search", records.visits, records.invitations, records.documents)
        get_session().commit()
    return render_template(
        "dashboard/requests.html",
        form=form,
        records=records,
        export_form=_export_form(records) if records else None,
    )


def _selected() -> tuple[list[Visit], list[Invitation]]:
    """The records ticked in the results, limited to the user's sites (the signed documents
    ticked are in ``g.selected_documents``, :func:`_selected_documents`)."""
    site_ids = [site.id for site in served_sites()]

    def ids(name: str) -> list[int]:
        parsed = (parse_id(value) for value in request.form.getlist(name))
        return [value for value in parsed if value is not None][:500]

    visits = load_visits(get_session(), ids("visit"), site_ids)
    invitations = load_invitations(get_session(), ids("invitation"), site_ids)
    g.selected_documents = load_signed_documents(get_session(), ids("document"), site_ids)
    if not visits and not invitations and not g.selected_documents:
        flash(_("Please choose at least one record."))
    return visits, invitations


def _selected_documents() -> list[SignedDocument]:
    """The signed documents ticked in the results (read by :func:`_selected`)."""
    documents: list[SignedDocument] = g.get("selected_documents", [])
    return documents


def _export(kind: str, render: Callable[[AccessReport, ExportForm], bytes]) -> BaseResponse:
    """An access export of the records chosen in the results, audited per record."""
    form = _export_form()
    if not form.validate_on_submit():
        return redirect(url_for(".requests"))
    visits, invitations = _selected()
    documents = _selected_documents()
    if not visits and not invitations and not documents:
        return redirect(url_for(".requests"))
    report = export_access(get_session(), visits, invitations, now=now(), documents=documents)
    body = render(report, form)
    _audit_records(f"request_export_{kind}", visits, invitations, report.documents)
    get_session().commit()
    # The file name says what it is and when, never whose.
    name = f"visitor-data-{now():%Y-%m-%d}.{kind}"
    return Response(
        body,
        mimetype=f"application/{kind}",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/requests/export.json", methods=["POST"])
@requests_required
def request_export_json() -> BaseResponse:
    """Access and portability: the chosen records as JSON."""
    return _export(
        "json",
        lambda report, _form: json.dumps(
            access_json(report), ensure_ascii=False, indent=2
        ).encode(),
    )


@bp.route("/requests/export.pdf", methods=["POST"])
@requests_required
def request_export_pdf() -> BaseResponse:
    """Access: the chosen records as a readable PDF in the person's language."""
    return _export(
        "pdf",
        lambda report, form: render_access_pdf(
            report, form.language.data or report.locale or str(get_locale())
        ),
    )


@bp.route("/requests/erase", methods=["POST"])
@requests_required
def request_erase() -> str | BaseResponse:
    """Erasure or an upheld objection: confirm, then erase the chosen records now."""
    visits, invitations = _selected()
    documents = _selected_documents()
    if not visits and not invitations and not documents:
        return redirect(url_for(".requests"))
    form = EraseForm()
    if "submit" in request.form and form.validate_on_submit():
        # The audit keeps the ids of what was erased and why; the records themselves go.
        _audit_records(f"erase_on_{form.reason.data}", visits, invitations, documents)
        erased = erase_person(get_session(), visits, invitations, documents, now=now())
        get_session().commit()
        count = (
            sum(erased.visits.values())
            + sum(erased.invitations.values())
            + sum(erased.documents.values())
        )
        flash(ngettext("%(num)d record erased.", "%(num)d records erased.", count))
        return redirect(url_for(".requests"))
    _audit_records("request_view", visits, invitations, documents)
    get_session().commit()
    if "submit" not in request.form:
        form = EraseForm(formdata=None)
    return render_template(
        "dashboard/request_erase.html",
        forgotten_in_copies=FORGOTTEN_IN_COPIES_MINUTES,
        form=form,
        visits=visits,
        invitations=invitations,
        documents=documents,
    )


@bp.route("/requests/visits/<int:visit_id>", methods=["GET", "POST"])
@requests_required
def request_visit(visit_id: int) -> str | BaseResponse:
    """Rectification: correct one visit's personal data."""
    site_ids = [site.id for site in served_sites()]
    found = load_visits(get_session(), [visit_id], site_ids)
    if not found:
        abort(404)
    visit = found[0]
    form = RectifyForm(obj=visit)
    if form.validate_on_submit():
        changed = rectify_visit(
            visit,
            {
                "visitor_name": form.visitor_name.data,
                "company": form.company.data,
                "email": form.email.data,
                "phone": form.phone.data,
                "purpose": form.purpose.data,
            },
            now=now(),
        )
        if changed:
            audit_each("rectify_visit", "visit", [visit.id])
            flash(_("The visit is corrected."))
        get_session().commit()
        return redirect(url_for(".request_visit", visit_id=visit.id))
    audit_each("request_view", "visit", [visit.id])
    get_session().commit()
    return render_template(
        "dashboard/request_visit.html",
        form=form,
        visit=visit,
        forgotten_in_copies=FORGOTTEN_IN_COPIES_MINUTES,
    )
