"""Dashboard admin: privacy notices per site and language, with drafts, preview and publishing.

The preview renders the kiosk's own notice template (registration/notice.html), in the
notice's language, so what the admin sees is what the visitor will see.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.dashboard.access import admin_required, audit, served_or_404, served_site
from kiosk.dashboard.admin.forms import SECTION_LABELS, SITE_ELEMENT_LABELS, NoticeDraftForm
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.forms import ButtonForm, NoticeForm
from kiosk.i18n import language_choices, shipped_languages
from kiosk.models import NoticeVersion, Site
from kiosk.services.first_layer import notice_gaps
from kiosk.services.notice_drafts import (
    SECTIONS,
    NoticeDraftError,
    NoticeIncomplete,
    discard_draft,
    find_draft,
    missing_elements,
    missing_site_elements,
    notice_versions,
    publish_draft,
    save_draft,
    start_draft,
)
from kiosk.services.notices import (
    PLACEHOLDERS,
    current_notice,
    languages_without_notice,
    render_notice,
)
from kiosk.services.qr import qr_svg


def _notice_of_admin(notice_id: int) -> tuple[NoticeVersion, Site]:
    notice = served_or_404(NoticeVersion, notice_id)
    return notice, served_site(notice.site_id)


@bp.route("/admin/sites/<int:site_id>/notices")
@admin_required
def admin_notices(site_id: int) -> str:
    """A site's notices: per language the one the kiosk shows, the draft, and the history."""
    site = served_site(site_id)
    db_session = get_session()
    versions = notice_versions(db_session, site)
    by_language = []
    for code, name in language_choices(current_app):
        current = current_notice(db_session, site, code)
        if current is not None and current.locale != code:
            current = None  # current_notice falls back to the site's language: not this one's
        by_language.append(
            {
                "code": code,
                "name": name,
                "current": current,
                # What the settings do now that the frozen text does not say (the first layer
                # says it: kiosk.services.first_layer).
                "gaps": notice_gaps(site, render_notice(current, site)) if current else [],
                "draft": find_draft(db_session, site, code),
                # Versions recorded from the generated first layer are not the site's notices.
                "versions": [v for v in versions if v.locale == code and not v.generated],
            }
        )
    return render_template(
        "dashboard/admin/notices.html",
        site=site,
        languages=by_language,
        button=ButtonForm(),
        missing_site=[_label(key) for key in missing_site_elements(site)],
        without_notice=[
            dict(language_choices(current_app))[code]
            for code in languages_without_notice(db_session, site, shipped_languages())
        ],
    )


@bp.route("/admin/sites/<int:site_id>/notices/<locale>/draft", methods=["POST"])
@admin_required
def admin_notice_draft(site_id: int, locale: str) -> Response:
    """Open the draft in a language: the existing one, or a new one from the newest version."""
    site = served_site(site_id)
    if locale not in shipped_languages():
        abort(404)
    if not ButtonForm().validate_on_submit():
        return redirect(url_for(".admin_notices", site_id=site.id))
    db_session = get_session()
    existing = find_draft(db_session, site, locale)
    try:
        draft = start_draft(db_session, site, locale)
        db_session.flush()
    except IntegrityError:
        # Another admin started the same draft at the same moment: use theirs.
        db_session.rollback()
        draft = start_draft(db_session, site, locale)
    if existing is None:
        audit("create_notice_draft", "notice_version", draft.id)
    db_session.commit()
    return redirect(url_for(".admin_notice_edit", notice_id=draft.id))


@bp.route("/admin/notices/<int:notice_id>", methods=["GET", "POST"])
@admin_required
def admin_notice_edit(notice_id: int) -> str | Response:
    """Edit a draft, one text per element; save it, or save and publish it."""
    notice, site = _notice_of_admin(notice_id)
    if notice.published_at is not None:
        # Published versions are frozen: show them instead.
        return redirect(url_for(".admin_notice_preview", notice_id=notice.id))
    form = NoticeDraftForm(data=notice.sections or {})
    if not form.validate_on_submit():
        return _edit_page(form, notice, site)
    db_session = get_session()
    try:
        save_draft(notice, site, {key: form[key].data for key in SECTIONS})
    except NoticeDraftError as exc:
        db_session.rollback()
        _show_draft_error(form, exc)
        return _edit_page(form, notice, site)
    audit("update_notice_draft", "notice_version", notice.id)
    db_session.commit()
    if form.publish.data:
        return _publish(form, notice, site)
    flash(_("The draft is saved."))
    return redirect(url_for(".admin_notice_edit", notice_id=notice.id))


@bp.route("/admin/notices/<int:notice_id>/publish", methods=["POST"])
@admin_required
def admin_notice_publish(notice_id: int) -> str | Response:
    """Publish a draft as it is (from the preview)."""
    notice, site = _notice_of_admin(notice_id)
    if notice.published_at is not None or not ButtonForm().validate_on_submit():
        return redirect(url_for(".admin_notices", site_id=site.id))
    return _publish(NoticeDraftForm(formdata=None, data=notice.sections or {}), notice, site)


def _publish(form: NoticeDraftForm, notice: NoticeVersion, site: Site) -> str | Response:
    db_session = get_session()
    try:
        publish_draft(db_session, notice, site, now=now())
        db_session.flush()
    except NoticeIncomplete as exc:
        db_session.rollback()
        _show_missing(form, exc.missing)
        return _edit_page(form, notice, site)
    except NoticeDraftError as exc:
        db_session.rollback()
        _show_draft_error(form, exc)
        return _edit_page(form, notice, site)
    audit("publish_notice", "notice_version", notice.id)
    db_session.commit()
    flash(
        _(
            "Version %(version)d is published: the kiosk shows it from now on.",
            version=notice.version,
        )
    )
    return redirect(url_for(".admin_notices", site_id=site.id))


@bp.route("/admin/notices/<int:notice_id>/discard", methods=["POST"])
@admin_required
def admin_notice_discard(notice_id: int) -> Response:
    """Throw a draft away."""
    notice, site = _notice_of_admin(notice_id)
    if notice.published_at is None and ButtonForm().validate_on_submit():
        audit("discard_notice_draft", "notice_version", notice.id)
        discard_draft(get_session(), notice)
        get_session().commit()
        flash(_("The draft is discarded."))
    return redirect(url_for(".admin_notices", site_id=site.id))


@bp.route("/admin/notices/<int:notice_id>/preview")
@admin_required
def admin_notice_preview(notice_id: int) -> str:
    """The notice exactly as the kiosk shows it, in its language, with a banner on top."""
    notice, site = _notice_of_admin(notice_id)
    missing = missing_elements(site, notice.sections) if notice.sections is not None else []
    # The banner speaks the admin's language; the page below it the visitor's.
    banner = render_template(
        "dashboard/admin/_preview_banner.html",
        site=site,
        notice=notice,
        language=dict(language_choices(current_app)).get(notice.locale, notice.locale),
        missing=[_label(key) for key in missing],
        button=ButtonForm(),
    )
    base = current_app.config["PUBLIC_URL"] or request.host_url
    public_url = base.rstrip("/") + url_for("privacy.notice", site_id=site.id, locale=notice.locale)
    with force_locale(notice.locale):
        return render_template(
            "dashboard/admin/notice_preview.html",
            banner=Markup(banner),  # noqa: S704 - our own rendered, autoescaped template
            site=site,
            form=NoticeForm(formdata=None),
            notice=notice,
            notice_text=render_notice(notice, site),
            public_url=public_url,
            public_qr=qr_svg(public_url),
        )


def _edit_page(form: NoticeDraftForm, notice: NoticeVersion, site: Site) -> str:
    published = current_notice(get_session(), site, notice.locale)
    return render_template(
        "dashboard/admin/notice_form.html",
        form=form,
        notice=notice,
        site=site,
        sections=SECTIONS,
        placeholders=PLACEHOLDERS,
        language=dict(language_choices(current_app)).get(notice.locale, notice.locale),
        # A version written whole, before the editor, to copy from.
        legacy=published if published and published.sections is None else None,
        button=ButtonForm(),
    )


def _label(key: str) -> str:
    return str(SECTION_LABELS.get(key) or SITE_ELEMENT_LABELS[key])


def _show_missing(form: NoticeDraftForm, missing: list[str]) -> None:
    form.form_errors.append(
        _(
            "The notice cannot be published yet. Missing: %(elements)s.",
            elements="; ".join(_label(key) for key in missing),
        )
    )
    for key in missing:
        if key in SECTIONS:
            form[key].errors = [_("Required before the notice can be published.")]


def _show_draft_error(form: NoticeDraftForm, error: NoticeDraftError) -> None:
    if error.code == "unknown_placeholder" and error.section:
        form[error.section].errors = [
            _(
                "%(placeholder)s is not a placeholder. You can use: %(placeholders)s.",
                placeholder=error.detail,
                placeholders=", ".join(f"{{{name}}}" for name in PLACEHOLDERS),
            )
        ]
    elif error.section:
        form[error.section].errors = [_("Please shorten this text.")]
    else:
        form.form_errors.append(_("This version is published and can no longer be changed."))
