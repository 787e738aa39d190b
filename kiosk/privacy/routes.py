"""The public privacy notice: the same text as the kiosk shows, for the visitor's phone."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, render_template
from flask_babel import refresh

from kiosk.db import get_session
from kiosk.models import Site
from kiosk.services.notices import current_notice, render_notice

bp = Blueprint("privacy", __name__)


@bp.route("/privacy/<int:site_id>/<locale>")
def notice(site_id: int, locale: str) -> str:
    """A site's current notice in one language (the site's own language when not published)."""
    site = get_session().get(Site, site_id)
    if site is None or locale not in current_app.config["LANGUAGES"]:
        abort(404)
    g.page_locale = locale
    refresh()
    shown = current_notice(get_session(), site, locale)
    return render_template(
        "privacy/notice.html",
        site=site,
        notice=shown,
        notice_text=render_notice(shown, site) if shown else None,
    )
