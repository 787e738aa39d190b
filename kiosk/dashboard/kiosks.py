"""Dashboard: kiosk devices. Admins create them, get a one-time pairing code, choose how
each kiosk prints badges and whether it shows its own on-screen keyboard; staff of a site can
see its kiosks, issue a new code and revoke a kiosk."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.badges.settings import configure_kiosk_printing
from kiosk.clock import now
from kiosk.dashboard.access import admin_required, audit, current_staff, served_or_404
from kiosk.dashboard.blueprint import bp
from kiosk.dashboard.forms import (
    KioskDeviceForm,
    KioskKeyboardForm,
    KioskPrintingForm,
    print_backend_choices,
)
from kiosk.db import get_session
from kiosk.forms import ButtonForm
from kiosk.models import KioskDevice
from kiosk.services.kiosks import (
    KioskError,
    create_device,
    devices_of_sites,
    format_pairing_code,
    issue_pairing_code,
    revoke_device,
    set_on_screen_keyboard,
)
from kiosk.services.sites import sites_served_by


@bp.route("/kiosks", methods=["GET", "POST"])
def kiosks() -> str:
    """The kiosks of the user's sites; admins can add one."""
    db_session = get_session()
    user = current_staff()
    sites = sites_served_by(db_session, user)
    form = KioskDeviceForm()
    form.site.choices = [(site.id, site.name) for site in sites]
    new_code: tuple[KioskDevice, str] | None = None
    if request.method == "POST":
        if not user.is_admin:
            abort(403)
        if form.validate_on_submit():
            site = next(site for site in sites if site.id == form.site.data)
            try:
                device, code = create_device(db_session, site, form.name.data or "", now=now())
                db_session.flush()
            except KioskError:
                db_session.rollback()
                form.name.errors.append(_("This site already has a kiosk with that name."))
            else:
                audit("create_kiosk", "kiosk_device", device.id)
                db_session.commit()
                new_code = (device, code)
                form = KioskDeviceForm(formdata=None)
                form.site.choices = [(site.id, site.name) for site in sites]
    return render_template(
        "dashboard/kiosks.html",
        devices=devices_of_sites(db_session, [site.id for site in sites]),
        form=form,
        button=ButtonForm(),
        new_code=new_code,
        format_code=format_pairing_code,
        backend_labels=dict(print_backend_choices()),
        now=now(),
    )


@bp.route("/kiosks/<int:device_id>/code", methods=["POST"])
def kiosk_code(device_id: int) -> str | Response:
    """A new one-time pairing code, to pair a replaced or reset browser."""
    device = served_or_404(KioskDevice, device_id)
    if not ButtonForm().validate_on_submit():
        return redirect(url_for(".kiosks"))
    code = issue_pairing_code(device, now=now())
    audit("new_kiosk_code", "kiosk_device", device.id)
    get_session().commit()
    return render_template(
        "dashboard/kiosk_code.html", device=device, code=format_pairing_code(code)
    )


@bp.route("/kiosks/<int:device_id>/revoke", methods=["POST"])
def kiosk_revoke(device_id: int) -> Response:
    """Stop a kiosk at once: its browser sees "not a registered kiosk" on the next tap."""
    device = served_or_404(KioskDevice, device_id)
    if ButtonForm().validate_on_submit():
        revoke_device(device, now=now())
        audit("revoke_kiosk", "kiosk_device", device.id)
        get_session().commit()
    return redirect(url_for(".kiosks"))


#: The printing form's choice for "no setting of its own".
FOLLOW_SITE = "site"


@bp.route("/kiosks/<int:device_id>/printing", methods=["GET", "POST"])
@admin_required
def kiosk_printing(device_id: int) -> str | Response:
    """Choose how one kiosk's badges are printed, e.g. on the label printer beside it."""
    device = served_or_404(KioskDevice, device_id)
    site_choice = dict(print_backend_choices())[device.site.print_backend]
    form = KioskPrintingForm(
        data={
            "print_backend": device.print_backend or FOLLOW_SITE,
            "cups_printer": device.cups_printer or "",
            "ql_printer": device.ql_printer or "",
        },
        site_preset=device.site.badge_preset,
    )
    form.print_backend.choices = [
        (FOLLOW_SITE, _("As the site decides (now: %(setting)s)", setting=site_choice)),
        *print_backend_choices(),
    ]
    if form.validate_on_submit():
        chosen = form.print_backend.data
        configure_kiosk_printing(
            device,
            backend=None if chosen == FOLLOW_SITE else chosen,
            printer=form.cups_printer.data or "",
            ql_printer=form.ql_printer.data or "",
        )
        audit("configure_kiosk_printing", "kiosk_device", device.id)
        get_session().commit()
        flash(_("The print settings of the kiosk “%(kiosk)s” were saved.", kiosk=device.name))
        return redirect(url_for(".kiosks"))
    return render_template("dashboard/kiosk_printing.html", form=form, device=device)


@bp.route("/kiosks/<int:device_id>/keyboard", methods=["GET", "POST"])
@admin_required
def kiosk_keyboard(device_id: int) -> str | Response:
    """Turn one kiosk's on-screen keyboard on (a touchscreen) or off (a hardware keyboard)."""
    device = served_or_404(KioskDevice, device_id)
    form = KioskKeyboardForm(data={"keyboard": "on" if device.on_screen_keyboard else "off"})
    if form.validate_on_submit():
        set_on_screen_keyboard(device, on=form.keyboard.data == "on")
        audit("configure_kiosk_keyboard", "kiosk_device", device.id)
        get_session().commit()
        flash(_("The keyboard setting of the kiosk “%(kiosk)s” was saved.", kiosk=device.name))
        return redirect(url_for(".kiosks"))
    return render_template("dashboard/kiosk_keyboard.html", form=form, device=device)
