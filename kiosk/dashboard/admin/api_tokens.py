"""Dashboard admin: tokens for the REST API (make, list, revoke).

A new token's secret is shown once, on the page the POST answers (never stored, never put
in a URL, a flash message or the session): the admin copies it into the client then.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.dashboard.access import admin_required, audit, current_staff, served_sites
from kiosk.dashboard.admin.forms import ApiTokenForm
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.forms import ButtonForm
from kiosk.i18n import SiteClock
from kiosk.models import ApiToken
from kiosk.services.api_tokens import (
    ApiTokenError,
    NewToken,
    api_tokens,
    create_api_token,
    revoke_api_token,
)


def _page(form: ApiTokenForm, new_token: NewToken | None = None) -> str:
    clock = SiteClock(current_app.config["AUDIT_TIMEZONE"], str(get_locale() or "en"))
    return render_template(
        "dashboard/admin/api_tokens.html",
        tokens=api_tokens(get_session()),
        form=form,
        button=ButtonForm(),
        new_token=new_token,
        clock=clock,
    )


@bp.route("/admin/api-tokens", methods=["GET", "POST"])
@admin_required
def admin_api_tokens() -> str:
    """Every API token, and the form that makes one."""
    form = ApiTokenForm()
    sites = served_sites()
    form.sites.choices = [(site.id, site.name) for site in sites]
    new_token = None
    if form.validate_on_submit():
        db_session = get_session()
        try:
            new_token = create_api_token(
                db_session,
                name=form.name.data or "",
                sites=[site for site in sites if site.id in form.sites.data],
                can_write=form.access.data == "write",
                personal_data=bool(form.personal_data.data),
                created_by=current_staff(),
                now=now(),
            )
            db_session.flush()
        except ApiTokenError:
            db_session.rollback()
            form.form_errors.append(_("The token could not be made. Please check the form."))
        else:
            audit("create_api_token", "api_token", new_token.token.id)
            db_session.commit()
            form = ApiTokenForm(formdata=None)
            form.sites.choices = [(site.id, site.name) for site in sites]
    return _page(form, new_token)


@bp.route("/admin/api-tokens/<int:token_id>/revoke", methods=["POST"])
@admin_required
def admin_api_token_revoke(token_id: int) -> Response:
    """Stop a token working, at once and for good."""
    token = get_session().get(ApiToken, token_id)
    if token is None:
        abort(404)
    if ButtonForm().validate_on_submit() and revoke_api_token(token, now=now()):
        audit("revoke_api_token", "api_token", token.id)
        get_session().commit()
        flash(_("The token “%(name)s” is revoked.", name=token.name))
    return redirect(url_for(".admin_api_tokens"))
