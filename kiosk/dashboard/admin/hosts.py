"""Dashboard admin: hosts, and importing them from CSV. Reception users manage the hosts of
their own sites; admins those of every site."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.dashboard.access import audit, served_or_404, served_site, served_sites
from kiosk.dashboard.admin.forms import HostForm, HostImportForm
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.forms import ButtonForm, accepts_files, parse_id
from kiosk.i18n import language_choices, shipped_languages
from kiosk.models import Host, Site
from kiosk.services.hosts import (
    ACTIVE_NO,
    ACTIVE_YES,
    IMPORT_MAX_ROWS,
    HostDetails,
    HostError,
    ImportProblem,
    create_host,
    hosts_of_site,
    import_hosts_csv,
    update_host,
)


def _site_from_query() -> Site | None:
    """The site named by ?site=, which the user must serve; else their first site."""
    if "site" in request.args:
        return served_site(parse_id(request.args["site"]))  # not an id: 404
    sites = served_sites()
    return sites[0] if sites else None


@bp.route("/admin/hosts")
def admin_hosts() -> str:
    """The hosts of one of the user's sites."""
    site = _site_from_query()
    hosts = hosts_of_site(get_session(), site) if site else []
    if site is not None:
        # Host names and emails are personal data (of staff): viewing them is audited.
        audit("view_hosts", "site", site.id)
        get_session().commit()
    return render_template(
        "dashboard/admin/hosts.html",
        site=site,
        sites=served_sites(),
        hosts=hosts,
        button=ButtonForm(),
        language_names=dict(language_choices(current_app)),
    )


@bp.route("/admin/hosts/new", methods=["GET", "POST"])
def admin_host_new() -> str | Response:
    """Add a host to one of the user's sites."""
    chosen = _site_from_query()
    form = HostForm(data={"site": chosen.id if chosen else None, "active": True})
    form.site.choices = [(site.id, site.name) for site in served_sites()]
    if form.validate_on_submit():
        saved = _save(form, served_site(form.site.data), None)
        if saved is not None:
            return saved
    return render_template("dashboard/admin/host_form.html", form=form, host=None)


@bp.route("/admin/hosts/<int:host_id>", methods=["GET", "POST"])
def admin_host_edit(host_id: int) -> str | Response:
    """Change a host's name, email, language or whether the kiosk offers them."""
    host = served_or_404(Host, host_id)
    form = HostForm(
        data={
            "name": host.name,
            "email": host.email,
            "language": host.locale or "",
            "active": host.active,
        }
    )
    # A host stays at their site; the field only shows which one.
    form.site.choices = [(host.site_id, host.site.name)]
    form.site.data = host.site_id
    if form.validate_on_submit():
        saved = _save(form, host.site, host)
        if saved is not None:
            return saved
    return render_template("dashboard/admin/host_form.html", form=form, host=host)


def _save(form: HostForm, site: Site, host: Host | None) -> Response | None:
    """Create (``host`` None) or update a host from a valid form; None when refused."""
    db_session = get_session()
    details = HostDetails(
        name=form.name.data or "",
        email=form.email.data or "",
        locale=form.language.data or None,
        active=bool(form.active.data),
    )
    try:
        if host is None:
            host = create_host(db_session, site, details, languages=shipped_languages())
            action = "create_host"
        else:
            update_host(db_session, host, details, languages=shipped_languages())
            action = "update_host"
        db_session.flush()
    except HostError as exc:
        db_session.rollback()
        if exc.code == "email_taken":
            form.email.errors.append(_("This site has a host with this email already."))
        else:
            form[exc.field].errors.append(_("Please check this value."))
        return None
    audit(action, "host", host.id)
    db_session.commit()
    flash(_("The host is saved."))
    return redirect(url_for(".admin_hosts", site=site.id))


@bp.route("/admin/hosts/<int:host_id>/deactivate", methods=["POST"])
def admin_host_deactivate(host_id: int) -> Response:
    """Stop offering a host at the kiosk; their past visits keep naming them."""
    return _set_active(host_id, active=False)


@bp.route("/admin/hosts/<int:host_id>/reactivate", methods=["POST"])
def admin_host_reactivate(host_id: int) -> Response:
    """Offer a host at the kiosk again."""
    return _set_active(host_id, active=True)


def _set_active(host_id: int, *, active: bool) -> Response:
    host = served_or_404(Host, host_id)
    if ButtonForm().validate_on_submit() and host.active != active:
        host.active = active
        audit("reactivate_host" if active else "deactivate_host", "host", host.id)
        get_session().commit()
    return redirect(url_for(".admin_hosts", site=host.site_id))


@bp.route("/admin/hosts/import", methods=["GET", "POST"])
@accepts_files("file")
def admin_hosts_import() -> str:
    """Create and update hosts from a CSV file; nothing changes unless every row is good."""
    chosen = _site_from_query()
    form = HostImportForm(data={"site": chosen.id if chosen else None})
    form.site.choices = [(site.id, site.name) for site in served_sites()]
    report = None
    site = None
    if form.validate_on_submit():
        site = served_site(form.site.data)
        # MAX_CONTENT_LENGTH bounds the request; a larger body never gets here (413 page).
        data = form.file.data.read()
        db_session = get_session()
        report = import_hosts_csv(db_session, site, data, languages=shipped_languages())
        if report.applied:
            db_session.flush()
            audit("import_hosts", "site", site.id)
            for host in report.created:
                audit("create_host", "host", host.id)
            for host in report.updated:
                audit("update_host", "host", host.id)
            db_session.commit()
        else:
            db_session.rollback()
    return render_template(
        "dashboard/admin/hosts_import.html",
        form=form,
        site=site,
        report=report,
        problems=[(p.line, _problem(p)) for p in report.problems] if report else [],
        max_rows=IMPORT_MAX_ROWS,
        yes_words=", ".join(sorted(ACTIVE_YES)),
        no_words=", ".join(sorted(ACTIVE_NO)),
        language_codes=", ".join(shipped_languages()),
    )


def _problem(problem: ImportProblem) -> str:
    """An import problem in the reader's language."""
    detail = problem.detail
    messages = {
        "not_text": _("This is not a text file. Please upload a CSV file."),
        "not_utf8": _(
            "The file is not in UTF-8. In your spreadsheet, save it as “CSV UTF-8” and try again."
        ),
        "empty": _("The file has no hosts in it."),
        "csv_syntax": _("The file is not valid CSV (check the quotation marks)."),
        "too_many_rows": _("The file has more than %(max)s rows.", max=detail),
        "unknown_columns": _(
            "Unknown columns: %(columns)s. The columns are name, email, language and active.",
            columns=detail,
        ),
        "repeated_columns": _("Columns named more than once: %(columns)s.", columns=detail),
        "missing_columns": _(
            "The first row must name the columns; missing: %(columns)s.", columns=detail
        ),
        "too_many_values": _("This row has more values than there are columns."),
        "name_missing": _("The name is missing."),
        "name_too_long": _("The name is longer than 200 characters."),
        "name_invalid": _("The name contains control characters."),
        "email_missing": _("The email is missing."),
        "email_too_long": _("The email is longer than 254 characters."),
        "email_invalid": _("The email address is not valid."),
        "email_repeated": _("The same email is on line %(line)s already.", line=detail),
        "language_unknown": _(
            "Unknown language “%(language)s”; use one of %(languages)s, or leave it empty.",
            language=detail,
            languages=", ".join(shipped_languages()),
        ),
        "active_invalid": _(
            "“%(value)s” is not yes or no; leave it empty to keep it as it is.", value=detail
        ),
    }
    message: str = messages.get(problem.code) or _("Please check this row.")
    return message
