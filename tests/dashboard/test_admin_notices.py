"""Admin: privacy notices with drafts, a preview that is the kiosk's screen, publishing that is
refused while an element is missing, and versions that never change once published."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import AuditEvent, NoticeVersion, PublishedNoticeChanged, Visit
from kiosk.services.notice_drafts import (
    SECTIONS,
    NoticeDraftError,
    NoticeIncomplete,
    compose_notice_text,
    missing_elements,
    publish_draft,
    save_draft,
    start_draft,
)
from kiosk.services.notices import current_notice, publish_notice, render_notice
from tests.support import named

SECTIONS_EN = {
    "purposes": "We need to know who is in the building.",
    "legal_basis": "Our legitimate interest (Article 6(1)(f) GDPR).",
    "legitimate_interests": "Safety of staff and visitors, and an evacuation list.",
    "recipients": "Reception, your host and, when needed, security staff.",
    "transfers": "Nothing is sent outside the EU/EEA.",
    "rights": "You can ask for access, rectification, erasure or restriction.",
    "objection": "You may object at any time. Tell reception.",
    "requirement": "To walk around alone, yes. Otherwise someone accompanies you.",
    "automated_decisions": "We make no automated decisions about you.",
}
SECTIONS_SV = {key: f"Svensk text för {key}." for key in SECTIONS}


def new_draft(client: FlaskClient, site: Any, locale: str = "en") -> int:
    response = client.post(f"/dashboard/admin/sites/{site.id}/notices/{locale}/draft")
    assert response.status_code == 302, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def publish_via_editor(
    client: FlaskClient, site: Any, sections: dict[str, str], locale: str = "en"
) -> Any:
    notice_id = new_draft(client, site, locale)
    return client.post(
        f"/dashboard/admin/notices/{notice_id}", data={**sections, "publish": "1"}
    ), notice_id


def test_publishing_every_element_makes_it_the_kiosk_notice(
    staff_client: FlaskClient, make_site: Any, session: Session, pair: Any, clock: Any
):
    site = make_site(default_locale="en")
    response, notice_id = publish_via_editor(staff_client, site, SECTIONS_EN)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/dashboard/admin/sites/{site.id}/notices"
    notice = session.get(NoticeVersion, notice_id)
    assert notice.version == 1
    assert notice.published_at == clock.now()
    assert notice.sections == SECTIONS_EN
    # The full text has every element, the site's facts and the retention period.
    shown = render_notice(notice, site)
    for text in SECTIONS_EN.values():
        assert text in shown
    assert "Example AB, privacy@example.com" in shown
    assert "Data protection officer: dpo@example.com" in shown
    assert "deleted automatically 30 days after you check out" in shown
    assert "Integritetsskyddsmyndigheten (IMY) (www.imy.se)" in shown

    kiosk = pair(site)
    kiosk.post("/check-in", data={"name": "Ada", "ask_reception": "y"})
    assert "We make no automated decisions about you." in kiosk.get("/notice").text
    public = staff_client.get(f"/privacy/{site.id}/en").text
    assert "We make no automated decisions about you." in public
    assert "Version 1" in public


def test_the_full_text_states_the_shorter_period_of_email_and_phone(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    """As the first layer does: the full text said only the visit's period (an outside
    audit found "30 days" in it beside a first layer saying 7 for email and phone)."""
    site = make_site(default_locale="en", field_email="optional", contact_retention_days=7)
    response, notice_id = publish_via_editor(staff_client, site, SECTIONS_EN)
    assert response.status_code == 302
    shown = render_notice(session.get(NoticeVersion, notice_id), site)
    assert "deleted automatically 30 days after you check out" in shown
    assert (
        "Your email address and phone number are deleted automatically 7 days after you "
        "check out." in shown
    )
    page = staff_client.get(f"/dashboard/admin/sites/{site.id}/notices").text
    assert "data-notice-gaps" not in page
    # Nobody is asked for either: nothing to say of them.
    quiet = make_site(default_locale="en", contact_retention_days=7)
    response, notice_id = publish_via_editor(staff_client, quiet, SECTIONS_EN)
    assert "email address" not in render_notice(session.get(NoticeVersion, notice_id), quiet)


def test_publishing_is_refused_and_names_each_missing_element(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    site = make_site()
    incomplete = {**SECTIONS_EN, "transfers": "  ", "automated_decisions": ""}
    response, notice_id = publish_via_editor(staff_client, site, incomplete)
    assert response.status_code == 200
    assert "The notice cannot be published yet." in response.text
    assert "Transfers outside the EU/EEA" in response.text
    assert "Automated decision-making" in response.text
    assert response.text.count("Required before the notice can be published.") == 2
    session.expire_all()
    notice = session.get(NoticeVersion, notice_id)
    assert notice.published_at is None
    # The work is not lost: the draft is saved with what was written.
    assert notice.sections["purposes"] == SECTIONS_EN["purposes"]
    assert current_notice(session, site, "en") is None


def test_publishing_is_refused_when_the_site_lacks_its_privacy_details(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    site = make_site(controller_contact="", authority_name=" ", dpo_contact=None)
    notices_page = staff_client.get(f"/dashboard/admin/sites/{site.id}/notices").text
    assert "settings need: Controller&#39;s contact details; Supervisory" in notices_page
    response, notice_id = publish_via_editor(staff_client, site, SECTIONS_EN)
    assert "The notice cannot be published yet." in response.text
    assert "Controller&#39;s contact details" in response.text
    assert "Supervisory authority" in response.text
    assert session.get(NoticeVersion, notice_id).published_at is None
    # A missing DPO is fine: the controller may have none.
    assert missing_elements(site, SECTIONS_EN) == ["controller_contact", "authority_name"]


def test_publish_from_the_preview_is_refused_the_same_way(
    staff_client: FlaskClient, make_site: Any
):
    site = make_site()
    notice_id = new_draft(staff_client, site)
    preview = staff_client.get(f"/dashboard/admin/notices/{notice_id}/preview").text
    assert "The notice cannot be published yet." in preview
    response = staff_client.post(f"/dashboard/admin/notices/{notice_id}/publish")
    assert response.status_code == 200
    assert "The notice cannot be published yet." in response.text


def test_saving_a_draft_then_publishing_it_from_the_preview(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    site = make_site()
    notice_id = new_draft(staff_client, site)
    saved = staff_client.post(f"/dashboard/admin/notices/{notice_id}", data=SECTIONS_EN)
    assert saved.headers["Location"] == f"/dashboard/admin/notices/{notice_id}"
    assert "The draft is saved." in staff_client.get(saved.headers["Location"]).text
    assert session.get(NoticeVersion, notice_id).published_at is None
    response = staff_client.post(f"/dashboard/admin/notices/{notice_id}/publish")
    assert response.status_code == 302
    session.expire_all()
    assert session.get(NoticeVersion, notice_id).published_at is not None
    events = session.scalars(select(AuditEvent).where(AuditEvent.target_type == "notice_version"))
    assert [e.action for e in events] == [
        "create_notice_draft",
        "update_notice_draft",
        "publish_notice",
    ]


def _notice_screen(html: str) -> str:
    """The notice part of a kiosk screen: heading, both layers and the QR code."""
    match = re.search(r"<h1>.*?</aside>\s*</div>", html, re.S)
    assert match, html
    return match[0]


def test_preview_is_the_kiosk_screen_in_the_notice_language(
    staff_client: FlaskClient, make_site: Any, pair: Any
):
    site = make_site(default_locale="sv")
    publish_via_editor(staff_client, site, SECTIONS_SV, locale="sv")
    notice_id = new_draft(staff_client, site, "sv")  # a copy of the published version
    kiosk = pair(site)
    kiosk.post("/check-in", data={"name": "Ada", "ask_reception": "y"})
    at_kiosk = kiosk.get("/notice").text
    # The admin reads the dashboard in English; the preview speaks the notice's language.
    preview = staff_client.get(
        f"/dashboard/admin/notices/{notice_id}/preview", headers={"Accept-Language": "en"}
    ).text
    assert _notice_screen(preview) == _notice_screen(at_kiosk)
    assert "Så hanterar vi dina uppgifter" in _notice_screen(preview)
    assert '<html lang="sv">' in preview
    assert "Preview of the draft: version 2, Svenska. Not shown at the kiosk yet." in preview
    # Nothing in the preview acts like the kiosk: no idle reset, no script, inert buttons.
    assert "data-idle-seconds" not in preview
    assert "kiosk.js" not in preview
    assert '<fieldset class="preview-frame" disabled>' in preview


def test_headings_of_the_full_text_are_in_the_notice_language(app: Flask, make_site: Any):
    site = make_site(retention_days=14, authority_contact=None, dpo_contact=None)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        swedish = compose_notice_text(site, SECTIONS_SV, "sv")
        english = compose_notice_text(site, SECTIONS_EN, "en")
    assert swedish.startswith("Vem ansvarar\n{controller_name}, {controller_contact}\n")
    assert "Who is responsible" in english
    assert "{retention_days}" in swedish
    # No DPO and no authority contact: no empty line or parentheses for them.
    assert "dpo_contact" not in english
    assert "({authority_contact})" not in english
    assert english.index("Why") < english.index("Legal basis") < english.index("Complaints")


def test_placeholders_work_and_other_braces_stay_literal(
    app: Flask, make_site: Any, session: Session
):
    site = make_site(retention_days=7)
    sections = {**SECTIONS_EN, "purposes": "Kept {retention_days} days; {not a placeholder} }{"}
    with app.test_request_context():
        draft = start_draft(session, site, "en")
        save_draft(draft, site, sections)
        session.commit()
    assert "Kept 7 days; {not a placeholder} }{" in render_notice(draft, site)


@pytest.mark.parametrize("typo", ["{retention_dayz}", "{}", "{ controller }"])
def test_an_unknown_placeholder_is_refused_in_its_field(
    staff_client: FlaskClient, make_site: Any, session: Session, typo: str
):
    site = make_site()
    notice_id = new_draft(staff_client, site)
    response = staff_client.post(
        f"/dashboard/admin/notices/{notice_id}", data={**SECTIONS_EN, "rights": f"See {typo}"}
    )
    assert response.status_code == 200
    assert "is not a placeholder. You can use: {controller_name}" in response.text
    assert 'id="rights-errors"' in response.text
    session.expire_all()
    assert session.get(NoticeVersion, notice_id).sections["rights"] == ""


def test_too_long_and_control_characters_are_refused(staff_client: FlaskClient, make_site: Any):
    site = make_site()
    notice_id = new_draft(staff_client, site)
    url = f"/dashboard/admin/notices/{notice_id}"
    too_long = staff_client.post(url, data={**SECTIONS_EN, "purposes": "x" * 4001})
    assert "Please use at most 4000 characters." in too_long.text
    control = staff_client.post(url, data={**SECTIONS_EN, "purposes": "a\u202eb"})
    assert "Please use only letters, digits and ordinary punctuation." in control.text
    # Line breaks are ordinary in a long text.
    assert staff_client.post(url, data={**SECTIONS_EN, "rights": "a\r\nb"}).status_code == 302


def test_versions_are_frozen_and_visits_keep_the_version_they_read(
    staff_client: FlaskClient, make_site: Any, session: Session, pair: Any, clock: Any
):
    site = make_site(default_locale="en")
    _response, first_id = publish_via_editor(staff_client, site, SECTIONS_EN)
    kiosk = pair(site)
    kiosk.post("/check-in", data={"name": "First Visitor", "ask_reception": "y"})
    kiosk.get("/notice")
    kiosk.post("/notice", data={"read": "1"})

    # A new draft starts as a copy of the published version.
    clock.advance(timedelta(minutes=10))  # later, within the staff session
    second_id = new_draft(staff_client, site)
    assert second_id != first_id
    editor = staff_client.get(f"/dashboard/admin/notices/{second_id}").text
    assert SECTIONS_EN["purposes"] in editor
    changed = {**SECTIONS_EN, "purposes": "A new reason."}
    staff_client.post(f"/dashboard/admin/notices/{second_id}", data={**changed, "publish": "1"})

    session.expire_all()
    first, second = session.get(NoticeVersion, first_id), session.get(NoticeVersion, second_id)
    assert (first.version, second.version) == (1, 2)
    assert first.sections == SECTIONS_EN
    assert "A new reason." not in first.text
    visit = named(session, Visit, "First Visitor", none=True)
    assert visit.notice_version_id == first_id

    kiosk.post("/check-in", data={"name": "Second Visitor", "ask_reception": "y"})
    assert "A new reason." in kiosk.get("/notice").text
    kiosk.post("/notice", data={"read": "1"})
    later = named(session, Visit, "Second Visitor", none=True)
    assert later.notice_version_id == second_id

    # The published version cannot be edited or discarded, through the pages or the code.
    edit = staff_client.post(f"/dashboard/admin/notices/{first_id}", data=changed)
    assert edit.headers["Location"] == f"/dashboard/admin/notices/{first_id}/preview"
    staff_client.post(f"/dashboard/admin/notices/{first_id}/discard")
    session.expire_all()
    assert session.get(NoticeVersion, first_id).sections == SECTIONS_EN
    with pytest.raises(NoticeDraftError):
        save_draft(first, site, changed)
    first.text = "tampered"
    with pytest.raises(PublishedNoticeChanged):
        session.commit()
    session.rollback()


def test_one_draft_per_language_and_discarding_it(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    site = make_site()
    first = new_draft(staff_client, site)
    assert new_draft(staff_client, site) == first
    assert new_draft(staff_client, site, "de") != first
    page = staff_client.get(f"/dashboard/admin/sites/{site.id}/notices").text
    assert "Edit draft (version 1)" in page
    response = staff_client.post(f"/dashboard/admin/notices/{first}/discard")
    assert response.status_code == 302
    assert session.get(NoticeVersion, first) is None
    assert (
        session.scalar(
            select(AuditEvent.action)
            .where(AuditEvent.target_id == str(first))
            .order_by(AuditEvent.id.desc())
        )
        == "discard_notice_draft"
    )


def test_unknown_language_is_not_found(staff_client: FlaskClient, make_site: Any):
    site = make_site()
    assert (
        staff_client.post(f"/dashboard/admin/sites/{site.id}/notices/xx/draft").status_code == 404
    )
    assert staff_client.get("/dashboard/admin/notices/999/preview").status_code == 404


def test_a_version_published_meanwhile_never_ends_up_newer(
    app: Flask, make_site: Any, session: Session, clock: Any
):
    site = make_site()
    with app.test_request_context():
        draft = start_draft(session, site, "en")
        save_draft(draft, site, SECTIONS_EN)
        session.flush()
        # `kiosk demo` (or any other code) publishes a whole text in the meantime.
        other = publish_notice(session, site, "en", "Whole text.", now=clock.now())
        session.flush()
        publish_draft(session, draft, site, now=clock.now())
        session.commit()
    assert (other.version, draft.version) == (2, 3)
    assert current_notice(session, site, "en").id == draft.id


def test_a_notice_written_whole_is_offered_to_copy_from(
    app: Flask, staff_client: FlaskClient, make_site: Any, session: Session, clock: Any
):
    site = make_site()
    publish_notice(session, site, "en", "An old notice, written whole.", now=clock.now())
    session.commit()
    notice_id = new_draft(staff_client, site)
    draft = session.get(NoticeVersion, notice_id)
    assert draft.version == 2
    assert draft.sections == dict.fromkeys(SECTIONS, "")
    page = staff_client.get(f"/dashboard/admin/notices/{notice_id}").text
    assert "The published version 1, to copy from" in page
    assert "An old notice, written whole." in page


def test_publish_draft_checks_in_the_code_too(app: Flask, make_site: Any, session: Session):
    site = make_site()
    with app.test_request_context():
        draft = start_draft(session, site, "en")
        with pytest.raises(NoticeIncomplete) as refused:
            publish_draft(session, draft, site, now=site.created_at)
    assert refused.value.missing == list(SECTIONS)


def test_the_notices_page_says_what_a_published_notice_no_longer_says(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    """A notice is frozen when published; the settings change after. The page names what the
    frozen text does not say of them: a service each arrival is posted to, a shorter period
    for email and phone (an outside audit found a full notice saying "nothing is sent outside
    the EU/EEA" beside a first layer that named such a service)."""
    site = make_site(default_locale="en")
    response, _notice_id = publish_via_editor(staff_client, site, SECTIONS_EN)
    assert response.status_code == 302
    page = staff_client.get(f"/dashboard/admin/sites/{site.id}/notices").text
    assert "data-notice-gaps" not in page

    site.webhook_url = "https://hooks.slack.com/services/T0/B0/secret"
    site.field_email = "optional"
    site.contact_retention_days = 7
    session.commit()
    page = staff_client.get(f"/dashboard/admin/sites/{site.id}/notices").text
    gaps = page[page.index("data-notice-gaps") :]
    assert "It does not name Slack, which receives each arrival." in gaps
    assert "email addresses and phone numbers go 7 days after the visit" in gaps
    assert "secret" not in page

    # A new version that says both: nothing to point out.
    saying = {
        **SECTIONS_EN,
        "recipients": "Reception, your host, and Slack (each arrival).",
        "transfers": "Slack may handle arrivals outside the EU/EEA.",
        "rights": "Email and phone go after {contact_retention_days} days.",
    }
    response, _notice_id = publish_via_editor(staff_client, site, saying)
    assert response.status_code == 302
    assert (
        "data-notice-gaps" not in staff_client.get(f"/dashboard/admin/sites/{site.id}/notices").text
    )
