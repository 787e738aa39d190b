"""Dashboard admin: staff users, their roles and sites, deactivation, password resets."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.dashboard.access import admin_required, audit, served_sites
from kiosk.dashboard.admin.forms import PasswordResetForm, StaffCreateForm, StaffEditForm
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.forms import ButtonForm
from kiosk.models import StaffUser
from kiosk.services.staff import StaffError, create_staff_user, find_staff_user, set_password
from kiosk.services.staff_admin import (
    LastAdminError,
    set_staff_active,
    staff_users,
    update_staff_user,
)


def _user(user_id: int) -> StaffUser:
    user = get_session().get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


def _site_choices() -> list[tuple[int, str]]:
    return [(site.id, site.name) for site in served_sites()]


@bp.route("/admin/staff")
@admin_required
def admin_staff() -> str:
    """Every staff user with role, sites and status."""
    return render_template(
        "dashboard/admin/staff.html", users=staff_users(get_session()), button=ButtonForm()
    )


@bp.route("/admin/staff/new", methods=["GET", "POST"])
@admin_required
def admin_staff_new() -> str | Response:
    """Create a staff user with an initial password."""
    form = StaffCreateForm()
    form.sites.choices = _site_choices()
    if form.validate_on_submit():
        db_session = get_session()
        if find_staff_user(db_session, form.username.data or "") is not None:
            form.username.errors.append(_("This username is taken."))
        else:
            names = [name for site_id, name in form.sites.choices if site_id in form.sites.data]
            try:
                user = create_staff_user(
                    db_session,
                    username=form.username.data or "",
                    password=form.password.data or "",
                    role=form.role.data,
                    site_names=names,
                    now=now(),
                )
                db_session.flush()
            except StaffError:
                db_session.rollback()
                form.form_errors.append(_("The user could not be created. Please check the form."))
            else:
                audit("create_staff", "staff_user", user.id)
                db_session.commit()
                flash(_("The user %(username)s is created.", username=user.username))
                return redirect(url_for(".admin_staff"))
    return render_template("dashboard/admin/staff_form.html", form=form, user=None)


@bp.route("/admin/staff/<int:user_id>", methods=["GET", "POST"])
@admin_required
def admin_staff_edit(user_id: int) -> str | Response:
    """Change a user's role and sites."""
    user = _user(user_id)
    form = StaffEditForm(data={"role": user.role, "sites": [site.id for site in user.sites]})
    form.sites.choices = _site_choices()
    if form.validate_on_submit():
        db_session = get_session()
        sites = [site for site in served_sites() if site.id in form.sites.data]
        try:
            update_staff_user(db_session, user, role=form.role.data, sites=sites)
        except LastAdminError:
            db_session.rollback()
            form.role.errors.append(
                _("This is the last active admin: make someone else an admin first.")
            )
        else:
            audit("update_staff", "staff_user", user.id)
            db_session.commit()
            flash(_("The user %(username)s is saved.", username=user.username))
            return redirect(url_for(".admin_staff"))
    return render_template("dashboard/admin/staff_form.html", form=form, user=user)


@bp.route("/admin/staff/<int:user_id>/deactivate", methods=["POST"])
@admin_required
def admin_staff_deactivate(user_id: int) -> Response:
    """Deactivate a user: they cannot log in, and their open sessions end."""
    return _set_active(user_id, active=False)


@bp.route("/admin/staff/<int:user_id>/reactivate", methods=["POST"])
@admin_required
def admin_staff_reactivate(user_id: int) -> Response:
    """Let a deactivated user log in again."""
    return _set_active(user_id, active=True)


def _set_active(user_id: int, *, active: bool) -> Response:
    user = _user(user_id)
    if ButtonForm().validate_on_submit() and user.active != active:
        db_session = get_session()
        try:
            set_staff_active(db_session, user, active)
        except LastAdminError:
            db_session.rollback()
            flash(_("This is the last active admin: make someone else an admin first."))
        else:
            audit("reactivate_staff" if active else "deactivate_staff", "staff_user", user.id)
            db_session.commit()
    return redirect(url_for(".admin_staff"))


@bp.route("/admin/staff/<int:user_id>/password", methods=["GET", "POST"])
@admin_required
def admin_staff_password(user_id: int) -> str | Response:
    """Set a new password for a user who forgot theirs."""
    user = _user(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        set_password(user, form.password.data or "")
        audit("reset_password", "staff_user", user.id)
        get_session().commit()
        flash(_("The password of %(username)s is changed.", username=user.username))
        return redirect(url_for(".admin_staff"))
    return render_template("dashboard/admin/staff_password.html", form=form, user=user)
