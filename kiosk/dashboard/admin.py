"""Dashboard: the admin area's start page and the checks its pages share.

The pages live in the admin_* modules beside this one, on the dashboard blueprint under
/dashboard/admin/. Admin-only pages answer 403 to reception users; an object of a site the
user does not serve answers 404, as if it did not exist.
"""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_login import login_required

from kiosk.dashboard.routes import bp, current_staff, served_sites
from kiosk.models import StaffUser


def require_admin() -> StaffUser:
    """The current user, who must be an admin (else 403)."""
    user = current_staff()
    if not user.is_admin:
        abort(403)
    return user


def languages() -> list[str]:
    """The languages this installation ships."""
    shipped: list[str] = current_app.config["LANGUAGES"]
    return shipped


@bp.route("/admin/")
@login_required  # type: ignore[untyped-decorator]
def admin_index() -> str:
    """What an admin can set up: sites and their notices, hosts, staff, kiosks."""
    require_admin()
    return render_template("dashboard/admin/index.html", sites=served_sites())


from kiosk.dashboard import (  # noqa: E402, F401  (routes on this blueprint)
    admin_badges,
    admin_hosts,
    admin_notices,
    admin_sites,
    admin_staff,
)
