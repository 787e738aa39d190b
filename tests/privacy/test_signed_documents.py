"""Signed documents are kept for their document's own period (issue 15): erased at their own
cutoff, to the second, by the same batched purge, whether that is after the visit is erased
(an NDA) or before it (a house-rules tick), with the counts in the PurgeRun; data-subject
requests find, export and erase them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock
from kiosk.enums import DocumentAcceptance
from kiosk.models import AuditEvent, PurgeRunSite, SignedDocument, Site, Visit
from kiosk.privacy.purge import PurgeSettings, count_expired, run_purge
from kiosk.privacy.requests import access_json, erase_person, export_access, find_person
from kiosk.privacy.rules import cutoffs_for, visit_erased_at
from tests.conftest import STAFF_PASSWORD
from tests.documents_support import add_document

SECOND = timedelta(seconds=1)


def purge(session: Session, clock: FrozenClock) -> Any:
    run = run_purge(session, clock=clock, trigger="cli", settings=PurgeSettings(batch_size=1))
    assert run is not None
    return run


def signed(
    session: Session, site: Site, version: Any, visit: Visit | None, at: datetime, days: int
) -> SignedDocument:
    item = SignedDocument(
        site_id=site.id,
        visit_id=visit.id if visit else None,
        document_id=version.document_id,
        document_version_id=version.id,
        signer_name=visit.visitor_name if visit else "Nora Nobody",
        signer_email=visit.email if visit else None,
        accepted_by=DocumentAcceptance.SIGNATURE,
        signed_at=at,
        erase_after=at + timedelta(days=days),
        pdf=b"%PDF-1.4 signed",
    )
    session.add(item)
    session.commit()
    return item


def kept(session: Session) -> list[tuple[int | None, str]]:
    session.expire_all()
    return [
        (row.visit_id, row.signer_name)
        for row in session.scalars(select(SignedDocument).order_by(SignedDocument.id))
    ]


def test_a_document_kept_longer_than_its_visit_outlives_it_to_the_second(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    # UTC: the 400 days are not shifted by a daylight-saving change.
    site = make_site(retention_days=30, timezone="UTC")
    signed_at = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    _nda, version = add_document(session, site, signed_at, title="NDA", retention_days=400)
    visit = make_visit(
        site, "Nils Nda", checked_in_at=signed_at, checked_out_at=signed_at + timedelta(hours=2)
    )
    item = signed(session, site, version, visit, signed_at, 400)

    visit_due = visit_erased_at(site, visit)
    clock.set(visit_due + SECOND)
    run = purge(session, clock)
    assert run.visits_erased == 1
    # The visit is gone; the signed NDA stays, unlinked.
    assert session.scalar(select(func.count()).select_from(Visit)) == 0
    assert kept(session) == [(None, "Nils Nda")]

    due = item.erase_after
    clock.set(due - SECOND)
    assert count_expired(session, [cutoffs_for(site, clock.now())]).sites[site.id].documents == 0
    purge(session, clock)
    assert kept(session) == [(None, "Nils Nda")]

    clock.set(due + SECOND)
    assert count_expired(session, [cutoffs_for(site, clock.now())]).sites[site.id].documents == 1
    run = purge(session, clock)
    assert kept(session) == []
    session.expire_all()
    evidence = session.scalars(select(PurgeRunSite).where(PurgeRunSite.run_id == run.id)).one()
    assert evidence.documents_erased == 1
    assert evidence.visits_erased == 0


def test_a_document_kept_shorter_than_its_visit_goes_first(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=30, timezone="UTC")
    at = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    _rules, version = add_document(session, site, at, title="House rules", retention_days=2)
    visit = make_visit(site, "Hilda House", checked_in_at=at)
    item = signed(session, site, version, visit, at, 2)
    clock.set(item.erase_after + SECOND)
    run = purge(session, clock)
    assert run.visits_erased == 0
    assert kept(session) == []
    assert session.scalar(select(func.count()).select_from(Visit)) == 1


def test_erasing_a_visit_by_request_erases_its_signed_documents_too(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site()
    _nda, version = add_document(session, site, clock.now(), retention_days=3000)
    visit = make_visit(site, "Erik Erased", email="erik@example.com")
    signed(session, site, version, visit, clock.now(), 3000)
    erased = erase_person(session, [visit], [])
    session.commit()
    assert sum(erased.documents.values()) == 1
    assert kept(session) == []


def test_the_erasure_search_finds_documents_whose_visit_is_gone(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site()
    _nda, version = add_document(session, site, clock.now(), retention_days=3000)
    visit = make_visit(site, "Olga Outlived", email="olga@example.com")
    signed(session, site, version, visit, clock.now(), 3000)
    session.delete(session.get(Visit, visit.id))
    session.commit()
    assert kept(session) == [(None, "Olga Outlived")]

    by_email = find_person(session, [site.id], email="OLGA@example.com")
    by_name = find_person(session, [site.id], name="outlived olga")
    assert [item.id for item in by_email.documents] == [item.id for item in by_name.documents]
    assert len(by_name.documents) == 1
    with app.test_request_context():
        report = export_access(session, [], [], now=clock.now(), documents=by_name.documents)
        exported = access_json(report)
    assert exported["signed_documents"][0]["name"] == "Olga Outlived"
    assert exported["signed_documents"][0]["title"] == "Safety briefing"
    assert exported["signed_documents"][0]["pdf_base64"]
    json.dumps(exported)
    erase_person(session, [], [], by_name.documents)
    session.commit()
    assert kept(session) == []


def test_the_access_pdf_carries_the_signed_document(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    import pypdfium2 as pdfium

    from kiosk.badges.signed_document import store_signed_documents
    from kiosk.privacy.access_pdf import render_access_pdf
    from kiosk.services.documents import Signature

    site = make_site()
    _document, version = add_document(session, site, clock.now(), acceptance="tick")
    visit = make_visit(site, "Pia Pdf", locale="en")
    with app.test_request_context():
        visit = session.get(Visit, visit.id)
        store_signed_documents(
            session, visit, [Signature(version.id, DocumentAcceptance.TICK)], now=clock.now()
        )
        session.commit()
        report = export_access(session, [visit], [], now=clock.now())
        pdf = render_access_pdf(report, "en")
    document = pdfium.PdfDocument(pdf)
    text = "\n".join(page.get_textpage().get_text_range() for page in document)
    document.close()
    assert "Document you signed at" in text
    assert "Accepted by ticking" in text  # the signed document's own page


def test_an_unreadable_signed_copy_is_left_out_of_the_access_pdf_and_said_so(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    caplog: Any,
):
    """A stored copy PDFium cannot open (``signed``'s bytes are no PDF) made the whole access
    export a 500: the person is owed the rest of it, and the report says which copy is missing."""
    import pypdfium2 as pdfium

    from kiosk.badges.signed_document import store_signed_documents
    from kiosk.privacy.access_pdf import render_access_pdf
    from kiosk.services.documents import Signature

    site = make_site()
    _document, version = add_document(session, site, clock.now(), acceptance="tick")
    visit = make_visit(site, "Pia Pdf", locale="en")
    broken = signed(session, site, version, visit, clock.now(), 30)
    with app.test_request_context():
        visit = session.get(Visit, visit.id)
        store_signed_documents(
            session, visit, [Signature(version.id, DocumentAcceptance.TICK)], now=clock.now()
        )
        session.commit()
        report = export_access(session, [visit], [], now=clock.now())
        assert len(report.documents) == 2
        with caplog.at_level("WARNING", logger="kiosk.privacy.access_pdf"):
            pdf = render_access_pdf(report, "en")
    document = pdfium.PdfDocument(pdf)
    text = "\n".join(page.get_textpage().get_text_range() for page in document)
    document.close()
    flat = " ".join(text.split())
    assert "Pia Pdf" in flat
    assert "could not be read, so it is not attached" in flat
    assert "follows at the end of this report" in flat
    assert "Accepted by ticking" in flat  # the readable copy's own page is still attached
    assert [record.getMessage() for record in caplog.records] == [
        f"signed document {broken.id}: its PDF cannot be read (Failed to load document"
        " (PDFium: Data format error).)"
    ]


def test_the_access_pdf_export_answers_with_an_unreadable_copy(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    make_staff: Any,
    clock: FrozenClock,
):
    site = make_site()
    _document, version = add_document(session, site, clock.now())
    visit = make_visit(site, "Pia Pdf", locale="en")
    broken = signed(session, site, version, visit, clock.now(), 30)
    admin = make_staff(username="dpo", role="admin")
    client = app.test_client()
    client.post("/dashboard/login", data={"username": admin.username, "password": STAFF_PASSWORD})
    response = client.post(
        "/dashboard/requests/export.pdf",
        data={"visit": [str(visit.id)], "document": [str(broken.id)], "language": "en"},
    )
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")


def test_staff_see_a_visits_signed_documents_audited(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    make_staff: Any,
    login: Any,
    clock: FrozenClock,
):
    site = make_site()
    other = make_site()
    _document, version = add_document(session, site, clock.now())
    visit = make_visit(site, "Sven Staffview")
    item = signed(session, site, version, visit, clock.now(), 365)
    reception = login(make_staff("reception", sites=(site,)))
    page = reception.get(f"/dashboard/visits/{visit.id}")
    assert page.status_code == 200
    assert "Safety briefing" in page.text
    pdf = reception.get(f"/dashboard/signed-documents/{item.id}.pdf")
    assert pdf.status_code == 200
    assert pdf.data == b"%PDF-1.4 signed"
    assert "Sven" not in pdf.headers["Content-Disposition"]
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "view_signed_document")
    ).all()
    assert [(event.target_type, event.target_id) for event in events] == [
        ("signed_document", str(item.id))
    ]
    elsewhere = login(make_staff("reception", sites=(other,), username="elsewhere"))
    assert elsewhere.get(f"/dashboard/signed-documents/{item.id}.pdf").status_code == 404
    assert elsewhere.get(f"/dashboard/visits/{visit.id}").status_code == 404


def test_a_signed_copy_is_sealed_under_its_own_day_and_its_key_goes_with_it(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """Crypto-shredding (issue 18): the signer's details and the PDF are sealed under the key
    of the day the copy must be gone, not the visit's; the purge of that day destroys it."""
    from sqlalchemy import text

    from kiosk.field_cipher import key_id_of

    store = app.extensions["kiosk.key_store"]
    site = make_site(retention_days=30, timezone="UTC")
    at = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    _nda, version = add_document(session, site, at, title="NDA", retention_days=400)
    visit = make_visit(site, "Sara Sealed", email="sara@example.com", checked_in_at=at)
    item = signed(session, site, version, visit, at, 400)
    raw = session.execute(
        text(
            "SELECT signer_name, signer_email, pdf, signer_name_sealed, pdf_sealed"
            " FROM signed_documents WHERE id = :i"
        ),
        {"i": item.id},
    ).one()
    assert (raw.signer_name, raw.signer_email, bytes(raw.pdf)) == ("", None, b"")
    assert b"Sara" not in bytes(raw.signer_name_sealed)
    assert b"%PDF" not in bytes(raw.pdf_sealed)
    for sealed in (raw.signer_name_sealed, raw.pdf_sealed):
        key = store.key(key_id_of(bytes(sealed)))
        assert key.erase_day == (at + timedelta(days=400)).date()
    session.expire_all()
    fresh = session.get(SignedDocument, item.id)
    assert fresh is not None
    assert (fresh.signer_name, fresh.signer_email, fresh.pdf) == (
        "Sara Sealed",
        "sara@example.com",
        b"%PDF-1.4 signed",
    )

    # The visit's own key goes after its 30 days; the copy stays readable.
    clock.set(at + timedelta(days=32))
    purge(session, clock)
    session.expire_all()
    assert kept(session) == [(None, "Sara Sealed")]
    # After its own day: the row is erased and its key destroyed, so no copy of the database
    # taken before can read it.
    clock.set(at + timedelta(days=402))
    run = purge(session, clock)
    assert kept(session) == []
    assert key_id_of(bytes(raw.pdf_sealed)).hex() in (run.destroyed_keys or [])
    assert store.key(key_id_of(bytes(raw.pdf_sealed))) is None
