"""Documents to sign at the kiosk (issue 15): each document the visitor's type requires, on
its own screen after the privacy notice, signed with a finger or ticked; no signature, no
check-in; "I don't want to sign" stores nothing; the signed PDF is stored with the visit in
the check-in's commit; a recent signature of the same version is not asked for again."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pypdfium2 as pdfium
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock
from kiosk.enums import DocumentAcceptance
from kiosk.models import (
    DocumentVersion,
    PublishedDocumentChanged,
    SessionItem,
    SignedDocument,
    Site,
    Visit,
)
from kiosk.registration import signing
from kiosk.services.documents import (
    DocumentError,
    fill_placeholders,
    publish_draft,
    same_signer,
    save_draft,
    start_draft,
)
from kiosk.services.signatures import SignatureError, checked_signature
from tests.documents_support import add_document, add_types, data_url, signature_png


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


@pytest.fixture
def site(make_site: Any) -> Site:
    return make_site(default_locale="en")


@pytest.fixture
def contractor_site(site: Site, session: Session, clock: FrozenClock) -> dict[str, Any]:
    guest, contractor = add_types(session, site, clock.now())
    document, version = add_document(session, site, clock.now(), signed_by=(contractor,))
    return {"site": site, "guest": guest, "contractor": contractor, "version": version}


def start(kiosk: FlaskClient, visitor_type: Any, host: Any, name: str = "Carl Contractor") -> None:
    kiosk.post("/language", data={"locale": "en"})
    kiosk.post("/check-in/type", data={"visitor_type": str(visitor_type.id)})
    response = kiosk.post(
        "/check-in", data={"name": name, "company": "Bygg AB", "host_id": host.id}
    )
    assert response.location.endswith("/notice"), response.text
    kiosk.get("/notice")


def test_a_guest_is_not_asked_to_sign(
    pair: Any, contractor_site: dict[str, Any], make_host: Any, session: Session
):
    host = make_host(contractor_site["site"])
    kiosk = pair(contractor_site["site"])
    start(kiosk, contractor_site["guest"], host, name="Gita Guest")
    assert kiosk.post("/notice", data={"read": "1"}).location.endswith("/done")
    assert session.scalar(select(func.count()).select_from(SignedDocument)) == 0


def test_a_contractor_signs_after_the_notice_and_the_pdf_is_stored_with_the_visit(
    pair: Any, contractor_site: dict[str, Any], make_host: Any, session: Session
):
    host = make_host(contractor_site["site"], "Hanna Host")
    kiosk = pair(contractor_site["site"])
    start(kiosk, contractor_site["contractor"], host)
    assert kiosk.post("/notice", data={"read": "1"}).location.endswith("/check-in/sign")
    page = kiosk.get("/check-in/sign").text
    # The placeholders are filled with the visitor's details, and the text is escaped.
    assert "Safety briefing for Carl Contractor of Bygg AB, visiting Hanna Host" in page
    assert "data-signature-pad" in page
    assert "vendor/signature_pad/signature_pad.js" in page
    assert "<script>" not in page  # nothing inline under the CSP
    version = contractor_site["version"]
    response = kiosk.post(
        "/check-in/sign",
        data={"version": version.id, "signature": data_url(signature_png()), "sign": "1"},
    )
    assert response.location.endswith("/check-in/sign")
    assert kiosk.get("/check-in/sign").location.endswith("/done")
    visit = session.scalars(select(Visit)).one()
    signed = session.scalars(select(SignedDocument)).one()
    assert signed.visit_id == visit.id
    assert signed.document_version_id == version.id
    assert signed.accepted_by == DocumentAcceptance.SIGNATURE
    assert signed.signed_at == visit.checked_in_at
    assert signed.erase_after - signed.signed_at == timedelta(days=365)
    text = pdf_text(signed.pdf)
    assert "Safety briefing for Carl Contractor of Bygg AB" in text
    assert "Version 1" in text
    assert "Carl Contractor" in text
    # The drawn signature is in it as an image.
    document = pdfium.PdfDocument(signed.pdf)
    images = [obj for obj in document[0].get_objects() if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
    document.close()
    assert images
    # Nothing of the visitor waits in the session store any more.
    assert session.scalar(select(func.count()).select_from(SessionItem)) == 0


def step_of(page: str) -> tuple[int, int]:
    """The "Step n of m" a screen says, and the bar that shows it."""
    found = re.search(r'class="progress-label">Step (\d+) of (\d+)<', page)
    bar = re.search(r'<progress class="progress-bar" max="(\d+)" value="(\d+)"', page)
    assert found is not None, page
    assert bar is not None, page
    assert (bar[2], bar[1]) == (found[1], found[2])
    return int(found[1]), int(found[2])


def test_the_progress_counts_the_notice_and_each_document_after_the_form(
    pair: Any, contractor_site: dict[str, Any], make_host: Any
):
    """The guided form said "Step 3 of 3" on its last step, and then came the notice and a
    document: the count now goes on through them (a touchscreen review)."""
    site = contractor_site["site"]
    host = make_host(site, "Hanna Host")
    guest = pair(site)
    guest.post("/language", data={"locale": "en"})
    guest.post("/check-in/type", data={"visitor_type": str(contractor_site["guest"].id)})
    form = guest.get("/check-in").text
    steps = len(re.findall(r'<div class="step[" ]', form))
    assert 'data-steps-after="1"' in form  # the notice
    guest.post("/check-in", data={"name": "Gita Guest", "host_id": host.id})
    assert step_of(guest.get("/notice").text) == (steps + 1, steps + 1)

    kiosk = pair(site)
    kiosk.post("/language", data={"locale": "en"})
    kiosk.post("/check-in/type", data={"visitor_type": str(contractor_site["contractor"].id)})
    form = kiosk.get("/check-in").text
    steps = len(re.findall(r'<div class="step[" ]', form))
    assert 'data-steps-after="2"' in form  # the notice and the briefing
    start(kiosk, contractor_site["contractor"], host)
    assert step_of(kiosk.get("/notice").text) == (steps + 1, steps + 2)
    kiosk.post("/notice", data={"read": "1"})
    assert step_of(kiosk.get("/check-in/sign").text) == (steps + 2, steps + 2)


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("", "Please sign with your finger"),
        (data_url(signature_png(ink=False)), "too small to read"),
        ("data:image/png;base64,AAAA", "could not be read"),
        ("data:image/png;base64,!!!notbase64", "could not be read"),
        ("data:image/svg+xml;base64,PHN2Zz4=", "could not be read"),
        (data_url(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100), "could not be read"),
        (data_url(signature_png(5000, 200)), "could not be read"),
        ("data:image/png;base64," + "A" * 200_000, "could not be read"),
        ("data:image/png;base64," + "iVBORw0KGgo" * 22_000, "could not be read"),
    ],
)
def test_no_signature_no_check_in(
    pair: Any,
    contractor_site: dict[str, Any],
    make_host: Any,
    session: Session,
    signature: str,
    message: str,
):
    host = make_host(contractor_site["site"])
    kiosk = pair(contractor_site["site"])
    start(kiosk, contractor_site["contractor"], host)
    kiosk.post("/notice", data={"read": "1"})
    response = kiosk.post(
        "/check-in/sign",
        data={"version": contractor_site["version"].id, "signature": signature, "sign": "1"},
    )
    assert response.status_code == 200
    assert message in response.text
    assert session.scalar(select(func.count()).select_from(Visit)) == 0
    assert session.scalar(select(func.count()).select_from(SignedDocument)) == 0


def test_a_signature_larger_than_any_request_is_refused_without_an_error(
    pair: Any, contractor_site: dict[str, Any], make_host: Any, session: Session
):
    host = make_host(contractor_site["site"])
    kiosk = pair(contractor_site["site"])
    start(kiosk, contractor_site["contractor"], host)
    kiosk.post("/notice", data={"read": "1"})
    response = kiosk.post(
        "/check-in/sign",
        data={
            "version": contractor_site["version"].id,
            "signature": "data:image/png;base64," + "A" * 600_000,
            "sign": "1",
        },
    )
    assert response.status_code == 413
    assert session.scalar(select(func.count()).select_from(Visit)) == 0


def test_the_refusal_is_in_the_visitors_language(
    pair: Any, contractor_site: dict[str, Any], make_host: Any
):
    host = make_host(contractor_site["site"])
    kiosk = pair(contractor_site["site"])
    start(kiosk, contractor_site["contractor"], host)
    kiosk.post("/notice", data={"read": "1"})
    kiosk.post("/language", data={"locale": "sv", "next": ".sign_document"})
    response = kiosk.post(
        "/check-in/sign",
        data={"version": contractor_site["version"].id, "signature": "", "sign": "1"},
    )
    assert "Signera med fingret" in response.text, response.text


def test_i_dont_want_to_sign_stores_nothing_and_sends_to_reception(
    pair: Any, contractor_site: dict[str, Any], make_host: Any, session: Session
):
    host = make_host(contractor_site["site"])
    kiosk = pair(contractor_site["site"])
    start(kiosk, contractor_site["contractor"], host)
    kiosk.post("/notice", data={"read": "1"})
    response = kiosk.post(
        "/check-in/sign",
        data={"version": contractor_site["version"].id, "decline": "1"},
    )
    assert response.location.endswith("/check-in/sign/declined")
    assert "Please ask reception" in kiosk.get(response.location).text
    assert session.scalar(select(func.count()).select_from(Visit)) == 0
    assert session.scalar(select(func.count()).select_from(SignedDocument)) == 0
    assert session.scalar(select(func.count()).select_from(SessionItem)) == 0
    # The details are gone: the signing screen starts over at the details.
    assert kiosk.get("/check-in/sign").location.endswith("/check-in")


def test_a_tick_document_needs_the_tick(
    pair: Any, site: Site, session: Session, clock: FrozenClock, make_host: Any
):
    guest, contractor = add_types(session, site, clock.now())
    _document, version = add_document(
        session,
        site,
        clock.now(),
        title="House rules",
        text="No photos, {name}.",
        acceptance=DocumentAcceptance.TICK,
        retention_days=2,
        signed_by=(guest,),
    )
    kiosk = pair(site)
    start(kiosk, guest, make_host(site), name="Gita Guest")
    assert kiosk.post("/notice", data={"read": "1"}).location.endswith("/check-in/sign")
    page = kiosk.get("/check-in/sign").text
    assert "No photos, Gita Guest." in page
    assert "data-signature-pad" not in page
    refused = kiosk.post("/check-in/sign", data={"version": version.id, "sign": "1"})
    assert "Please tick" in refused.text
    accepted = kiosk.post(
        "/check-in/sign", data={"version": version.id, "accept": "y", "sign": "1"}
    )
    assert accepted.location.endswith("/check-in/sign")
    assert kiosk.get("/check-in/sign").location.endswith("/done")
    signed = session.scalars(select(SignedDocument)).one()
    assert signed.accepted_by == DocumentAcceptance.TICK
    assert "Accepted by ticking" in pdf_text(signed.pdf)


def test_a_visitor_who_only_chose_a_type_has_nothing_to_confirm_or_sign(
    pair: Any, contractor_site: dict[str, Any]
):
    # Typing the notice's address after choosing a type (no details yet) must not check in
    # a nameless visit, nor fail: back to the details form.
    kiosk = pair(contractor_site["site"])
    kiosk.post("/check-in/type", data={"visitor_type": str(contractor_site["contractor"].id)})
    for path in ("/notice", "/check-in/sign"):
        assert kiosk.get(path).location.endswith("/check-in"), path
        assert kiosk.post(path, data={"read": "1"}).location.endswith("/check-in"), path


def test_a_post_straight_to_the_notice_cannot_skip_signing(
    pair: Any, contractor_site: dict[str, Any], make_host: Any, session: Session
):
    host = make_host(contractor_site["site"])
    kiosk = pair(contractor_site["site"])
    start(kiosk, contractor_site["contractor"], host)
    for _attempt in range(2):
        assert kiosk.post("/notice", data={"read": "1"}).location.endswith("/check-in/sign")
    assert session.scalar(select(func.count()).select_from(Visit)) == 0


def test_a_recent_signature_of_the_same_version_is_not_asked_again(
    pair: Any, site: Site, session: Session, clock: FrozenClock, make_host: Any
):
    _guest, contractor = add_types(session, site, clock.now())
    _document, version = add_document(
        session, site, clock.now(), valid_days=365, signed_by=(contractor,)
    )
    host = make_host(site)

    def check_in(name: str) -> str:
        kiosk = pair(site)
        # Each time a different host: the kiosk would take the same name and host for a
        # second check-in of someone still on site.
        start(kiosk, contractor, make_host(site, f"Host of {name}"), name=name)
        return kiosk.post("/notice", data={"read": "1"}).location

    first = pair(site)
    start(first, contractor, host)
    first.post("/notice", data={"read": "1"})
    first.post(
        "/check-in/sign",
        data={"version": version.id, "signature": data_url(signature_png()), "sign": "1"},
    )
    assert first.get("/check-in/sign").location.endswith("/done")
    clock.advance(timedelta(days=100))
    # The same words of the name, in another order and case: not asked again.
    assert check_in("contractor CARL").endswith("/done")
    # Someone else is.
    assert check_in("Carla Contractor").endswith("/check-in/sign")
    # After the validity, asked again.
    clock.advance(timedelta(days=266))
    assert check_in("Carl Contractor").endswith("/check-in/sign")


def test_a_new_version_is_signed_again(
    pair: Any, site: Site, session: Session, clock: FrozenClock, make_host: Any
):
    _guest, contractor = add_types(session, site, clock.now())
    document, version = add_document(
        session, site, clock.now(), valid_days=365, signed_by=(contractor,)
    )
    session.add(
        SignedDocument(
            site_id=site.id,
            document_id=document.id,
            document_version_id=version.id,
            signer_name="Carl Contractor",
            accepted_by="signature",
            signed_at=clock.now(),
            erase_after=clock.now() + timedelta(days=365),
            pdf=b"%PDF-",
        )
    )
    clock.advance(timedelta(days=1))
    draft = start_draft(session, document, "en", now=clock.now())
    save_draft(draft, title="Safety briefing", text="New rules for {name}.")
    publish_draft(draft, now=clock.now())
    session.commit()
    kiosk = pair(site)
    start(kiosk, contractor, make_host(site))
    assert kiosk.post("/notice", data={"read": "1"}).location.endswith("/check-in/sign")
    assert "New rules for Carl Contractor." in kiosk.get("/check-in/sign").text


def test_a_published_version_never_changes(session: Session, site: Site, clock: FrozenClock):
    _document, version = add_document(session, site, clock.now())
    version.text = "changed"
    with pytest.raises(PublishedDocumentChanged):
        session.commit()
    session.rollback()
    with pytest.raises(PublishedDocumentChanged):
        save_draft(session.get(DocumentVersion, version.id), title="x", text="y")


def test_publishing_an_empty_draft_is_refused(session: Session, site: Site, clock: FrozenClock):
    document, _version = add_document(session, site, clock.now())
    draft = start_draft(session, document, "sv", now=clock.now())
    assert draft.version == 1
    save_draft(draft, title="Säkerhet", text="  ")
    with pytest.raises(DocumentError):
        publish_draft(draft, now=clock.now())


def test_placeholders_are_filled_once_and_nothing_else():
    values = {"name": "{company}", "company": "Acme", "host": "", "date": "4 December 2026"}
    assert fill_placeholders("{name} {company} {other} {0} {name!r}", values) == (
        "{company} Acme {other} {0} {name!r}"
    )


def test_same_signer_uses_the_erasure_searchs_details():
    assert same_signer("Åsa Öberg", None, "asa OBERG", None)
    assert same_signer("Åsa Öberg", "A@X.se", "Öberg Åsa", "a@x.SE")
    assert not same_signer("Åsa Öberg", None, "Åsa Öberg", "a@x.se")
    assert not same_signer("Åsa", None, "Åsa Öberg", None)
    assert not same_signer("", None, "", None)


def test_checked_signature_reencodes_a_plain_png():
    clean = checked_signature(data_url(signature_png()))
    assert clean.startswith(b"\x89PNG")
    with pytest.raises(SignatureError) as refused:
        checked_signature(data_url(signature_png(ink=False)))
    assert refused.value.code == "blank"


def test_the_first_layer_states_each_documents_period(
    app: Flask, contractor_site: dict[str, Any], session: Session
):
    from kiosk.services.first_layer import first_layer_text

    with app.test_request_context():
        from flask_babel import force_locale

        with force_locale("en"):
            contractor = session.merge(contractor_site["contractor"])
            text = first_layer_text(contractor.site, contractor)
            guest_text = first_layer_text(contractor.site, session.merge(contractor_site["guest"]))
    assert re.search(r"Safety briefing.*365 days after you sign it", text), text
    assert "Safety briefing" not in guest_text


def test_signed_document_pdf_renders_non_latin_names(
    app: Flask, session: Session, site: Site, clock: FrozenClock, make_visit: Any
):
    from kiosk.badges.signed_document import store_signed_documents
    from kiosk.services.documents import Signature

    _document, version = add_document(session, site, clock.now())
    visit = make_visit(site, "Ελένη Παπαδοπούλου", locale="en")
    with app.test_request_context():
        visit = session.get(Visit, visit.id)
        stored = store_signed_documents(
            session,
            visit,
            [
                Signature(
                    version.id,
                    DocumentAcceptance.SIGNATURE,
                    checked_signature(data_url(signature_png())),
                )
            ],
            now=clock.now(),
        )
        session.commit()
    assert "Ελένη Παπαδοπούλου" in pdf_text(stored[0].pdf)
    assert io.BytesIO(stored[0].pdf).read(5) == b"%PDF-"


def test_each_person_of_a_group_signs_in_turn_and_keeps_their_own_copy(
    pair: Any,
    contractor_site: dict[str, Any],
    make_host: Any,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
):
    """A contractor with two colleagues: the kiosk is passed along, each signs the briefing
    under their own name, and each visit keeps its own signed copy. The page reads each
    person's documents once (whose turn it is and the step shown come from the same read)."""
    reads: list[str] = []
    documents_to_sign = signing.documents_to_sign

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs["name"])
        return documents_to_sign(*args, **kwargs)

    monkeypatch.setattr(signing, "documents_to_sign", counted)
    host = make_host(contractor_site["site"], "Hanna Host")
    kiosk = pair(contractor_site["site"])
    version = contractor_site["version"]
    kiosk.post("/language", data={"locale": "en"})
    kiosk.post("/check-in/type", data={"visitor_type": str(contractor_site["contractor"].id)})
    started = kiosk.post(
        "/check-in",
        data={
            "name": "Carl Contractor",
            "company": "Bygg AB",
            "host_id": host.id,
            "with_others": "1",
        },
    )
    assert started.location.endswith("/check-in/group"), started.text
    for name in ("Dana Driller", "Eero Electrician"):
        added = kiosk.post("/check-in/group/add", data={"name": name, "company": "Bygg AB"})
        assert added.status_code == 302
    # Each of the three signs in turn: three steps after the notice.
    notice, total = step_of(kiosk.get("/notice").text)
    assert total == notice + 3
    assert kiosk.post("/notice", data={"read": "1"}).location.endswith("/check-in/sign")

    def sign(signer: int) -> None:
        response = kiosk.post(
            "/check-in/sign",
            data={
                "version": version.id,
                "signer": signer,
                "signature": data_url(signature_png()),
                "sign": "1",
            },
        )
        assert response.location.endswith("/check-in/sign")

    for signer, name in enumerate(("Carl Contractor", "Dana Driller", "Eero Electrician"), 1):
        reads.clear()
        page = kiosk.get("/check-in/sign").text
        assert reads == ["Carl Contractor", "Dana Driller", "Eero Electrician"]
        assert f"For {name} to sign" in page
        assert f"Safety briefing for {name}" in page
        assert step_of(page) == (notice + signer, total)
        if signer == 2:
            # The first visitor's screen sent again (a double tap) signs nobody else.
            sign(1)
            assert "For Dana Driller to sign" in kiosk.get("/check-in/sign").text
        sign(signer)
    assert kiosk.get("/check-in/sign").location.endswith("/check-in/group/done")

    visits = session.scalars(select(Visit).order_by(Visit.id)).all()
    assert [visit.visitor_name for visit in visits] == [
        "Carl Contractor",
        "Dana Driller",
        "Eero Electrician",
    ]
    signed = session.scalars(select(SignedDocument).order_by(SignedDocument.id)).all()
    assert [(item.visit_id, item.signer_name) for item in signed] == [
        (visit.id, visit.visitor_name) for visit in visits
    ]
    for item in signed:
        assert f"Safety briefing for {item.signer_name}" in pdf_text(item.pdf)
    assert session.scalar(select(func.count()).select_from(SessionItem)) == 0


def test_one_person_of_a_group_not_signing_sends_the_group_to_reception(
    pair: Any, contractor_site: dict[str, Any], make_host: Any, session: Session
):
    host = make_host(contractor_site["site"], "Hanna Host")
    kiosk = pair(contractor_site["site"])
    version = contractor_site["version"]
    kiosk.post("/language", data={"locale": "en"})
    kiosk.post("/check-in/type", data={"visitor_type": str(contractor_site["contractor"].id)})
    kiosk.post(
        "/check-in",
        data={
            "name": "Carl Contractor",
            "company": "Bygg AB",
            "host_id": host.id,
            "with_others": "1",
        },
    )
    kiosk.post("/check-in/group/add", data={"name": "Dana Driller", "company": "Bygg AB"})
    kiosk.get("/notice")
    kiosk.post("/notice", data={"read": "1"})
    kiosk.post(
        "/check-in/sign",
        data={"version": version.id, "signature": data_url(signature_png()), "sign": "1"},
    )
    assert "For Dana Driller to sign" in kiosk.get("/check-in/sign").text
    declined = kiosk.post("/check-in/sign", data={"version": version.id, "decline": "1"})
    assert declined.location.endswith("/check-in/sign/declined")
    assert session.scalar(select(func.count()).select_from(Visit)) == 0
    assert session.scalar(select(func.count()).select_from(SignedDocument)) == 0
    assert session.scalar(select(func.count()).select_from(SessionItem)) == 0
