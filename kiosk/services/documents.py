"""Documents visitors sign at the kiosk (an NDA, house rules, a safety briefing): a site's
documents, their versions per language (drafts, publishing, frozen published versions, like
notices), which visitor types sign which, and who need not sign again.

A signed copy (:class:`kiosk.models.SignedDocument`) is kept for the document's own period,
independently of the visit it was signed at; the purge erases it then (kiosk.privacy.purge).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from kiosk.enums import DocumentAcceptance, DocumentKind, values
from kiosk.models import (
    Document,
    DocumentVersion,
    PublishedDocumentChanged,
    SignedDocument,
    Site,
    VisitorType,
)
from kiosk.text import name_words

#: What a document's text may carry for each visitor; anything else in braces stays as typed.
PLACEHOLDERS = ("name", "company", "host", "date")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
TITLE_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 20000
#: A document's language when none is published in the visitor's, before the site's own.
FALLBACK_LOCALE = "en"


class DocumentError(Exception):
    """A document setting or text that cannot be saved; ``code`` says why, ``field`` where."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


@dataclass(frozen=True)
class DocumentSettings:
    """What an admin sets for a document (its texts are versions of their own)."""

    title: str
    kind: str
    acceptance: str
    retention_days: int
    valid_days: int | None = None


@dataclass(frozen=True)
class Signature:
    """A document version the visitor accepted at the kiosk, and how: ``png`` holds their
    drawn signature (checked by kiosk.services.signatures), None for a tick."""

    version_id: int
    accepted_by: str
    png: bytes | None = None


def check_settings(settings: DocumentSettings) -> None:
    """Raise :class:`DocumentError` for a setting the database would refuse."""
    if not settings.title.strip() or len(settings.title) > TITLE_MAX_LENGTH:
        raise DocumentError("title", "title")
    if settings.kind not in values(DocumentKind):
        raise DocumentError("kind", "kind")
    if settings.acceptance not in values(DocumentAcceptance):
        raise DocumentError("acceptance", "acceptance")
    if not 1 <= settings.retention_days <= 3650:
        raise DocumentError("retention_days", "retention_days")
    if settings.valid_days is not None and not 1 <= settings.valid_days <= 3650:
        raise DocumentError("valid_days", "valid_days")


def _apply(document: Document, settings: DocumentSettings) -> None:
    check_settings(settings)
    document.title = settings.title.strip()
    document.kind = settings.kind
    document.acceptance = settings.acceptance
    document.retention_days = settings.retention_days
    document.valid_days = settings.valid_days


def create_document(
    session: Session, site: Site, settings: DocumentSettings, *, now: datetime
) -> Document:
    """Add a document to a site (it is signed by no type until a type asks for it)."""
    document = Document(site_id=site.id, created_at=now)
    _apply(document, settings)
    session.add(document)
    return document


def update_document(document: Document, settings: DocumentSettings) -> None:
    """Change a document's settings; signed copies keep the erase time they were given."""
    _apply(document, settings)


def retire_document(document: Document, *, now: datetime) -> None:
    """No longer ask for the document; its signed copies stay for their own period."""
    document.retired_at = document.retired_at or now


def restore_document(document: Document) -> None:
    document.retired_at = None


def site_documents(session: Session, site: Site) -> list[Document]:
    """A site's documents, retired ones too, oldest first."""
    return list(
        session.scalars(select(Document).where(Document.site_id == site.id).order_by(Document.id))
    )


def document_versions(session: Session, document: Document) -> list[DocumentVersion]:
    """Every version of a document, by language and newest first."""
    return list(
        session.scalars(
            select(DocumentVersion)
            .where(DocumentVersion.document_id == document.id)
            .order_by(DocumentVersion.locale, DocumentVersion.version.desc())
        )
    )


def find_draft(session: Session, document: Document, locale: str) -> DocumentVersion | None:
    """The document's unpublished version in this language, if one is being written."""
    return session.scalar(
        select(DocumentVersion).where(
            DocumentVersion.document_id == document.id,
            DocumentVersion.locale == locale,
            DocumentVersion.published_at.is_(None),
        )
    )


def start_draft(
    session: Session, document: Document, locale: str, *, now: datetime
) -> DocumentVersion:
    """The draft in this language: the one being written, else a new one starting from the
    newest published text (or empty)."""
    draft = find_draft(session, document, locale)
    if draft is not None:
        return draft
    latest = session.scalar(
        select(DocumentVersion)
        .where(DocumentVersion.document_id == document.id, DocumentVersion.locale == locale)
        .order_by(DocumentVersion.version.desc())
        .limit(1)
    )
    draft = DocumentVersion(
        document_id=document.id,
        locale=locale,
        version=(latest.version + 1) if latest is not None else 1,
        title=latest.title if latest is not None else document.title,
        text=latest.text if latest is not None else "",
        created_at=now,
    )
    session.add(draft)
    return draft


def save_draft(draft: DocumentVersion, *, title: str, text: str) -> None:
    """Change a draft's title and text; a published version never changes."""
    if draft.published_at is not None:
        raise PublishedDocumentChanged(f"document version {draft.id} is published")
    title = title.strip()
    if not title or len(title) > TITLE_MAX_LENGTH:
        raise DocumentError("title", "title")
    if len(text) > TEXT_MAX_LENGTH:
        raise DocumentError("text_length", "text")
    draft.title = title
    draft.text = text.replace("\r\n", "\n")


def publish_draft(draft: DocumentVersion, *, now: datetime) -> None:
    """Freeze the draft: from now on visitors sign this version and it never changes."""
    if not draft.text.strip():
        raise DocumentError("text_required", "text")
    draft.published_at = now


def discard_draft(session: Session, draft: DocumentVersion) -> None:
    """Throw a draft away (a published version cannot be)."""
    if draft.published_at is not None:
        raise PublishedDocumentChanged(f"document version {draft.id} is published")
    session.delete(draft)


def current_version(session: Session, document: Document, locale: str) -> DocumentVersion | None:
    """The newest published version in this language; else in English, else in the site's
    language, else in any; None when none is published."""
    published = (
        select(DocumentVersion)
        .where(
            DocumentVersion.document_id == document.id, DocumentVersion.published_at.is_not(None)
        )
        .order_by(DocumentVersion.version.desc())
    )
    newest: dict[str, DocumentVersion] = {}
    for candidate in session.scalars(published):
        newest.setdefault(candidate.locale, candidate)
    for wanted in (locale, FALLBACK_LOCALE, document.site.default_locale, *sorted(newest)):
        if wanted in newest:
            return newest[wanted]
    return None


def fill_placeholders(text: str, values_: Mapping[str, str]) -> str:
    """The text with ``{name}``, ``{company}``, ``{host}`` and ``{date}`` filled in.

    One pass over the text, so a value that itself contains ``{name}`` stays as typed, and
    no other brace can reach Python's formatting.
    """
    return _PLACEHOLDER.sub(lambda match: values_.get(match.group(1), ""), text)


def placeholder_values(
    *, name: str, company: str | None, host: str | None, day: date, locale: str
) -> dict[str, str]:
    """What the placeholders say for one visitor, the date in their language."""
    return {
        "name": name,
        "company": company or "",
        "host": host or "",
        "date": format_date(day, "long", locale=locale),
    }


def unknown_placeholders(text: str) -> list[str]:
    """Words in braces that are not placeholders (a mistyped ``{nmae}``), for the editor."""
    found = re.findall(r"\{\s*(\w*)\s*\}", text)
    return sorted({word for word in found if word not in PLACEHOLDERS})


def set_type_documents(visitor_type: VisitorType, documents: Sequence[Document]) -> None:
    """Which of its site's documents a visitor type signs."""
    visitor_type.documents = [item for item in documents if item.site_id == visitor_type.site_id]


def required_documents(visitor_type: VisitorType | None) -> list[Document]:
    """The documents a visitor of this type is asked to sign (retired ones are not)."""
    if visitor_type is None:
        return []
    return [item for item in visitor_type.documents if not item.is_retired]


def erase_after(document: Document, signed_at: datetime) -> datetime:
    """When a copy signed at ``signed_at`` is erased: the document's days later, on the
    site's clock (10:00 stays 10:00 across a daylight-saving change)."""
    zone = ZoneInfo(document.site.timezone)
    return (signed_at.astimezone(zone) + timedelta(days=document.retention_days)).astimezone(UTC)


#: Loader options for signed documents read for their signer only (the PDF stays unread).
WITHOUT_PDF = (defer(SignedDocument.pdf_sealed), defer(SignedDocument.legacy_pdf))


def same_signer(name: str, email: str | None, signer_name: str, signer_email: str | None) -> bool:
    """Whether a kept signed copy is this visitor's, by the details an erasure search uses
    (kiosk.privacy.requests.find_person): the same words of the name, ignoring case, accents
    and order (``name_words``), and the same email address ignoring case (both absent counts
    as the same). Stricter than the search, which takes either: a signature is only skipped
    when both agree."""
    if not name_words(name) or set(name_words(name)) != set(name_words(signer_name)):
        return False
    return (email or "").strip().casefold() == (signer_email or "").strip().casefold()


def signed_recently(
    session: Session,
    site: Site,
    version: DocumentVersion,
    *,
    name: str,
    email: str | None,
    now: datetime,
) -> bool:
    """Whether this visitor signed this very version at this site within the document's
    validity, and the site still keeps that signed copy."""
    document = version.document
    if document.valid_days is None:
        return False
    since = now - timedelta(days=document.valid_days)
    # The signer's details are sealed: compared in Python, without reading the PDFs.
    signed = session.scalars(
        select(SignedDocument)
        .options(*WITHOUT_PDF)
        .where(
            SignedDocument.site_id == site.id,
            SignedDocument.document_version_id == version.id,
            SignedDocument.signed_at >= since,
            SignedDocument.erase_after > now,
        )
    )
    return any(same_signer(name, email, row.signer_name, row.signer_email) for row in signed)


def documents_to_sign(
    session: Session,
    site: Site,
    visitor_type: VisitorType | None,
    locale: str,
    *,
    name: str,
    email: str | None,
    now: datetime,
) -> list[DocumentVersion]:
    """The published versions this visitor must sign now, in order: each document the type
    requires that has a published text, unless signed recently (:func:`signed_recently`)."""
    wanted = []
    for document in required_documents(visitor_type):
        version = current_version(session, document, locale)
        if version is None:
            continue
        if signed_recently(session, site, version, name=name, email=email, now=now):
            continue
        wanted.append(version)
    return wanted


def signed_documents_of(session: Session, visit_id: int) -> list[SignedDocument]:
    """A visit's signed documents (ids, titles, times; the PDF is loaded when read)."""
    return list(
        session.scalars(
            select(SignedDocument)
            .where(SignedDocument.visit_id == visit_id)
            .order_by(SignedDocument.id)
        )
    )


def count_signed(session: Session, document: Document) -> int:
    """How many signed copies of a document the site keeps."""
    return int(
        session.scalar(select(func.count()).where(SignedDocument.document_id == document.id)) or 0
    )
