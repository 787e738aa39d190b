"""Every staff view of a visitor's personal data is audited, on every dashboard route.

The tests of each page check its own audit event. This goes over every GET of the dashboard's
and the admin pages' permission matrices, and the POSTs that answer with records (the history
search, a data-subject search, the CSV export, an access export, a reprint), for reception and
for an admin. Whatever a response shows (a page, a fragment, a CSV, JSON, a PDF's drawn
text), if it holds a field of the visitor's, of the invited guest's or of the signed
document's, the request must have added an audit event, and that event names ids only.

Each request comes longer after the last one than the on-site list waits before it audits a
refresh again (AUDIT_REFRESH_EVERY), so that no view is hidden by the one before it.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.dashboard.on_site import AUDIT_REFRESH_EVERY
from kiosk.models import AuditEvent, Notification, SignedDocument
from kiosk.services.api_tokens import create_api_token
from kiosk.services.invitations import create_invitation
from kiosk.services.kiosks import create_device
from kiosk.services.visitor_types import add_default_types
from tests.conftest import STAFF_PASSWORD
from tests.documents_support import add_document
from tests.pdf_glyphs import drawn_lines
from tests.security.test_admin_permissions import ADMIN_MATRIX
from tests.security.test_api_permissions import API_MATRIX, _filled
from tests.security.test_permissions import MATRIX
from tests.support import destroy_every_key

#: The visitor's, the guest's and the signer's fields: each distinct from every other text
#: the pages show, so that finding one means the record is on the page.
VISITOR = {
    "visitor_name": "Zelda Quistgaard",
    "company": "Quirkworks",
    "email": "zelda@quirkworks.example",
    "phone": "+46 70 999 88 77",
    "purpose": "Xylophone tuning",
}
GUEST = {
    "visitor_name": "Ilsabet Vrønning",
    "company": "Vrønning Kvist",
    "email": "ilsabet@vronning.example",
}
SIGNER = "Zelda Q. Signer"
MARKERS = (*VISITOR.values(), *GUEST.values(), SIGNER)


#: What reception sees of them: the visitor's and the guest's name and company, and the purpose
#: in the CSV export. The contact details and the signed documents are the data-subject pages'
#: (an admin's).
RECEPTION_SEES = {
    VISITOR["visitor_name"],
    VISITOR["company"],
    VISITOR["purpose"],
    GUEST["visitor_name"],
    GUEST["company"],
}


def _signed_copy() -> bytes:
    """A signed document's own PDF, as the access export attaches it."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(72, 720, f"Signed by {SIGNER}")
    canvas.save()
    return buffer.getvalue()


def shown_text(body: bytes, content_type: str) -> str:
    """A response's text, or the text a PDF draws."""
    if content_type.startswith("application/pdf"):
        text = "\n".join(drawn_lines(body))
    else:
        text = body.decode("utf-8", "replace")
    # HTML escapes; a JSON body escapes non-ASCII.
    text = text.replace("&#43;", "+").replace("&#39;", "'")
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)


def markers_in(text: str) -> list[str]:
    return [marker for marker in MARKERS if marker in text]


@pytest.fixture
def world(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    make_host: Any,
    make_staff: Any,
    clock: Any,
) -> dict[str, Any]:
    site = make_site(name="Here")
    host = make_host(site, name="Hanna Host")
    # On site now: on the dashboard, the evacuation list and in the history.
    visit = make_visit(site, host_id=host.id, **VISITOR)
    # An earlier visit, checked out: in the history and the export only.
    make_visit(
        site,
        host_id=host.id,
        checked_in_at=clock.now() - timedelta(days=2),
        checked_out_at=clock.now() - timedelta(days=2, hours=-1),
        **VISITOR,
    )
    device, _code = create_device(session, site, "Door", now=clock.now())
    invitation = create_invitation(
        session,
        site,
        visitor_name=GUEST["visitor_name"],
        company=GUEST["company"],
        email=GUEST["email"],
        expected_on=clock.now().date(),
        locale="sv",
        host=host,
        now=clock.now(),
    )
    notification = Notification(
        site=site,
        visit=visit,
        kind="host_email",
        status="failed",
        recipient="hanna@example.com",
        subject=f"{VISITOR['visitor_name']} is here",
        body=f"{VISITOR['visitor_name']} from {VISITOR['company']} is at reception.",
        attempts=5,
        next_attempt_at=clock.now(),
        created_at=clock.now(),
        last_error="TimeoutError",
    )
    session.add(notification)
    session.commit()
    document, version = add_document(session, site, clock.now())
    signed = SignedDocument(
        site_id=site.id,
        visit_id=visit.id,
        document_id=version.document_id,
        document_version_id=version.id,
        signer_name=SIGNER,
        accepted_by="tick",
        signed_at=clock.now(),
        erase_after=clock.now() + timedelta(days=30),
        pdf=_signed_copy(),
    )
    session.add(signed)
    session.commit()
    visitor_type = add_default_types(session, site, now=clock.now())[0]
    session.commit()
    someone = make_staff(username="someone", sites=(site,))
    return {
        "site": site,
        "ids": {
            "site": site.id,
            "visit": visit.id,
            "device": device.id,
            "invitation": invitation.id,
            "notification": notification.id,
            "signed": signed.id,
            "host": host.id,
            "user": someone.id,
            "type": visitor_type.id,
            "document": document.id,
            "document_version": version.id,
            # Routes of objects not made here answer 404, which shows nothing.
            "notice": 0,
            "token": 0,
            "webhook": 0,
        },
    }


def _requests(ids: dict[str, int], today: date) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every GET of the two matrices, then the POSTs that answer with records."""
    gets = [
        ("GET", case.path.format(**ids), None)
        for matrix in (MATRIX, ADMIN_MATRIX)
        for cases in matrix.values()
        for case in cases
        if case.method == "GET"
    ]
    posts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/dashboard/history", {"name": "zelda", "host": 0}),
        ("GET", "/dashboard/history?page=1", None),
        ("POST", "/dashboard/history", {"company": "quirk", "host": 0}),
        ("GET", "/dashboard/history?page=1", None),
        (
            "POST",
            "/dashboard/export",
            {
                "site": ids["site"],
                "date_from": (today - timedelta(days=30)).isoformat(),
                "date_to": (today + timedelta(days=1)).isoformat(),
            },
        ),
        # Typed in lower case: the form shows what was typed, which is not the records.
        ("POST", "/dashboard/requests", {"name": VISITOR["visitor_name"].lower(), "email": ""}),
        ("POST", "/dashboard/requests", {"name": GUEST["visitor_name"].lower(), "email": ""}),
        (
            "POST",
            "/dashboard/requests/export.json",
            {"visit": ids["visit"], "invitation": ids["invitation"], "document": ids["signed"]},
        ),
        (
            "POST",
            "/dashboard/requests/export.pdf",
            {"visit": ids["visit"], "invitation": ids["invitation"], "language": "en"},
        ),
        ("POST", f"/dashboard/visits/{ids['visit']}/reprint", {}),
    ]
    return gets + posts


def _login(app: Flask, make_staff: Any, role: str, world: dict[str, Any]) -> FlaskClient:
    if role == "admin":
        user = make_staff(username="the-admin", role="admin")
    else:
        user = make_staff(username="the-desk", sites=(world["site"],))
    client = app.test_client()
    response = client.post(
        "/dashboard/login", data={"username": user.username, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 302
    return client


def _answer(
    client: FlaskClient, clock: Any, method: str, path: str, data: dict[str, Any] | None
) -> tuple[int, str]:
    """(status, the text shown) of one request, sent later than the on-site list waits before
    it audits a refresh again; never a 500."""
    clock.advance(AUDIT_REFRESH_EVERY + timedelta(minutes=1))
    response = client.open(path, method=method, data=data)
    body = response.get_data()
    response.close()
    assert response.status_code < 500, (method, path, response.status_code)
    return response.status_code, shown_text(body, response.headers.get("Content-Type", ""))


def _events(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


@pytest.mark.parametrize("role", ["reception", "admin"])
def test_every_view_of_a_visitors_data_is_audited(
    app: Flask,
    session: Session,
    world: dict[str, Any],
    make_staff: Any,
    clock: Any,
    role: str,
) -> None:
    client = _login(app, make_staff, role, world)
    shown_anywhere: set[str] = set()
    unaudited = []
    for method, path, data in _requests(world["ids"], clock.now().date()):
        before = _events(session)
        status, text = _answer(client, clock, method, path, data)
        shown = markers_in(text) if status == 200 else []
        shown_anywhere.update(shown)
        if shown and _events(session) == before:
            unaudited.append(f"{method} {path}: shows {shown}")
    assert unaudited == []
    # The sweep did reach the records: every field was on some page (a test that found none
    # would pass for the wrong reason).
    assert shown_anywhere == (set(MARKERS) if role == "admin" else RECEPTION_SEES)
    # And the audit log names none of them.
    texts = [
        " ".join(str(value) for value in (event.actor, event.action, event.target_id))
        for event in session.scalars(select(AuditEvent))
    ]
    assert not [text for text in texts if any(marker in text for marker in MARKERS)]


@pytest.mark.parametrize("role", ["reception", "admin"])
def test_every_route_answers_once_the_records_keys_are_destroyed(
    app: Flask,
    session: Session,
    world: dict[str, Any],
    make_staff: Any,
    clock: Any,
    role: str,
) -> None:
    """Between a purge destroying a day's keys and deleting its rows (a crash, or a database
    restored from an older copy), the rows are there and nobody can read them: every route
    answers without a 500 and shows none of their fields."""
    destroy_every_key(app, world["ids"]["site"], clock.now())
    session.expire_all()
    client = _login(app, make_staff, role, world)
    shown = []
    erased_on = set()
    for method, path, data in _requests(world["ids"], clock.now().date()):
        _status, text = _answer(client, clock, method, path, data)
        if found := markers_in(text):
            shown.append(f"{method} {path}: {found}")
        if "(erased)" in text:
            erased_on.add(path)
    assert shown == []
    # The rows were there to be shown, and were shown as erased, never as blanks that look
    # like fields left empty: on the pages, in the CSV files and in the evacuation PDF.
    assert {
        "/dashboard/",
        f"/dashboard/visits/{world['ids']['visit']}",
        "/dashboard/evacuation.pdf",
        "/dashboard/evacuation.csv",
        "/dashboard/export",
    } <= erased_on


def test_every_api_operation_answers_once_the_records_keys_are_destroyed(
    app: Flask, session: Session, world: dict[str, Any], clock: Any
) -> None:
    """The same for the REST API, with a token that may read personal data and write: reads
    and lists show none of the records' fields, and a write to an erased record (a check-out,
    a cancellation, a host renamed) is answered, never a 500."""
    secret = create_api_token(
        session,
        name="Facility system",
        sites=[world["site"]],
        can_write=True,
        personal_data=True,
        created_by=None,
        now=clock.now(),
    ).secret
    session.commit()
    destroy_every_key(app, world["ids"]["site"], clock.now())
    session.expire_all()
    client = app.test_client()
    shown = []
    for cases in API_MATRIX.values():
        for case in cases:
            path = case.path.format(**world["ids"])
            body = (
                {key: _filled(value, world["ids"]) for key, value in case.body.items()}
                if case.body is not None
                else None
            )
            headers = {"Authorization": f"Bearer {secret}", **case.headers}
            response = client.open(path, method=case.method, json=body, headers=headers)
            assert response.status_code < 500, (case.method, path, response.status_code)
            if found := markers_in(shown_text(response.get_data(), response.mimetype)):
                shown.append(f"{case.method} {path}: {found}")
    assert shown == []
    # An erased record says so; its fields are null, not empty text that looks like a field
    # left blank.
    visit = client.get(
        f"/api/v1/visits/{world['ids']['visit']}", headers={"Authorization": f"Bearer {secret}"}
    ).get_json()["visitor"]
    assert visit == dict.fromkeys(("name", "company", "email", "phone", "purpose")) | {
        "state": "erased"
    }
    invitation = client.get(
        f"/api/v1/invitations/{world['ids']['invitation']}",
        headers={"Authorization": f"Bearer {secret}"},
    ).get_json()["visitor"]
    assert invitation == {"name": None, "company": None, "email": None, "state": "erased"}


def test_the_markers_are_found_in_each_kind_of_body() -> None:
    """The detector itself: HTML-escaped, JSON-escaped and plain."""
    assert markers_in(shown_text(b"<td>Zelda Quistgaard</td>", "text/html")) == ["Zelda Quistgaard"]
    assert markers_in(shown_text(b'{"n": "Ilsabet Vr\\u00f8nning"}', "application/json")) == [
        "Ilsabet Vrønning"
    ]
    assert markers_in(shown_text(b"+46 70 999 88 77", "text/csv")) == ["+46 70 999 88 77"]
    assert markers_in(shown_text(b"nothing here", "text/html")) == []
