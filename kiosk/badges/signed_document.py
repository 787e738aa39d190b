"""The signed-document PDF: what a visitor signed at the kiosk, as they saw it.

The exact published text with the placeholders filled in, the document's title and version,
the visitor's name, the time in the site's zone, and the drawn signature (or "Accepted by
ticking"). Drawn in memory with reportlab's platypus in the badge fonts (kiosk.badges.fonts),
so names in any script the badges print are printed here too; stored in the database with the
visit, in the check-in's transaction (:func:`store_signed_documents`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Spacer
from sqlalchemy.orm import Session

from kiosk.badges.fonts import FontSet, app_fonts
from kiosk.badges.shaping import display_text
from kiosk.enums import DocumentAcceptance
from kiosk.models import DocumentVersion, SignedDocument, Site, Visit
from kiosk.services.documents import (
    Signature,
    erase_after,
    fill_placeholders,
    placeholder_values,
)


def _values(visit: Visit) -> dict[str, str]:
    zone = ZoneInfo(visit.site.timezone)
    return placeholder_values(
        name=visit.visitor_name,
        company=visit.company,
        host=visit.host.name if visit.host is not None else None,
        day=visit.checked_in_at.astimezone(zone).date(),
        locale=visit.locale,
    )


def _paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    # Paragraph reads markup: the text is escaped after shaping, line by line.
    lines = text.split("\n")
    return Paragraph("<br/>".join(escape(display_text(line)) for line in lines), style)


def render_signed_document(
    version: DocumentVersion,
    *,
    text: str,
    signer_name: str,
    signed_at: datetime,
    site: Site,
    locale: str,
    signature_png: bytes | None,
    fonts: FontSet | None = None,
) -> bytes:
    """The signed document as PDF bytes, worded in ``locale``."""
    fonts = fonts or app_fonts()
    regular, bold = fonts.regular.name, fonts.bold.name
    title_style = ParagraphStyle("title", fontName=bold, fontSize=17, leading=21, spaceAfter=4)
    meta = ParagraphStyle(
        "meta", fontName=regular, fontSize=9, leading=12, textColor=colors.HexColor("#444444")
    )
    body = ParagraphStyle("body", fontName=regular, fontSize=10.5, leading=14.5)
    label = ParagraphStyle("label", fontName=bold, fontSize=10.5, leading=14.5, spaceBefore=8)
    buffer = io.BytesIO()
    with force_locale(locale):
        when = format_datetime(signed_at, "medium", tzinfo=ZoneInfo(site.timezone), locale=locale)
        story: list[Flowable] = [
            _paragraph(version.title, title_style),
            _paragraph(
                _("Version %(version)s (%(language)s), %(site)s")
                % {"version": version.version, "language": version.locale, "site": site.name},
                meta,
            ),
            Spacer(1, 5 * mm),
            _paragraph(text, body),
            Spacer(1, 8 * mm),
            _paragraph(_("Signed by: %(name)s") % {"name": signer_name}, label),
            _paragraph(
                _("Time: %(time)s (%(zone)s)") % {"time": when, "zone": site.timezone}, body
            ),
        ]
        if signature_png is not None:
            image = Image(io.BytesIO(signature_png))
            scale = min(80 * mm / image.imageWidth, 35 * mm / image.imageHeight)
            image.drawWidth = image.imageWidth * scale
            image.drawHeight = image.imageHeight * scale
            image.hAlign = "LEFT"
            story += [_paragraph(_("Signature:"), label), Spacer(1, 2 * mm), image]
        else:
            story.append(_paragraph(_("Accepted by ticking “I accept”."), label))
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=20 * mm,
            rightMargin=20 * mm,
            topMargin=18 * mm,
            bottomMargin=18 * mm,
            title=version.title,
            # The signer's name stays out of the metadata a file browser shows.
            author="",
            subject="",
        )
        document.build(story)
    return buffer.getvalue()


def store_signed_documents(
    session: Session, visit: Visit, signatures: Sequence[Signature], *, now: datetime
) -> list[SignedDocument]:
    """Render and add a signed copy per signature, for the caller's transaction to commit.

    Each is kept until its document's own period ends (``erase_after``), whatever happens to
    the visit. A signature for a version that is not a published one of this visit's site is
    refused (ValueError): the kiosk only offers published versions of its site.
    """
    stored = []
    values = _values(visit)
    for signature in signatures:
        version = session.get(DocumentVersion, signature.version_id)
        if (
            version is None
            or version.published_at is None
            or version.document.site_id != visit.site_id
        ):
            raise ValueError("not a published document of this site")
        png = signature.png if signature.accepted_by == DocumentAcceptance.SIGNATURE else None
        pdf = render_signed_document(
            version,
            text=fill_placeholders(version.text, values),
            signer_name=visit.visitor_name,
            signed_at=now,
            site=visit.site,
            locale=visit.locale,
            signature_png=png,
        )
        item = SignedDocument(
            site_id=visit.site_id,
            visit=visit,
            document_id=version.document_id,
            document_version_id=version.id,
            signer_name=visit.visitor_name,
            signer_company=visit.company,
            signer_email=visit.email,
            accepted_by=signature.accepted_by,
            signed_at=now,
            erase_after=erase_after(version.document, now),
            pdf=pdf,
        )
        session.add(item)
        stored.append(item)
    return stored
