"""Who is on site now and who is expected today, per site the staff user serves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, render_template, session

from kiosk.clock import now
from kiosk.dashboard.access import current_staff, served_sites
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.forms import ButtonForm
from kiosk.models import Site, StaffUser
from kiosk.services.audit import record_events, staff_actor
from kiosk.services.daily import expected_today
from kiosk.services.groups import with_groups
from kiosk.services.visitor_types import type_marks
from kiosk.services.visits import PresentVisit, present_visits

#: Session key: when each site's visitor list was last audited for this user.
_AUDITED = "on_site_audited"
#: A live-refreshing list is audited again after this long, not on every refresh.
AUDIT_REFRESH_EVERY = timedelta(minutes=5)


def _audit_on_site_view(user: StaffUser, sites: list[Site], *, force: bool) -> None:
    """Record that the user saw visitor names on these sites' lists."""
    at = now()
    audited: dict[str, float] = session.get(_AUDITED) or {}
    due = [
        site.id
        for site in sites
        if force
        or (last := audited.get(str(site.id))) is None
        or at.timestamp() - last > AUDIT_REFRESH_EVERY.total_seconds()
    ]
    record_events(
        get_session(),
        actor=staff_actor(user),
        action="view_on_site",
        target_type="site",
        target_ids=due,
        now=at,
    )
    for site_id in due:
        audited[str(site_id)] = at.timestamp()
    session[_AUDITED] = audited
    get_session().commit()


def _on_site_context() -> dict[str, Any]:
    db_session = get_session()
    sites = served_sites()
    present = present_visits(db_session, [site.id for site in sites])
    visits_by_site: dict[int, list[PresentVisit]] = {site.id: [] for site in sites}
    for visit in present:
        visits_by_site[visit.site_id].append(visit)
    many_types, visitor_types = type_marks(db_session, sites)
    return {
        "sites": sites,
        # A visit's type is marked where its site has several.
        "many_types_by_site": many_types,
        "visitor_types": visitor_types,
        "visits_by_site": visits_by_site,
        # Groups ("I am with others") together, marked (kiosk.services.groups).
        "rows_by_site": {
            site_id: with_groups(listed) for site_id, listed in visits_by_site.items()
        },
        "expected_by_site": expected_today(db_session, sites, now=now()),
        "total": len(present),
        "button": ButtonForm(),
        "live_seconds": int(current_app.config["DASHBOARD_REFRESH_SECONDS"]),
    }


@bp.route("/")
def on_site() -> str:
    """Visitors in the building now and visitors expected today, per site the user serves."""
    context = _on_site_context()
    _audit_on_site_view(current_staff(), context["sites"], force=True)
    return render_template("dashboard/on_site.html", **context)


@bp.route("/live")
def on_site_live() -> str:
    """The on-site lists alone, fetched by the page every few seconds to stay current."""
    context = _on_site_context()
    _audit_on_site_view(current_staff(), context["sites"], force=False)
    return render_template("dashboard/_on_site_lists.html", **context)
