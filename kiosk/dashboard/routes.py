"""Dashboard routes: staff login and who is on site now."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.dashboard.forms import LoginForm
from kiosk.db import get_session
from kiosk.forms import ButtonForm
from kiosk.models import StaffUser
from kiosk.services.audit import record_event, staff_actor
from kiosk.services.sites import sites_served_by
from kiosk.services.staff import authenticate
from kiosk.services.visits import visits_on_site

bp = Blueprint("dashboard", __name__)


def current_staff() -> StaffUser:
    """The logged-in staff user."""
    user: StaffUser = current_user._get_current_object()
    return user


@bp.route("/")
@login_required  # type: ignore[untyped-decorator]
def on_site() -> str:
    """Visitors who are in the building now, per site the user serves."""
    db_session = get_session()
    user = current_staff()
    sites = sites_served_by(db_session, user)
    visits = visits_on_site(db_session, [site.id for site in sites])
    by_site = {site.id: [v for v in visits if v.site_id == site.id] for site in sites}
    at = now()
    for site in sites:
        # Viewing visitor names is a view of personal data: audit it (site ids only).
        record_event(
            db_session,
            actor=staff_actor(user),
            action="view_on_site",
            target_type="site",
            target_id=site.id,
            now=at,
        )
    db_session.commit()
    return render_template(
        "dashboard/on_site.html",
        sites=sites,
        visits_by_site=by_site,
        total=len(visits),
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    """Staff login; a success goes to the page that asked for it (same site only)."""
    if current_user.is_authenticated:
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
        logout_user()
        session.clear()
        flash(_("You are logged out."))
    return redirect(url_for(".login"))


from kiosk.dashboard import kiosks, privacy  # noqa: E402, F401  (routes on this blueprint)
