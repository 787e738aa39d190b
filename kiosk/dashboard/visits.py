"""Dashboard: checking visitors out, today's log, the history search and the CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response as BaseResponse

from kiosk import session_store
from kiosk.clock import now
from kiosk.dashboard.access import audit, current_staff, served_or_404, served_site, served_sites
from kiosk.dashboard.blueprint import bp
from kiosk.dashboard.forms import ExportForm, HistoryForm
from kiosk.db import get_database, get_session
from kiosk.forms import ButtonForm
from kiosk.models import HISTORY_SEARCH, Site, Visit
from kiosk.notifications.events import queue_checked_out
from kiosk.notifications.sender import wake_sender
from kiosk.services.audit import record_site_views
from kiosk.services.daily import (
    HistoryQuery,
    search_history,
    visits_csv,
    visits_for_export,
    visits_today,
)
from kiosk.services.invitations import site_today
from kiosk.services.sites import host_choices
from kiosk.services.visitor_types import type_marks
from kiosk.services.visits import check_out_everyone, check_out_visit

#: The session item (kiosk.session_store) holding the current history search (terms never go
#: into a URL, nor into the cookie).
_HISTORY = HISTORY_SEARCH


@bp.route("/visits/<int:visit_id>/check-out", methods=["POST"])
def check_out(visit_id: int) -> BaseResponse:
    """Reception checks one visitor out."""
    visit = served_or_404(Visit, visit_id)
    if ButtonForm().validate_on_submit() and check_out_visit(visit, now=now()):
        audit("check_out", "visit", visit.id)
        told = queue_checked_out(get_session(), [visit], now=now())
        get_session().commit()
        if told:
            wake_sender()
        flash(_("Checked out."))
    return redirect(url_for(".on_site"))


@bp.route("/sites/<int:site_id>/check-out-all", methods=["GET", "POST"])
def check_out_all(site_id: int) -> str | BaseResponse:
    """Check out everyone still on site, for example after an evacuation (asks first)."""
    site = served_site(site_id)
    form = ButtonForm()
    if form.validate_on_submit():
        visits = check_out_everyone(get_session(), site, now=now())
        count = len(visits)
        audit("check_out_all", "site", site.id)
        told = queue_checked_out(get_session(), visits, now=now())
        get_session().commit()
        if told:
            wake_sender()
        flash(ngettext("%(num)d visitor checked out.", "%(num)d visitors checked out.", count))
        return redirect(url_for(".on_site"))
    return render_template("dashboard/check_out_all.html", site=site, form=form)


@bp.route("/today")
def today() -> str:
    """Everyone who checked in today, per site."""
    db_session = get_session()
    sites = served_sites()
    at = now()
    visits = visits_today(db_session, sites, now=at)
    many_types, visitor_types = type_marks(db_session, sites)
    record_site_views(db_session, current_staff(), sites, action="view_today", now=at)
    db_session.commit()
    return render_template(
        "dashboard/today.html",
        sites=sites,
        visits_by_site=visits,
        many_types_by_site=many_types,
        visitor_types=visitor_types,
        now=at,
    )


def _history_form(sites: list[Site]) -> HistoryForm:
    form = HistoryForm()
    form.host.choices = [(0, _("Anyone")), *host_choices(get_session(), sites)]
    return form


def _query_from(data: dict[str, Any], sites: list[Site]) -> HistoryQuery:
    def day(value: Any) -> date | None:
        return date.fromisoformat(value) if isinstance(value, str) and value else None

    return HistoryQuery(
        site_ids=tuple(site.id for site in sites),
        name=data.get("name") or "",
        company=data.get("company") or "",
        host_id=data.get("host") or None,
        date_from=day(data.get("date_from")),
        date_to=day(data.get("date_to")),
    )


@bp.route("/history", methods=["GET", "POST"])
def history() -> str | BaseResponse:
    """Search past visits kept within the retention period, 50 to a page."""
    sites = served_sites()
    form = _history_form(sites)
    if form.validate_on_submit():
        # On the server: the session cookie can be read by anyone who decodes it.
        session_store.store(
            _HISTORY,
            {
                "name": form.name.data or "",
                "company": form.company.data or "",
                "host": form.host.data or 0,
                "date_from": form.date_from.data.isoformat() if form.date_from.data else "",
                "date_to": form.date_to.data.isoformat() if form.date_to.data else "",
            },
        )
        get_session().commit()
        return redirect(url_for(".history", page=1))
    criteria = session_store.load(_HISTORY)
    result = None
    counting = False
    if request.method == "GET" and criteria:
        form.process(
            data={
                **criteria,
                "date_from": date.fromisoformat(criteria["date_from"])
                if criteria["date_from"]
                else None,
                "date_to": date.fromisoformat(criteria["date_to"]) if criteria["date_to"] else None,
            }
        )
        page = request.args.get("page", 1, type=int) or 1
        # The visits found are counted when asked for ("Count them"): a broad name's newest
        # page is found under a few keys, its count only under all of them (issue 18).
        counting = request.args.get("count") == "1"
        result = search_history(
            get_session(), _query_from(criteria, sites), page=page, count=counting
        )
        audit("search_history", "visits", None)
        get_session().commit()
    return render_template("dashboard/history.html", form=form, result=result, counting=counting)


@bp.route("/history/clear", methods=["POST"])
def history_clear() -> BaseResponse:
    """Forget the current search."""
    if ButtonForm().validate_on_submit():
        session_store.discard(_HISTORY)
        get_session().commit()
    return redirect(url_for(".history"))


def _with_bom(pieces: Iterator[str]) -> Iterator[str]:
    """A byte-order mark first, so spreadsheet programs read UTF-8 names right."""
    yield "\ufeff"
    yield from pieces


@bp.route("/export", methods=["GET", "POST"])
def export() -> str | BaseResponse:
    """The visit log of a period as CSV (the file holds personal data: the export is audited)."""
    sites = served_sites()
    form = ExportForm()
    form.site.choices = [(site.id, site.name) for site in sites]
    if form.validate_on_submit():
        if form.date_from.data > form.date_to.data:
            form.date_to.errors.append(_("The end date is before the start date."))
        else:
            site = served_site(form.site.data)
            query = HistoryQuery(
                site_ids=(site.id,), date_from=form.date_from.data, date_to=form.date_to.data
            )
            headers = [
                _("Site"),
                _("Name"),
                _("Company"),
                _("Host"),
                _("Purpose"),
                _("Checked in"),
                _("Checked out"),
                _("Badge code"),
            ]
            audit("export_visits", "site", site.id)
            get_session().commit()
            # Streamed a batch of visits at a time, from a session of the export's own: the
            # file is never whole in the worker's memory (kiosk.services.daily).
            batches = visits_for_export(get_database().sessionmaker, query)
            filename = f"visits-{site.id}-{form.date_from.data}-{form.date_to.data}.csv"
            return Response(
                # Its rows are written after this view has returned: in the request's context
                # still, for the words of the reader's language ("(erased)": a value whose key
                # is gone), which outside it broke the file off after its header line.
                stream_with_context(_with_bom(visits_csv(batches, headers))),
                mimetype="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
    elif request.method == "GET" and sites:
        today = site_today(sites[0], now())
        form.date_from.data = form.date_from.data or today.replace(day=1)
        form.date_to.data = form.date_to.data or today
    return render_template(
        "dashboard/export.html",
        form=form,
        retention=max((s.retention_days for s in sites), default=0),
    )
