"""Dashboard: a visit's details with the documents the visitor signed at the kiosk, and each
signed document's PDF. Every view is audited, with ids only."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import abort, render_template

from kiosk.app_headers import pdf_response
from kiosk.dashboard.access import audit, served_or_404
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.models import SignedDocument, Visit
from kiosk.services.documents import signed_documents_of


@bp.route("/visits/<int:visit_id>")
def visit_detail(visit_id: int) -> str:
    """One visit, with the documents signed at it."""
    visit = served_or_404(Visit, visit_id)
    db_session = get_session()
    documents = signed_documents_of(db_session, visit.id)
    audit("view_visit", "visit", visit.id)
    db_session.commit()
    return render_template("dashboard/visit_detail.html", visit=visit, documents=documents)


@bp.route("/signed-documents/<int:signed_id>.pdf")
def signed_document_pdf(signed_id: int) -> FlaskResponse:
    """A signed document as it is kept: the PDF made at check-in."""
    signed = served_or_404(SignedDocument, signed_id)
    if not signed.pdf:
        # Its key is destroyed: the copy is past its period and the purge deletes the row.
        abort(410)
    audit("view_signed_document", "signed_document", signed.id)
    get_session().commit()
    # The file name says what it is, never whose.
    return pdf_response(signed.pdf, f"signed-document-{signed.id}.pdf")
