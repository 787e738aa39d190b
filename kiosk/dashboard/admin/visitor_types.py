"""Dashboard admin: a site's visitor types (admins only): names and badge labels per
language, what the kiosk asks each type, whether the host is told, how long visits are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.config import LANGUAGES
from kiosk.dashboard.access import admin_required, audit, served_or_404, served_site
from kiosk.dashboard.admin.forms import FIELD_LABELS, VisitorTypeForm
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.forms import ButtonForm
from kiosk.i18n import current_locale, shipped_languages
from kiosk.models import KIOSK_FIELDS, Site
from kiosk.models import VisitorType as VisitorTypeModel
from kiosk.privacy.shredding import reseal_site_after_shortening
from kiosk.services.documents import set_type_documents, site_documents
from kiosk.services.visitor_types import (
    BUILT_IN,
    VisitorTypeError,
    VisitorTypeSettings,
    band_colour,
    band_label,
    create_type,
    move_type,
    restore_type,
    retire_type,
    type_name,
    update_type,
)


def _form_data(visitor_type: VisitorTypeModel) -> dict[str, Any]:
    data: dict[str, Any] = {
        "band_colour": visitor_type.band_colour or "",
        "notify_host": visitor_type.notify_host,
        "retention_days": visitor_type.retention_days,
        "documents": [item.id for item in visitor_type.documents],
    }
    for name in KIOSK_FIELDS:
        data[f"field_{name}"] = getattr(visitor_type, f"field_{name}") or ""
    for code in LANGUAGES:
        data[f"name_{code}"] = (visitor_type.names or {}).get(code, "")
        data[f"band_label_{code}"] = (visitor_type.band_labels or {}).get(code, "")
    return data


def _settings(form: VisitorTypeForm) -> VisitorTypeSettings:
    return VisitorTypeSettings(
        names={
            field.name.removeprefix("name_"): field.data or ""
            for field in form.language_fields("name")
        },
        band_labels={
            field.name.removeprefix("band_label_"): field.data or ""
            for field in form.language_fields("band_label")
        },
        band_colour=form.band_colour.data or None,
        field_modes={name: form[f"field_{name}"].data or None for name in KIOSK_FIELDS},
        notify_host=bool(form.notify_host.data),
        retention_days=form.retention_days.data,
    )


@bp.route("/admin/sites/<int:site_id>/types")
@admin_required
def admin_visitor_types(site_id: int) -> str:
    """A site's visitor types, in the kiosk's order, retired ones last."""
    site = served_site(site_id)
    locale = current_locale()
    rows = [
        TypeRow(
            visitor_type=visitor_type,
            name=type_name(visitor_type, locale),
            band=band_label(visitor_type, locale),
            colour=band_colour(visitor_type, site),
            asked=", ".join(
                str(FIELD_LABELS[field]) + ("*" if mode == "required" else "")
                for field in KIOSK_FIELDS
                if (mode := visitor_type.field_mode(field)) != "hidden"
            ),
        )
        for visitor_type in site.visitor_types
    ]
    return render_template(
        "dashboard/admin/visitor_types.html", site=site, rows=rows, button=ButtonForm()
    )


@dataclass(frozen=True)
class TypeRow:
    """One line of the types list, in the reader's language."""

    visitor_type: VisitorTypeModel
    name: str
    band: str
    colour: str
    #: The fields the kiosk asks, required ones marked with *.
    asked: str


@bp.route("/admin/sites/<int:site_id>/types/new", methods=["GET", "POST"])
@admin_required
def admin_visitor_type_new(site_id: int) -> str | Response:
    """Add a visitor type to a site."""
    site = served_site(site_id)
    form = VisitorTypeForm(site, data={"notify_host": True})
    if form.validate_on_submit():
        saved = _save(form, site, None)
        if saved is not None:
            return saved
    return render_template(
        "dashboard/admin/visitor_type_form.html",
        form=form,
        site=site,
        visitor_type=None,
        built_in=None,
    )


@bp.route("/admin/types/<int:type_id>", methods=["GET", "POST"])
@admin_required
def admin_visitor_type_edit(type_id: int) -> str | Response:
    """Change a visitor type."""
    visitor_type = served_or_404(VisitorTypeModel, type_id)
    form = VisitorTypeForm(visitor_type.site, data=_form_data(visitor_type))
    if form.validate_on_submit():
        saved = _save(form, visitor_type.site, visitor_type)
        if saved is not None:
            return saved
    built_in = BUILT_IN.get(visitor_type.key or "")
    return render_template(
        "dashboard/admin/visitor_type_form.html",
        form=form,
        site=visitor_type.site,
        visitor_type=visitor_type,
        built_in=built_in,
    )


def _save(
    form: VisitorTypeForm, site: Site, visitor_type: VisitorTypeModel | None
) -> Response | None:
    db_session = get_session()
    shortened = False
    try:
        if visitor_type is None:
            visitor_type = create_type(
                db_session, site, _settings(form), languages=shipped_languages(), now=now()
            )
            action = "create_visitor_type"
        else:
            kept_before = visitor_type.kept_days
            update_type(visitor_type, _settings(form), languages=shipped_languages())
            action = "update_visitor_type"
            shortened = visitor_type.kept_days < kept_before
        # Documents to sign (kiosk.services.documents): the site's, as ticked.
        set_type_documents(
            visitor_type,
            [
                item
                for item in site_documents(db_session, site)
                if item.id in (form.documents.data or [])
            ],
        )
        db_session.flush()
    except VisitorTypeError as exc:
        db_session.rollback()
        if exc.code == "name_required":
            form[exc.field].errors.append(_("Please give the type a name."))
        elif exc.code == "longer_than_site":
            form.retention_days.errors.append(
                _(
                    "At most as long as the site keeps visits (%(days)s days).",
                    days=site.retention_days,
                )
            )
        else:
            form[exc.field].errors.append(_("Please check this value."))
        return None
    audit(action, "visitor_type", visitor_type.id)
    db_session.commit()
    if shortened:
        # Kept less long: the copies of the database forget too (docs/erasure.md).
        reseal_site_after_shortening(db_session, site, now=now())
    flash(_("The visitor type is saved."))
    return redirect(url_for(".admin_visitor_types", site_id=site.id))


def _change(type_id: int, action: str) -> Response:
    """A button on the list: move, retire or restore a type."""
    visitor_type = served_or_404(VisitorTypeModel, type_id)
    if not ButtonForm().validate_on_submit():
        return redirect(url_for(".admin_visitor_types", site_id=visitor_type.site_id))
    try:
        if action == "move_up":
            move_type(visitor_type, -1)
        elif action == "move_down":
            move_type(visitor_type, 1)
        elif action == "retire":
            retire_type(visitor_type, now=now())
        else:
            restore_type(visitor_type)
    except VisitorTypeError:
        flash(_("A site keeps at least one visitor type."))
        return redirect(url_for(".admin_visitor_types", site_id=visitor_type.site_id))
    audit(f"{action}_visitor_type", "visitor_type", visitor_type.id)
    get_session().commit()
    if action in ("retire", "restore"):
        name = type_name(visitor_type, current_locale())
        if action == "retire":
            flash(_("%(type)s is no longer offered at the kiosk.", type=name))
        else:
            flash(_("%(type)s is offered at the kiosk again.", type=name))
    return redirect(url_for(".admin_visitor_types", site_id=visitor_type.site_id))


@bp.route("/admin/types/<int:type_id>/up", methods=["POST"])
@admin_required
def admin_visitor_type_up(type_id: int) -> Response:
    """Move a type one place up."""
    return _change(type_id, "move_up")


@bp.route("/admin/types/<int:type_id>/down", methods=["POST"])
@admin_required
def admin_visitor_type_down(type_id: int) -> Response:
    """Move a type one place down."""
    return _change(type_id, "move_down")


@bp.route("/admin/types/<int:type_id>/retire", methods=["POST"])
@admin_required
def admin_visitor_type_retire(type_id: int) -> Response:
    """Stop offering a type at the kiosk (its visits keep it)."""
    return _change(type_id, "retire")


@bp.route("/admin/types/<int:type_id>/restore", methods=["POST"])
@admin_required
def admin_visitor_type_restore(type_id: int) -> Response:
    """Offer a retired type again."""
    return _change(type_id, "restore")
