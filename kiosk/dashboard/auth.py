"""Staff login, logout and password change."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import (
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from kiosk import session_store
from kiosk.clock import now
from kiosk.dashboard.access import audit, current_staff
from kiosk.dashboard.blueprint import LAST_SEEN, LOGGED_IN, bp, start_session
from kiosk.dashboard.forms import LoginForm, PasswordForm
from kiosk.db import get_session
from kiosk.extensions import limiter
from kiosk.forms import ButtonForm
from kiosk.services.audit import record_event, staff_actor
from kiosk.services.staff import StaffError, authenticate, set_password


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
@limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"],
    methods=["POST"],
    deduct_when=_failed_login,
    # Shared with the single sign-on callback (dashboard/sso.py): one count of failed logins.
    scope="login-per-ip",
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
    if not current_app.config["LOCAL_LOGIN"]:
        # Passwords are switched off (single sign-on only): no form, and a posted one is refused.
        page = render_template("dashboard/login.html", form=None)
        return make_response(page, 403 if request.method == "POST" else 200)
    form = LoginForm()
    if form.validate_on_submit():
        db_session = get_session()
        user = authenticate(db_session, form.username.data or "", form.password.data or "")
        if user is None:
            # One message for unknown user and wrong password: no account enumeration.
            form.form_errors.append(_("Wrong username or password."))
        else:
            start_session(user, now())
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
def logout() -> Response:
    """End the staff session."""
    if ButtonForm().validate_on_submit():
        # Server-side: a copy of this session's cookie no longer logs anyone in.
        current_staff().end_sessions()
        session_store.discard_all()  # the history search terms
        get_session().commit()
        logout_user()
        session.clear()
        flash(_("You are logged out."))
    return redirect(url_for(".login"))


@bp.route("/password", methods=["GET", "POST"])
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
                logged_in = session.get(LOGGED_IN)
                session.clear()
                login_user(user)
                session[LAST_SEEN] = now().timestamp()
                session[LOGGED_IN] = logged_in
                flash(_("Your password has been changed."))
                return redirect(url_for(".on_site"))
    return render_template("dashboard/password.html", form=form)
