"""The dashboard blueprint: every staff page is behind a login, checked here once.

View modules import ``bp`` from here and the access helpers from ``kiosk.dashboard.access``;
``kiosk.dashboard`` imports the view modules, so nothing imports back up and there is no cycle.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_login.config import EXEMPT_METHODS
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.extensions import login_manager
from kiosk.models import StaffUser

bp = Blueprint("dashboard", __name__)

#: Session key: when the staff user last did something (epoch seconds, from kiosk.clock).
LAST_SEEN = "staff_seen"
#: Session key: when the staff user logged in (epoch seconds); the session's absolute limit.
LOGGED_IN = "staff_login_at"
#: The only dashboard pages a visitor without a staff login may open: the login page and the
#: two steps of single sign-on (kiosk/dashboard/sso.py).
PUBLIC_ENDPOINTS = frozenset({"dashboard.login", "dashboard.sso_start", "dashboard.sso_callback"})


def start_session(user: StaffUser, at: datetime) -> None:
    """Log ``user`` in on a fresh session (no session fixation: nothing from before the login
    survives), its idle and absolute limits counted from ``at``. Every way of logging in
    (password, single sign-on) ends here; the caller audits and commits."""
    session.clear()
    login_user(user)
    session[LAST_SEEN] = session[LOGGED_IN] = at.timestamp()


@bp.before_request
def _expire_idle_session() -> Response | None:
    """Log staff out after STAFF_IDLE_MINUTES without activity (background refreshes do not
    count as activity), and STAFF_SESSION_HOURS after the login however active (a session
    without a login time, from before this limit, has ended too)."""
    if not current_user.is_authenticated:
        return None
    moment = now().timestamp()
    last = session.get(LAST_SEEN)
    logged_in = session.get(LOGGED_IN)
    idle = timedelta(minutes=int(current_app.config["STAFF_IDLE_MINUTES"]))
    hours = int(current_app.config["STAFF_SESSION_HOURS"])
    if not isinstance(logged_in, int | float) or moment - logged_in > hours * 3600:
        logout_user()
        session.clear()
        flash(_("Your session ended after %(hours)d hours. Please log in again.", hours=hours))
        return redirect(url_for(".login"))
    if isinstance(last, int | float) and moment - last > idle.total_seconds():
        logout_user()
        session.clear()
        flash(_("You were logged out after a while without activity. Please log in again."))
        return redirect(url_for(".login"))
    if request.endpoint != "dashboard.on_site_live":
        session[LAST_SEEN] = moment
    return None


@bp.before_request
def _require_login() -> Response | None:
    """Flask-Login's ``login_required`` for the whole blueprint: a page added later cannot
    forget it."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.method in EXEMPT_METHODS:
        return None
    if current_app.config.get("LOGIN_DISABLED") or current_user.is_authenticated:
        return None
    response: Response = login_manager.unauthorized()
    return response
