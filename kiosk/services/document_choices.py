"""The documents an admin can pick for a visitor type (the type form's checkboxes)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import object_session

from kiosk.models import Document, Site


def document_choices(site: Site) -> list[tuple[int, str]]:
    """(id, title) of the site's documents that are not retired."""
    session = object_session(site)
    if session is None:
        return []
    return [
        (document.id, document.title)
        for document in session.scalars(
            select(Document)
            .where(Document.site_id == site.id, Document.retired_at.is_(None))
            .order_by(Document.id)
        )
    ]
