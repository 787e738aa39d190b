"""Admin pages for documents to sign (issue 15): settings within their bounds, drafts per
language with placeholders, a preview, publishing a frozen version, the next version, which
visitor types sign which, retiring; each change audited."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import AuditEvent, Document, DocumentVersion, Site, VisitorType
from tests.support import without_csrf_tokens

SETTINGS = {
    "title": "NDA",
    "kind": "nda",
    "acceptance": "signature",
    "retention_days": "1825",
    "valid_days": "365",
}


def new_document(client: FlaskClient, site: Site, **changes: str) -> Any:
    return client.post(
        f"/dashboard/admin/sites/{site.id}/documents/new", data={**SETTINGS, **changes}
    )


def versions(session: Session) -> list[tuple[str, int, bool, str]]:
    session.expire_all()
    return [
        (v.locale, v.version, v.published_at is not None, v.text)
        for v in session.scalars(select(DocumentVersion).order_by(DocumentVersion.id))
    ]


def test_settings_are_bounded(staff_client: FlaskClient, make_site: Any, session: Session):
    site = make_site()
    for field, value in (("retention_days", "0"), ("retention_days", "3651"), ("valid_days", "0")):
        response = new_document(staff_client, site, **{field: value})
        assert response.status_code == 200
        assert "Please give a number of days from 1 to 3650." in response.text
    assert new_document(staff_client, site, kind="poem").status_code == 200
    assert session.scalars(select(Document)).all() == []
    response = new_document(staff_client, site)
    assert response.status_code == 302
    document = session.scalars(select(Document)).one()
    assert (document.retention_days, document.valid_days) == (1825, 365)


def test_draft_preview_publish_and_the_next_version(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    site = make_site()
    new_document(staff_client, site)
    document = session.scalars(select(Document)).one()
    draft_url = f"/dashboard/admin/documents/{document.id}/draft/en"
    refused = staff_client.post(
        draft_url, data={"title": "NDA", "text": "For {nmae}.", "save": "1"}
    )
    assert "Unknown placeholders: {nmae}" in refused.text
    assert versions(session) == []
    preview = staff_client.post(
        draft_url, data={"title": "NDA", "text": "{name} of {company} keeps quiet.", "preview": "1"}
    )
    assert preview.status_code == 302
    page = staff_client.get(preview.location).text
    assert "Alex Example of Example Ltd keeps quiet." in page
    assert "visitors do not see it yet" in page
    published = staff_client.post(
        draft_url,
        data={"title": "NDA", "text": "{name} of {company} keeps quiet.", "publish": "1"},
    )
    assert published.status_code == 302
    assert versions(session) == [("en", 1, True, "{name} of {company} keeps quiet.")]
    # The next draft starts from the published text and becomes version 2; version 1 stays.
    assert "keeps quiet" in staff_client.get(draft_url).text
    staff_client.post(draft_url, data={"title": "NDA", "text": "Version two.", "publish": "1"})
    assert versions(session) == [
        ("en", 1, True, "{name} of {company} keeps quiet."),
        ("en", 2, True, "Version two."),
    ]
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("publish_document") == 2
    assert "create_document" in actions


def test_an_empty_text_is_not_published(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    site = make_site()
    new_document(staff_client, site)
    document = session.scalars(select(Document)).one()
    response = staff_client.post(
        f"/dashboard/admin/documents/{document.id}/draft/sv",
        data={"title": "NDA", "text": "   ", "publish": "1"},
    )
    assert "Please write the text before publishing." in response.text
    assert versions(session) == []
    assert staff_client.get(f"/dashboard/admin/documents/{document.id}/draft/xx").status_code == 404


def test_a_visitor_type_signs_the_documents_ticked_and_retired_ones_are_not_asked(
    staff_client: FlaskClient, make_site: Any, session: Session, clock: Any
):
    site = make_site()
    contractor = VisitorType(site_id=site.id, key="contractor", created_at=clock.now())
    session.add(contractor)
    session.commit()
    new_document(staff_client, site)
    document = session.scalars(select(Document)).one()
    form = staff_client.get(f"/dashboard/admin/types/{contractor.id}").text
    assert "Documents to sign" in form
    assert "NDA" in form
    response = staff_client.post(
        f"/dashboard/admin/types/{contractor.id}",
        data={"notify_host": "y", "documents": str(document.id)},
    )
    assert response.status_code == 302, response.text
    session.expire_all()
    assert [item.id for item in session.get(VisitorType, contractor.id).documents] == [document.id]
    retired = staff_client.post(
        f"/dashboard/admin/documents/{document.id}/retire", follow_redirects=True
    )
    assert "The document is no longer asked for." in retired.text
    session.expire_all()
    assert session.get(Document, document.id).is_retired
    # A retired document is no longer offered to the types.
    page = staff_client.get(f"/dashboard/admin/types/{contractor.id}").text
    assert "NDA" not in without_csrf_tokens(page)


def test_a_draft_can_be_discarded_but_a_published_version_stays(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    site = make_site()
    new_document(staff_client, site)
    document = session.scalars(select(Document)).one()
    draft_url = f"/dashboard/admin/documents/{document.id}/draft/de"
    staff_client.post(draft_url, data={"title": "NDA", "text": "Erste.", "publish": "1"})
    staff_client.post(draft_url, data={"title": "NDA", "text": "Zweite.", "save": "1"})
    assert versions(session) == [("de", 1, True, "Erste."), ("de", 2, False, "Zweite.")]
    staff_client.post(draft_url, data={"title": "NDA", "text": "", "discard": "1"})
    assert versions(session) == [("de", 1, True, "Erste.")]
