"""Staff single sign-on with OpenID Connect: the redirect to the provider and the callback.

The protocol is in ``kiosk.services.oidc``, the groups-to-role mapping and the linked staff
user in ``kiosk.services.sso``. A good login ends like the password login: a fresh session,
``login_user``, the activity time, an audit event (ids only). Logs carry reason codes only,
never a name, an address, a claim or a token.
"""

from __future__ import annotations

import logging

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.dashboard.blueprint import bp, start_session
from kiosk.db import get_session
from kiosk.extensions import limiter
from kiosk.services import oidc
from kiosk.services.audit import record_event, staff_actor
from kiosk.services.sso import SsoRefused, group_names, sso_login

log = logging.getLogger(__name__)

#: Session key: the state, nonce and PKCE verifier of the login under way (one at a time).
SSO_PENDING = "sso_pending"


def sso_enabled() -> bool:
    config = current_app.config
    return bool(config["SSO_ISSUER"] and config["SSO_CLIENT_ID"] and config["SSO_CLIENT_SECRET"])


def _client() -> oidc.Client:
    config = current_app.config
    return oidc.Client(
        issuer=str(config["SSO_ISSUER"]),
        client_id=str(config["SSO_CLIENT_ID"]),
        client_secret=str(config["SSO_CLIENT_SECRET"]),
        scope=str(config["SSO_SCOPES"]),
        redirect_uri=url_for("dashboard.sso_callback", _external=True),
        timeout=float(config["SSO_TIMEOUT_SECONDS"]),
    )


def _safe_path(target: str | None) -> str | None:
    """A page of this site to return to after the login (the same rule as the password
    login's ``next``: a plain path, nothing a browser could read as another host)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(char.isspace() or not char.isprintable() for char in target):
        return None
    return target


def _refused(kind: str, status: int) -> tuple[str, int]:
    return render_template("dashboard/sso_refused.html", kind=kind), status


@bp.route("/sso/login")
def sso_start() -> Response | tuple[str, int]:
    """Send the browser to the provider's login, with a fresh state, nonce and PKCE verifier."""
    if not sso_enabled():
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for(".on_site"))
    try:
        url, pending = oidc.authorization_request(_client())
    except oidc.SsoError as error:
        log.warning("single sign-on could not start: %s", error.reason)
        return _refused("unavailable", 503)
    session[SSO_PENDING] = {**pending.as_dict(), "next": _safe_path(request.args.get("next"))}
    return redirect(url)


def _failed_callback(response: Response) -> bool:
    return response.status_code != 302


@bp.route("/sso/callback")
# A failed single sign-on is a failed login: it counts against the address's login limit, so
# guessed codes and states (each one a request to the provider's token endpoint) are throttled.
@limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"],
    deduct_when=_failed_callback,
    scope="login-per-ip",
)
def sso_callback() -> Response | tuple[str, int]:
    """The provider sends the browser back here with a code: check, redeem, verify, log in."""
    if not sso_enabled():
        abort(404)
    # One use only: the pending login leaves the session whatever happens next, so the same
    # callback URL a second time finds nothing to complete.
    stored = session.pop(SSO_PENDING, None)
    target = stored.get("next") if isinstance(stored, dict) else None
    arguments = {key: request.args.get(key, "") for key in request.args}
    db_session = get_session()
    moment = now()
    try:
        claims = oidc.complete(_client(), oidc.Pending.from_dict(stored), arguments, now=moment)
    except oidc.SsoError as error:
        log.warning("single sign-on refused: %s", error.reason)
        if error.reason == "provider_unreachable":
            return _refused("unavailable", 503)
        return _refused("failed", 400)
    config = current_app.config
    hint = claims.get("preferred_username")
    try:
        user, created = sso_login(
            db_session,
            subject=str(claims["sub"]),
            groups=group_names(claims.get(str(config["SSO_GROUPS_CLAIM"]))),
            mapping=config["SSO_GROUPS"] or {},
            username_hint=hint if isinstance(hint, str) else None,
            now=moment,
        )
    except SsoRefused as refusal:
        if refusal.user_id is not None:
            record_event(
                db_session,
                actor=f"staff:{refusal.user_id}",
                action="sso_refused",
                target_type="staff_user",
                target_id=refusal.user_id,
                now=moment,
            )
        db_session.commit()  # a linked user no group lets in any more: sessions ended
        log.warning("single sign-on refused: %s", refusal.reason)
        return _refused("not_allowed", 403)
    start_session(user, moment)
    if created:
        record_event(
            db_session,
            actor=staff_actor(user),
            action="sso_create_user",
            target_type="staff_user",
            target_id=user.id,
            now=moment,
        )
    record_event(
        db_session,
        actor=staff_actor(user),
        action="sso_login",
        target_type="staff_user",
        target_id=user.id,
        now=moment,
    )
    db_session.commit()
    return redirect(target if isinstance(target, str) else url_for(".on_site"))
