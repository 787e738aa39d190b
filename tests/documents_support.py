"""Shared set-up for the documents-to-sign tests: a site with guests and contractors, a
safety briefing contractors sign, and drawn signatures as the pad sends them."""

from __future__ import annotations

import base64
import io
from datetime import datetime

from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from kiosk.enums import DocumentAcceptance, DocumentKind
from kiosk.models import Document, DocumentVersion, Site, VisitorType

SAFETY_TEXT = (
    "Safety briefing for {name} of {company}, visiting {host} on {date}.\n"
    "Wear the helmet at all times in the workshop. Hearing protection in hall B."
)


def add_types(session: Session, site: Site, now: datetime) -> tuple[VisitorType, VisitorType]:
    guest = VisitorType(site_id=site.id, key="guest", position=0, created_at=now)
    contractor = VisitorType(
        site_id=site.id, key="contractor", position=1, field_company="required", created_at=now
    )
    session.add_all([guest, contractor])
    session.flush()
    return guest, contractor


def add_document(
    session: Session,
    site: Site,
    now: datetime,
    *,
    title: str = "Safety briefing",
    text: str = SAFETY_TEXT,
    acceptance: str = DocumentAcceptance.SIGNATURE,
    retention_days: int = 365,
    valid_days: int | None = None,
    locale: str = "en",
    signed_by: tuple[VisitorType, ...] = (),
) -> tuple[Document, DocumentVersion]:
    document = Document(
        site_id=site.id,
        title=title,
        kind=DocumentKind.SAFETY,
        acceptance=acceptance,
        retention_days=retention_days,
        valid_days=valid_days,
        created_at=now,
    )
    session.add(document)
    session.flush()
    version = DocumentVersion(
        document_id=document.id,
        locale=locale,
        version=1,
        title=title,
        text=text,
        published_at=now,
        created_at=now,
    )
    session.add(version)
    for visitor_type in signed_by:
        visitor_type.documents.append(document)
    session.commit()
    return document, version


def signature_png(width: int = 600, height: int = 200, *, ink: bool = True) -> bytes:
    """A signature as the pad draws it: dark strokes on a transparent canvas."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if ink:
        draw = ImageDraw.Draw(image)
        draw.line(
            [(40, 150), (150, 40), (260, 160), (380, 50), (540, 140)],
            fill=(16, 19, 26, 255),
            width=6,
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
