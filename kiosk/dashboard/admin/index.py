"""The admin area's start page: what an admin can set up."""

from __future__ import annotations

from flask import render_template

from kiosk.dashboard.access import admin_required, served_sites
from kiosk.dashboard.blueprint import bp


@bp.route("/admin/")
@admin_required
def admin_index() -> str:
    """What an admin can set up: sites and their notices, hosts, staff, kiosks."""
    return render_template("dashboard/admin/index.html", sites=served_sites())
