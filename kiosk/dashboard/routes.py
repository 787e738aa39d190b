"""Dashboard routes: staff login and session, who is on site now, expected today."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from kiosk.badges.service import failed_visit_ids
from kiosk.clock import now
from kiosk.dashboard.forms import LoginForm, PasswordForm
from kiosk.db import get_session
from kiosk.extensions import limiter
from kiosk.forms import ButtonForm
from kiosk.models import Site, StaffUser, Visit
from kiosk.services.audit import record_event, staff_actor
from kiosk.services.daily import expected_today
from kiosk.services.sites import sites_served_by
from kiosk.services.staff import StaffError, authenticate, set_password
from kiosk.services.visits import visits_on_site

bp = Blueprint("dashboard", __name__)

#: Session key: when the staff user last did something (epoch seconds, from kiosk.clock).
_LAST_SEEN = "staff_seen"
#: Session key: when the staff user logged in (epoch seconds); the session's absolute limit.
_LOGGED_IN = "staff_login_at"
#: Session key: when each site's visitor list was last audited for this user.
_AUDITED = "on_site_audited"
#: A live-refreshing list is audited again after this long, not on every refresh.
AUDIT_REFRESH_EVERY = timedelta(minutes=5)


def current_staff() -> StaffUser:
    """The logged-in staff user."""
    user: StaffUser = current_user._get_current_object()
    return user


@bp.before_request
def _expire_idle_session() -> Response | None:
    """Log staff out after STAFF_IDLE_MINUTES without activity (background refreshes do not
    count as activity), and STAFF_SESSION_HOURS after the login however active (a session
    without a login time, from before this limit, has ended too)."""
    if not current_user.is_authenticated:
        return None
    moment = now().timestamp()
    last = session.get(_LAST_SEEN)
    logged_in = session.get(_LOGGED_IN)
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
        session[_LAST_SEEN] = moment
    return None


def served_sites() -> list[Site]:
    """The sites the logged-in user serves: all for admins."""
    return list(sites_served_by(get_session(), current_staff()))


def served_site(site_id: int | None) -> Site:
    """A site the logged-in user serves (else 404)."""
    site = get_session().get(Site, site_id) if site_id is not None else None
    if site is None or site.id not in {served.id for served in served_sites()}:
        abort(404)
    return site


def audit(action: str, target_type: str, target_id: int | None) -> None:
    """Record what the logged-in staff user did (ids only); the caller commits."""
    record_event(
        get_session(),
        actor=staff_actor(current_staff()),
        action=action,
        target_type=target_type,
        target_id=target_id,
        now=now(),
    )


def _audit_on_site_view(user: StaffUser, sites: list[Site], *, force: bool) -> None:
    """Record that the user saw visitor names on these sites' lists."""
    at = now()
    audited: dict[str, float] = session.get(_AUDITED) or {}
    for site in sites:
        last = audited.get(str(site.id))
        if force or last is None or at.timestamp() - last > AUDIT_REFRESH_EVERY.total_seconds():
            record_event(
                get_session(),
                actor=staff_actor(user),
                action="view_on_site",
                target_type="site",
                target_id=site.id,
                now=at,
            )
            audited[str(site.id)] = at.timestamp()
    session[_AUDITED] = audited
    get_session().commit()


def _on_site_context() -> dict[str, Any]:
    db_session = get_session()
    sites = list(sites_served_by(db_session, current_staff()))
    present = visits_on_site(db_session, [site.id for site in sites])
    visits_by_site: dict[int, list[Visit]] = {site.id: [] for site in sites}
    for visit in present:
        visits_by_site[visit.site_id].append(visit)
    return {
        "sites": sites,
        "visits_by_site": visits_by_site,
        "expected_by_site": expected_today(db_session, sites, now=now()),
        "total": len(present),
        "failed_badges": failed_visit_ids(db_session, [site.id for site in sites]),
        "button": ButtonForm(),
        "live_seconds": int(current_app.config["DASHBOARD_REFRESH_SECONDS"]),
    }


@bp.route("/")
@login_required  # type: ignore[untyped-decorator]
def on_site() -> str:
    """Visitors in the building now and visitors expected today, per site the user serves."""
    context = _on_site_context()
    _audit_on_site_view(current_staff(), context["sites"], force=True)
    return render_template("dashboard/on_site.html", **context)


@bp.route("/live")
@login_required  # type: ignore[untyped-decorator]
def on_site_live() -> str:
    """The on-site lists alone, fetched by the page every few seconds to stay current."""
    context = _on_site_context()
    _audit_on_site_view(current_staff(), context["sites"], force=False)
    return render_template("dashboard/_on_site_lists.html", **context)


def _login_username_key() -> str:
    """Per username *and* address: guessing from one address slows that address down, and
    never locks the user out of logging in from anywhere else. The key is a hash, so the
    limiter's storage holds no names."""
    username = (request.form.get("username") or "").strip().lower()
    who = f"{username}\x00{request.remote_addr}"
    return "login-user:" + hashlib.sha256(who.encode()).hexdigest()


def _password_check_key() -> str:
    return f"password-check:{current_staff().id}" if current_user.is_authenticated else "-"


def _wrong_current_password(_response: Response) -> bool:
    return bool(g.get("wrong_current_password"))


def _failed_login(response: Response) -> bool:
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], deduct_when=_failed_login
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_USERNAME"],
    methods=["POST"],
    key_func=_login_username_key,
    deduct_when=_failed_login,
)
def login() -> str | Response:
    """Staff login; a success goes to the page that asked for it (same site only)."""
    if current_user.is_authenticated:
        if request.method == "POST":
            # Read the body, so an oversized one is a 413 here too: the login throttle reads
            # it first, but Flask-Limiter swallows its errors (RATELIMIT_SWALLOW_ERRORS).
            request.get_data(cache=False)
        return redirect(url_for(".on_site"))
    form = LoginForm()
    if form.validate_on_submit():
        db_session = get_session()
        user = authenticate(db_session, form.username.data or "", form.password.data or "")
        if user is None:
            # One message for unknown user and wrong password: no account enumeration.
            form.form_errors.append(_("Wrong username or password."))
        else:
            session.clear()  # no session fixation: nothing from before the login survives
            login_user(user)
            session[_LAST_SEEN] = session[_LOGGED_IN] = now().timestamp()
            record_event(
                db_session,
                actor=staff_actor(user),
                action="login",
                target_type="staff_user",
                target_id=user.id,
                now=now(),
            )
            db_session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for(".on_site"))
    return render_template("dashboard/login.html", form=form)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site may be a redirect target (no open redirect)."""
    if not target:
        return None
    # Browsers drop tabs and newlines from URLs ("/\t/evil" becomes "//evil") and some read
    # a backslash as a slash: a target with any of them, or any other control or space
    # character, is refused outright.
    if any(char.isspace() or not char.isprintable() for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


@bp.route("/logout", methods=["POST"])
@login_required  # type: ignore[untyped-decorator]
def logout() -> Response:
    """End the staff session."""
    if ButtonForm().validate_on_submit():
        # Server-side: a copy of this session's cookie no longer logs anyone in.
        current_staff().end_sessions()
        get_session().commit()
        logout_user()
        session.clear()
        flash(_("You are logged out."))
    return redirect(url_for(".login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required  # type: ignore[untyped-decorator]
@limiter.limit(
    lambda: current_app.config["PASSWORD_CHECK_LIMIT_PER_USER"],
    methods=["POST"],
    key_func=_password_check_key,
    deduct_when=_wrong_current_password,
)
def change_password() -> str | Response:
    """Change one's own password (the current one is asked again)."""
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_staff()
        db_session = get_session()
        if authenticate(db_session, user.username, form.current.data or "") is None:
            g.wrong_current_password = True
            form.current.errors.append(_("That is not your current password."))
        else:
            try:
                set_password(user, form.new.data or "")
            except StaffError:
                form.new.errors.append(_("Please use at least 10 characters."))
            else:
                audit("change_password", "staff_user", user.id)
                db_session.commit()
                # The change ended every session of the user: this one goes on with the new
                # generation, under a fresh session; the login's time limit still holds.
                logged_in = session.get(_LOGGED_IN)
                session.clear()
                login_user(user)
                session[_LAST_SEEN] = now().timestamp()
                session[_LOGGED_IN] = logged_in
                flash(_("Your password has been changed."))
                return redirect(url_for(".on_site"))
    return render_template("dashboard/password.html", form=form)


from kiosk.dashboard import (  # noqa: E402, F401  (routes on this blueprint)
    admin,
    audit_log,
    expected,
    kiosks,
    notifications,
    privacy,
    visits,
)
