"""Dashboard admin: sites and all their settings (admins only)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.dashboard.admin import languages, require_admin
from kiosk.dashboard.admin_forms import SiteForm
from kiosk.dashboard.routes import audit, bp, served_site, served_sites
from kiosk.db import get_session
from kiosk.models import KIOSK_FIELDS, Site
from kiosk.services.admin_sites import SiteError, SiteSettings, create_site, update_site

#: What a new site starts with.
NEW_SITE_DEFAULTS: dict[str, Any] = {
    "timezone": "Europe/Stockholm",
    "default_locale": "sv",
    "retention_days": 30,
    "authority_name": "Integritetsskyddsmyndigheten (IMY)",
    "authority_contact": "www.imy.se",
    "field_company": "optional",
    "field_host": "required",
    "field_purpose": "optional",
    "field_email": "hidden",
    "field_phone": "hidden",
}


@bp.route("/admin/sites")
@login_required  # type: ignore[untyped-decorator]
def admin_sites() -> str:
    """Every site, with links to its settings, notices and hosts."""
    require_admin()
    return render_template("dashboard/admin/sites.html", sites=served_sites())


@bp.route("/admin/sites/new", methods=["GET", "POST"])
@login_required  # type: ignore[untyped-decorator]
def admin_site_new() -> str | Response:
    """Create a site."""
    require_admin()
    form = SiteForm(data=NEW_SITE_DEFAULTS)
    if form.validate_on_submit():
        saved = _save(form, None)
        if saved is not None:
            return saved
    return render_template("dashboard/admin/site_form.html", form=form, site=None)


@bp.route("/admin/sites/<int:site_id>", methods=["GET", "POST"])
@login_required  # type: ignore[untyped-decorator]
def admin_site_edit(site_id: int) -> str | Response:
    """Change a site's settings."""
    require_admin()
    site = served_site(site_id)
    form = SiteForm(obj=site, **_welcome_data(site))
    if form.validate_on_submit():
        saved = _save(form, site)
        if saved is not None:
            return saved
    return render_template("dashboard/admin/site_form.html", form=form, site=site)


def _save(form: SiteForm, site: Site | None) -> Response | None:
    """Create (``site`` None) or update a site from a valid form; None when refused."""
    db_session = get_session()
    try:
        if site is None:
            site = create_site(db_session, _settings(form), languages=languages(), now=now())
            action = "create_site"
        else:
            update_site(db_session, site, _settings(form), languages=languages())
            action = "update_site"
        db_session.flush()
    except SiteError as exc:
        db_session.rollback()
        if exc.code == "name_taken":
            form.name.errors.append(_("Another site has this name already."))
        else:  # the form's own checks make this rare: a value the model refuses
            form[exc.field].errors.append(_("Please check this value."))
        return None
    audit(action, "site", site.id)
    db_session.commit()
    if action == "create_site":
        flash(_("The site is created. Next, write its privacy notice."))
        return redirect(url_for(".admin_notices", site_id=site.id))
    flash(_("The settings of %(site)s are saved.", site=site.name))
    return redirect(url_for(".admin_sites"))


def _welcome_data(site: Site) -> dict[str, str]:
    lines = site.welcome_text or {}
    return {f"welcome_{code}": lines.get(code, "") for code in languages()}


def _settings(form: SiteForm) -> SiteSettings:
    return SiteSettings(
        name=form.name.data or "",
        timezone=form.timezone.data or "",
        default_locale=form.default_locale.data or "",
        retention_days=int(form.retention_days.data),
        controller_name=form.controller_name.data or "",
        controller_contact=form.controller_contact.data or "",
        authority_name=form.authority_name.data or "",
        dpo_contact=form.dpo_contact.data or None,
        authority_contact=form.authority_contact.data or None,
        end_of_day=form.end_of_day.data,
        webhook_url=form.webhook_url.data or None,
        field_modes={name: form[f"field_{name}"].data for name in KIOSK_FIELDS},
        welcome_text={
            field.name.removeprefix("welcome_"): field.data or "" for field in form.welcome_fields()
        },
    )
