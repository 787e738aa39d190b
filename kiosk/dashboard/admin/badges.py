"""Admin: a site's badge and print settings (format, colour, logo, how badges are printed)."""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Regexp

from kiosk.app_headers import pdf_response
from kiosk.badges.content import sample_badge, site_preset
from kiosk.badges.presets import PRESETS
from kiosk.badges.settings import BadgeSettingsError, configure_badges
from kiosk.clock import now
from kiosk.dashboard.access import admin_required, audit, served_site
from kiosk.dashboard.blueprint import bp
from kiosk.dashboard.forms import check_cups_printer, check_ql_printer, print_backend_choices
from kiosk.db import get_session
from kiosk.forms import accepts_files


class BadgeSettingsForm(FlaskForm):  # type: ignore[misc]
    """A site's badge settings."""

    preset = SelectField(_l("Badge format"))
    band_colour = StringField(
        _l("Colour of the VISITOR band"),
        validators=[Regexp(r"^#[0-9A-Fa-f]{6}$", message=_l("Use a colour like #0B5CAD."))],
    )
    logo = FileField(_l("Logo (PNG or JPEG, optional)"))
    remove_logo = BooleanField(_l("Remove the logo"))
    print_backend = SelectField(_l("How badges are printed"))
    cups_printer = StringField(_l("CUPS printer name"), validators=[Length(max=127)])
    ql_printer = StringField(
        _l("Brother QL printer address"),
        description=_l("A host name or IP address, optionally with :port (default 9100)."),
        validators=[Length(max=127)],
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.preset.choices = [(name, name) for name in PRESETS]
        self.print_backend.choices = print_backend_choices()

    def validate_cups_printer(self, field: StringField) -> None:
        check_cups_printer(self.print_backend.data, field.data)

    def validate_ql_printer(self, field: StringField) -> None:
        check_ql_printer(self.print_backend.data, (field.data or "").strip(), self.preset.data)


@bp.route("/admin/sites/<int:site_id>/badges", methods=["GET", "POST"])
@admin_required
@accepts_files("logo")
def admin_site_badges(site_id: int) -> str | Response:
    """Change how a site's badges look and how they are printed."""
    site = served_site(site_id)
    form = BadgeSettingsForm(
        data={
            "preset": site.badge_preset,
            "band_colour": site.badge_band_colour,
            "print_backend": site.print_backend,
            "cups_printer": site.cups_printer or "",
            "ql_printer": site.ql_printer or "",
        }
    )
    if form.validate_on_submit():
        upload = form.logo.data
        logo = upload.read() if upload and getattr(upload, "filename", "") else None
        try:
            configure_badges(
                site,
                preset=form.preset.data,
                band_colour=form.band_colour.data,
                logo=logo,
                remove_logo=bool(form.remove_logo.data),
                backend=form.print_backend.data,
                printer=form.cups_printer.data or "",
                ql_printer=form.ql_printer.data or "",
            )
        except BadgeSettingsError:
            get_session().rollback()
            form.logo.errors.append(_("The logo must be a PNG or JPEG picture of at most 2 MB."))
        else:
            audit("configure_badges", "site", site.id)
            get_session().commit()
            flash(_("The badge settings of %(site)s were saved.", site=site.name))
            return redirect(url_for(".admin_site_badges", site_id=site.id))
    return render_template("dashboard/admin/site_badges.html", form=form, site=site)


@bp.route("/admin/sites/<int:site_id>/badges/sample.pdf")
@admin_required
def admin_site_badge_sample(site_id: int) -> FlaskResponse:
    """A badge with made-up details in the site's current settings, to check them."""
    site = served_site(site_id)
    pdf, _token = sample_badge(
        site, preset=site_preset(site), locale=site.default_locale, now=now()
    )
    return pdf_response(pdf, f"sample-badge-{site.id}.pdf")
