"""Dashboard: the audit log, for admins (ids and actions only, never personal data)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request

from kiosk.dashboard.access import admin_required
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.forms import parse_day
from kiosk.services.audit import audit_actions, audit_events


@bp.route("/audit")
@admin_required
def audit_log() -> str:
    """Browse and filter the audit log (filters are ids and action names: fine in a URL)."""
    zone = ZoneInfo(current_app.config["AUDIT_TIMEZONE"])
    since_day, until_day = (
        parse_day(request.args.get("since")),
        parse_day(request.args.get("until")),
    )
    asked = request.args.get("page", 1, type=int) or 1
    events, pages = audit_events(
        get_session(),
        actor=(request.args.get("actor") or "")[:64],
        action=(request.args.get("action") or "")[:64],
        since=datetime.combine(since_day, time.min, tzinfo=zone) if since_day else None,
        until=datetime.combine(until_day + timedelta(days=1), time.min, tzinfo=zone)
        if until_day
        else None,
        page=asked,
    )
    return render_template(
        "dashboard/audit.html",
        events=events,
        pages=pages,
        # As the events were read: a page past the last (10**28, or below 1) is the nearest.
        page=min(max(1, asked), pages),
        actions=audit_actions(get_session()),
        filters={k: request.args.get(k, "") for k in ("actor", "action", "since", "until")},
        zone=zone,
    )
