"""Dashboard admin: sites and all their settings (admins only)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.dashboard.access import admin_required, audit, served_site, served_sites
from kiosk.dashboard.admin.forms import SiteForm
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.i18n import language_choices, shipped_languages
from kiosk.models import KIOSK_FIELDS, Site
from kiosk.privacy.shredding import reseal_site_after_shortening
from kiosk.services.admin_sites import SiteError, SiteSettings, create_site, update_site
from kiosk.services.groups import DEFAULT_MAX_COMPANIONS
from kiosk.services.notices import languages_without_notice

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
    "max_companions": DEFAULT_MAX_COMPANIONS,
}


@bp.route("/admin/sites")
@admin_required
def admin_sites() -> str:
    """Every site, with links to its settings, notices and hosts."""
    sites = served_sites()
    names = dict(language_choices(current_app))
    # The languages whose visitors would read the full notice in another language.
    without_notice = {
        site.id: [
            names[code]
            for code in languages_without_notice(get_session(), site, shipped_languages())
        ]
        for site in sites
    }
    return render_template("dashboard/admin/sites.html", sites=sites, without_notice=without_notice)


@bp.route("/admin/sites/new", methods=["GET", "POST"])
@admin_required
def admin_site_new() -> str | Response:
    """Create a site."""
    form = SiteForm(data=NEW_SITE_DEFAULTS)
    if form.validate_on_submit():
        saved = _save(form, None)
        if saved is not None:
            return saved
    return render_template("dashboard/admin/site_form.html", form=form, site=None)


@bp.route("/admin/sites/<int:site_id>", methods=["GET", "POST"])
@admin_required
def admin_site_edit(site_id: int) -> str | Response:
    """Change a site's settings."""
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
    shortened = False
    try:
        if site is None:
            site = create_site(
                db_session, _settings(form), languages=shipped_languages(), now=now()
            )
            action = "create_site"
        else:
            kept_before = (site.retention_days, site.contact_days)
            update_site(db_session, site, _settings(form), languages=shipped_languages())
            action = "update_site"
            shortened = any(
                after < before
                for after, before in zip(
                    (site.retention_days, site.contact_days), kept_before, strict=True
                )
            )
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
    if shortened:
        # Kept less long: the copies of the database forget too (docs/erasure.md).
        reseal_site_after_shortening(db_session, site, now=now())
    if action == "create_site":
        flash(_("The site is created. Next, write its privacy notice."))
        return redirect(url_for(".admin_notices", site_id=site.id))
    flash(_("The settings of %(site)s are saved.", site=site.name))
    return redirect(url_for(".admin_sites"))


def _welcome_data(site: Site) -> dict[str, str]:
    lines = site.welcome_text or {}
    return {f"welcome_{code}": lines.get(code, "") for code in shipped_languages()}


def _settings(form: SiteForm) -> SiteSettings:
    return SiteSettings(
        name=form.name.data or "",
        timezone=form.timezone.data or "",
        default_locale=form.default_locale.data or "",
        retention_days=int(form.retention_days.data),
        contact_retention_days=form.contact_retention_days.data,
        controller_name=form.controller_name.data or "",
        controller_contact=form.controller_contact.data or "",
        authority_name=form.authority_name.data or "",
        dpo_contact=form.dpo_contact.data or None,
        authority_contact=form.authority_contact.data or None,
        end_of_day=form.end_of_day.data,
        max_companions=form.max_companions.data,
        webhook_url=form.webhook_url.data or None,
        field_modes={name: form[f"field_{name}"].data for name in KIOSK_FIELDS},
        welcome_text={
            field.name.removeprefix("welcome_"): field.data or "" for field in form.welcome_fields()
        },
    )
