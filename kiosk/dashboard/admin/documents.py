"""Dashboard admin: a site's documents to sign (admins only): settings, texts per language as
drafts with a preview, publishing (a published version is frozen), retiring."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.dashboard.access import admin_required, audit, served_or_404, served_site
from kiosk.dashboard.admin.document_forms import (
    ACCEPTANCE_NAMES,
    KIND_NAMES,
    DocumentDraftForm,
    DocumentForm,
)
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.forms import ButtonForm, is_plain_text
from kiosk.i18n import current_locale, language_choices
from kiosk.models import Document, DocumentVersion, Site
from kiosk.services.documents import (
    DocumentError,
    DocumentSettings,
    count_signed,
    create_document,
    current_version,
    discard_draft,
    document_versions,
    fill_placeholders,
    find_draft,
    placeholder_values,
    publish_draft,
    restore_document,
    retire_document,
    save_draft,
    site_documents,
    start_draft,
    unknown_placeholders,
    update_document,
)


def _languages() -> dict[str, str]:
    return dict(language_choices(current_app))


@bp.route("/admin/sites/<int:site_id>/documents")
@admin_required
def admin_documents(site_id: int) -> str:
    """A site's documents to sign, with their languages and signed copies kept."""
    site = served_site(site_id)
    db_session = get_session()
    documents = site_documents(db_session, site)
    published = {
        document.id: sorted(
            {item.locale for item in document_versions(db_session, document) if item.published_at}
        )
        for document in documents
    }
    return render_template(
        "dashboard/admin/documents.html",
        site=site,
        documents=documents,
        published=published,
        signed={document.id: count_signed(db_session, document) for document in documents},
        kinds=KIND_NAMES,
        acceptances=ACCEPTANCE_NAMES,
        languages=_languages(),
        button=ButtonForm(),
    )


def _settings(form: DocumentForm) -> DocumentSettings:
    return DocumentSettings(
        title=form.title.data or "",
        kind=form.kind.data,
        acceptance=form.acceptance.data,
        retention_days=int(form.retention_days.data),
        valid_days=form.valid_days.data,
    )


def _save(form: DocumentForm, site: Site, document: Document | None) -> Response | None:
    db_session = get_session()
    try:
        if document is None:
            document = create_document(db_session, site, _settings(form), now=now())
            action = "create_document"
        else:
            update_document(document, _settings(form))
            action = "update_document"
        db_session.flush()
    except DocumentError as exc:
        db_session.rollback()
        form[exc.field].errors.append(_("Please check this value."))
        return None
    audit(action, "document", document.id)
    db_session.commit()
    flash(_("The document is saved."))
    return redirect(url_for(".admin_document", document_id=document.id))


@bp.route("/admin/sites/<int:site_id>/documents/new", methods=["GET", "POST"])
@admin_required
def admin_document_new(site_id: int) -> str | Response:
    """Add a document to sign to a site."""
    site = served_site(site_id)
    form = DocumentForm(data={"kind": "safety", "acceptance": "signature", "retention_days": 365})
    if form.validate_on_submit():
        saved = _save(form, site, None)
        if saved is not None:
            return saved
    return render_template(
        "dashboard/admin/document_form.html", form=form, site=site, document=None
    )


@bp.route("/admin/documents/<int:document_id>", methods=["GET", "POST"])
@admin_required
def admin_document(document_id: int) -> str | Response:
    """A document's settings and its versions per language."""
    document = served_or_404(Document, document_id)
    form = DocumentForm(
        data={
            "title": document.title,
            "kind": document.kind,
            "acceptance": document.acceptance,
            "retention_days": document.retention_days,
            "valid_days": document.valid_days,
        }
    )
    if form.validate_on_submit():
        saved = _save(form, document.site, document)
        if saved is not None:
            return saved
    db_session = get_session()
    return render_template(
        "dashboard/admin/document_form.html",
        form=form,
        site=document.site,
        document=document,
        versions=document_versions(db_session, document),
        current={code: current_version(db_session, document, code) for code in _languages()},
        languages=_languages(),
        button=ButtonForm(),
    )


def _locale_or_404(locale: str) -> str:
    if locale not in _languages():
        abort(404)
    return locale


def _text_problem(text: str) -> str | None:
    if any(not is_plain_text(line) for line in text.replace("\t", " ").split("\n")):
        return str(_("Please use only letters, digits and ordinary punctuation."))
    unknown = unknown_placeholders(text)
    if unknown:
        return str(
            _(
                "Unknown placeholders: %(names)s. Use {name}, {company}, {host} or {date}.",
                names=", ".join("{" + name + "}" for name in unknown),
            )
        )
    return None


@bp.route("/admin/documents/<int:document_id>/draft/<locale>", methods=["GET", "POST"])
@admin_required
def admin_document_draft(document_id: int, locale: str) -> str | Response:
    """Write the document's text in one language: save, preview, publish or discard."""
    document = served_or_404(Document, document_id)
    locale = _locale_or_404(locale)
    db_session = get_session()
    draft = find_draft(db_session, document, locale)
    form = DocumentDraftForm(obj=draft)
    if form.validate_on_submit():
        if form.discard.data:
            if draft is not None:
                discard_draft(db_session, draft)
                audit("discard_document_draft", "document", document.id)
                db_session.commit()
                flash(_("The draft is discarded."))
            return redirect(url_for(".admin_document", document_id=document.id))
        text = (form.text.data or "").replace("\r\n", "\n")
        problem = _text_problem(text)
        if problem is None and form.publish.data and not text.strip():
            problem = _("Please write the text before publishing.")
        if problem is not None:
            form.text.errors.append(problem)
        else:
            if draft is None:
                draft = start_draft(db_session, document, locale, now=now())
            try:
                save_draft(draft, title=form.title.data or "", text=text)
                if form.publish.data:
                    publish_draft(draft, now=now())
            except DocumentError:
                db_session.rollback()
                form.text.errors.append(_("Please check this value."))
            else:
                db_session.flush()
                if form.publish.data:
                    audit("publish_document", "document_version", draft.id)
                    db_session.commit()
                    flash(
                        _(
                            "Version %(version)s is published: visitors sign it from now on.",
                            version=draft.version,
                        )
                    )
                    return redirect(url_for(".admin_document", document_id=document.id))
                audit("save_document_draft", "document_version", draft.id)
                db_session.commit()
                if form.preview.data:
                    return redirect(url_for(".admin_document_preview", version_id=draft.id))
                flash(_("The draft is saved."))
                return redirect(
                    url_for(".admin_document_draft", document_id=document.id, locale=locale)
                )
    elif draft is None and not form.is_submitted():
        latest = current_version(db_session, document, locale)
        if latest is not None and latest.locale == locale:
            form.title.data, form.text.data = latest.title, latest.text
        else:
            form.title.data = document.title
    return render_template(
        "dashboard/admin/document_draft.html",
        form=form,
        document=document,
        site=document.site,
        draft=draft,
        locale=locale,
        language=_languages()[locale],
    )


@bp.route("/admin/document-versions/<int:version_id>")
@admin_required
def admin_document_preview(version_id: int) -> str:
    """A version as the kiosk shows it, with example details filled in (a draft or a
    published version)."""
    version = get_session().get(DocumentVersion, version_id)
    if version is None:
        abort(404)
    document = served_or_404(Document, version.document_id)
    text = fill_placeholders(
        version.text,
        placeholder_values(
            name=_("Alex Example"),
            company=_("Example Ltd"),
            host=_("Robin Host"),
            day=now().date(),
            locale=current_locale(),
        ),
    )
    return render_template(
        "dashboard/admin/document_preview.html",
        document=document,
        site=document.site,
        version=version,
        text=text,
        language=_languages().get(version.locale, version.locale),
    )


def _change(document_id: int, action: str) -> Response:
    document = served_or_404(Document, document_id)
    if ButtonForm().validate_on_submit():
        if action == "retire":
            retire_document(document, now=now())
            flash(_("The document is no longer asked for. Signed copies keep their period."))
        else:
            restore_document(document)
            flash(_("The document is asked for again."))
        audit(f"{action}_document", "document", document.id)
        get_session().commit()
    return redirect(url_for(".admin_documents", site_id=document.site_id))


@bp.route("/admin/documents/<int:document_id>/retire", methods=["POST"])
@admin_required
def admin_document_retire(document_id: int) -> Response:
    """Stop asking visitors to sign a document."""
    return _change(document_id, "retire")


@bp.route("/admin/documents/<int:document_id>/restore", methods=["POST"])
@admin_required
def admin_document_restore(document_id: int) -> Response:
    """Ask for a retired document again."""
    return _change(document_id, "restore")
