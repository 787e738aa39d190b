"""Data-subject requests on the dashboard: who may use them, finding a person, access exports
(JSON and a PDF in the person's language), rectification and erasure — all audited, ids only."""

from __future__ import annotations

import json
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.cli import main
from kiosk.clock import FrozenClock
from kiosk.enums import NotificationKind, NotificationStatus
from kiosk.models import (
    HISTORY_SEARCH,
    AuditEvent,
    Invitation,
    Notification,
    SessionItem,
    SiteDailyStats,
    StaffUser,
    Visit,
    WebhookSubscription,
)
from kiosk.privacy import requests
from kiosk.services.notices import publish_notice
from tests.support import require_tool

PAGES = ["/dashboard/requests", "/dashboard/retention"]


@pytest.fixture
def office(make_site: Any) -> Any:
    return make_site(name="Office", retention_days=30)


@pytest.fixture
def officer(make_staff: Any, office: Any, login: Any) -> FlaskClient:
    return login(make_staff(role="privacy", sites=(office,), username="officer"))


def audit(session: Session) -> list[tuple[str, str, str | None]]:
    session.expire_all()
    return [
        (event.action, event.target_type, event.target_id)
        for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        if event.action != "login"
    ]


def test_privacy_officers_are_created_like_other_staff(
    runner: FlaskCliRunner, session: Session, office: Any
):
    result = runner.invoke(
        main,
        ["create-user", "pia", "--role", "privacy", "--site", "Office"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = session.scalars(select(StaffUser)).one()
    assert (user.role, user.handles_requests, user.is_admin) == ("privacy", True, False)


def test_only_admins_and_privacy_officers_handle_requests(
    client: FlaskClient, make_staff: Any, login: Any, office: Any, officer: FlaskClient
):
    for page in PAGES:
        assert client.get(page).status_code == 302  # to the login page
        assert officer.get(page).status_code == 200
    reception = login(make_staff(role="reception", sites=(office,)))
    admin = login(make_staff(role="admin"))
    for page in PAGES:
        assert reception.get(page).status_code == 403
        assert admin.get(page).status_code == 200
    for page in [
        "/dashboard/requests",
        "/dashboard/requests/export.json",
        "/dashboard/requests/export.pdf",
        "/dashboard/requests/erase",
    ]:
        assert reception.post(page, data={"visit": "1"}).status_code == 403
    # Statistics hold no personal data: every staff member sees their sites'.
    assert reception.get("/dashboard/statistics").status_code == 200
    assert "Requests" not in reception.get("/dashboard/statistics").text
    assert "Requests" in officer.get("/dashboard/statistics").text


def test_finding_a_person_by_name_or_email_in_the_officers_sites_only(
    officer: FlaskClient,
    make_site: Any,
    make_visit: Any,
    office: Any,
    session: Session,
    clock: FrozenClock,
    make_invitation: Any,
):
    elsewhere = make_site(name="Elsewhere")
    mine = make_visit(office, "Åsa Öberg-Lind", email="asa@example.com")
    by_email = make_visit(office, "A. Oberg", email="ASA@example.com")
    make_visit(office, "Åsa Andersson")
    make_visit(elsewhere, "Åsa Öberg-Lind", email="asa@example.com")
    invitation = make_invitation(
        office, "Asa Oberg Lind", expected_on=date(2026, 3, 9), locale="sv"
    )

    page = officer.post("/dashboard/requests", data={"name": "asa oberg-lind"}).text
    assert page.count('name="visit"') == 1
    assert f'value="{mine.id}"' in page
    assert f'name="invitation" value="{invitation.id}"' in page
    assert "Elsewhere" not in page

    page = officer.post(
        "/dashboard/requests", data={"name": "Åsa Öberg-Lind", "email": "asa@example.com"}
    ).text
    assert page.count('name="visit"') == 2
    assert f'value="{by_email.id}"' in page

    # Search terms never travel in the URL: a GET with them shows the empty form.
    page = officer.get("/dashboard/requests?name=Åsa").text
    assert 'name="visit"' not in page
    assert "Please enter a name" in officer.post("/dashboard/requests", data={}).text
    assert ("request_search", "visit", str(mine.id)) in audit(session)
    # The second search listed two visits and the invitation: an event for each.
    assert ("request_search", "visit", str(by_email.id)) in audit(session)
    assert audit(session).count(("request_search", "visit", str(mine.id))) == 2
    assert audit(session).count(("request_search", "invitation", str(invitation.id))) == 2
    assert all(target_id and target_id.isdigit() for _a, _t, target_id in audit(session))


def test_a_search_by_name_reads_only_the_visits_having_every_word_in_batches(
    session: Session, office: Any, make_visit: Any, make_invitation: Any, monkeypatch: Any
):
    # The visits having every word of the name come from the name index, then are read by
    # their ids a batch at a time (two here) and compared whole word by whole word.
    monkeypatch.setattr(requests, "ID_BATCH", 2)
    wanted = [make_visit(office, name) for name in ("Åsa Öberg", "ÖBERG Åsa", "asa  oberg-lind")]
    wanted += [make_visit(office, "Åsa Öberg", email=f"asa{n}@example.com") for n in range(3)]
    make_visit(office, "Åsa Andersson")  # the first word only
    make_visit(office, "Bo Öberg")  # the second only
    make_visit(office, "Åsalind Öbergson")  # words that start alike are other words
    make_invitation(office, "Åsa Öbergson")
    invited = make_invitation(office, "oberg asa")
    found = requests.find_person(session, [office.id], name="asa öberg")
    assert [visit.id for visit in found.visits] == [visit.id for visit in reversed(wanted)]
    assert [invitation.id for invitation in found.invitations] == [invited.id]
    by_email = requests.find_person(session, [office.id], email="ASA1@example.com")
    assert [visit.id for visit in by_email.visits] == [wanted[4].id]
    assert by_email.invitations == []


def test_access_export_as_json(
    officer: FlaskClient,
    make_visit: Any,
    make_host: Any,
    office: Any,
    session: Session,
    clock: FrozenClock,
):
    notice = publish_notice(session, office, "sv", "Hej {controller_name}", now=clock.now())
    session.commit()
    host = make_host(office, "Hanna Host")
    visit = make_visit(
        office,
        "Jon Json",
        email="jon@example.com",
        phone="+46 70 000",
        host_id=host.id,
        locale="sv",
        notice_version_id=notice.id,
        checked_out_at=clock.now() + timedelta(hours=2),
    )
    response = officer.post("/dashboard/requests/export.json", data={"visit": [str(visit.id)]})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="visitor-data-2026-03-04.json"'
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.data)
    (exported,) = data["visits"]
    assert (exported["name"], exported["email"], exported["phone"]) == (
        "Jon Json",
        "jon@example.com",
        "+46 70 000",
    )
    assert exported["host"] == "Hanna Host"
    assert exported["privacy_notice"]["version"] == 1
    assert exported["privacy_notice"]["language"] == "sv"
    assert exported["privacy_notice"]["text"] == "Hej Example AB"
    # Checked out at 10:00 UTC (11:00 in Stockholm): erased 30 days later at 11:00 local.
    assert exported["erased_from"] == "2026-04-03T09:00:00+00:00"
    assert exported["recipients"] == [
        {"recipient": "reception", "name": "Office", "at": None, "personal_data": True},
        {"recipient": "host", "name": "Hanna Host", "at": None, "personal_data": True},
    ]
    assert data["controllers"][0]["controller"] == "Example AB"
    assert ("request_export_json", "visit", str(visit.id)) in audit(session)


def test_the_access_export_names_every_service_a_message_about_the_visit_went_to(
    officer: FlaskClient,
    make_host: Any,
    make_visit: Any,
    office: Any,
    session: Session,
    clock: FrozenClock,
    tmp_path: Path,
):
    """GDPR Art. 15(1)(c): the host's email and each webhook call the outbox sent, with when;
    a call that carried no name says so; what was never sent is not listed."""
    office.webhook_url = "https://hooks.slack.example/services/T0/B0"
    host = make_host(office, "Hanna Host")
    visit = make_visit(office, "Wera Webhook", host_id=host.id)
    sent = clock.now() + timedelta(minutes=1)
    crm = WebhookSubscription(
        site_id=office.id,
        name="CRM",
        url="https://crm.vendor.example/in",
        format="standard",
        events="visit.checked_in",
        personal=True,
        secret="s" * 40,
        created_at=clock.now(),
    )
    counter = WebhookSubscription(
        site_id=office.id,
        name="People counter",
        url="http://counter.internal:8080/x",
        format="standard",
        events="visit.checked_in",
        personal=False,
        secret="t" * 40,
        created_at=clock.now(),
    )
    session.add_all([crm, counter])
    session.flush()
    for kind, subscription, status, at in (
        (NotificationKind.HOST_EMAIL, None, NotificationStatus.SENT, sent),
        (NotificationKind.HOST_WEBHOOK, None, NotificationStatus.SENT, sent),
        (NotificationKind.EVENT_WEBHOOK, crm, NotificationStatus.SENT, sent),
        (NotificationKind.EVENT_WEBHOOK, counter, NotificationStatus.SENT, sent),
        (NotificationKind.EVENT_WEBHOOK, crm, NotificationStatus.FAILED, None),
    ):
        session.add(
            Notification(
                site_id=office.id,
                visit_id=visit.id,
                host_id=host.id,
                subscription_id=None if subscription is None else subscription.id,
                kind=kind,
                status=status,
                attempts=1,
                next_attempt_at=clock.now(),
                created_at=clock.now(),
                sent_at=at,
            )
        )
    session.commit()

    response = officer.post("/dashboard/requests/export.json", data={"visit": [str(visit.id)]})
    (exported,) = json.loads(response.data)["visits"]
    at = "2026-03-04T08:01:00+00:00"
    assert exported["recipients"][2:] == [
        {"recipient": "host_email", "name": "Hanna Host", "at": at, "personal_data": True},
        {"recipient": "webhook", "name": "hooks.slack.example", "at": at, "personal_data": True},
        {
            "recipient": "webhook",
            "name": "CRM (crm.vendor.example)",
            "at": at,
            "personal_data": True,
        },
        {
            "recipient": "webhook",
            "name": "People counter (counter.internal)",
            "at": at,
            "personal_data": False,
        },
    ]
    response = officer.post("/dashboard/requests/export.pdf", data={"visit": [str(visit.id)]})
    text = " ".join(pdf_text(response.data, tmp_path).split())
    assert "An email to Hanna Host, the person you visited" in text
    assert "CRM (crm.vendor.example), a service the site sends arrivals to" in text
    assert "the visit's number and times only" in text


def test_other_sites_records_are_not_exported(
    officer: FlaskClient, make_site: Any, make_visit: Any
):
    foreign = make_visit(make_site(name="Foreign"), "Not Yours")
    response = officer.post("/dashboard/requests/export.json", data={"visit": [str(foreign.id)]})
    assert response.status_code == 302
    assert b"Not Yours" not in response.data


def pdf_text(data: bytes, tmp_path: Path) -> str:
    pdftotext = require_tool("pdftotext", "poppler-utils")
    path = tmp_path / "access.pdf"
    path.write_bytes(data)
    return subprocess.run(
        [pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_access_export_as_pdf_in_the_persons_language(
    officer: FlaskClient,
    make_visit: Any,
    office: Any,
    session: Session,
    clock: FrozenClock,
    tmp_path: Path,
    make_invitation: Any,
):
    visit = make_visit(
        office,
        "Ærlig Østergård <b>&",
        email="ae@example.com",
        locale="da",
        checked_out_at=clock.now() + timedelta(hours=1),
    )
    invitation = make_invitation(
        office, "Ærlig Østergård", expected_on=date(2026, 3, 20), locale="da"
    )
    search = officer.post("/dashboard/requests", data={"email": "ae@example.com"}).text
    assert '<option selected value="da">' in search  # the person's language is preselected
    response = officer.post(
        "/dashboard/requests/export.pdf",
        data={"visit": [str(visit.id)], "invitation": [str(invitation.id)], "language": "da"},
    )
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = pdf_text(response.data, tmp_path)
    assert "Ærlig Østergård <b>&" in text
    assert "Dine besøgsoplysninger" in text  # the title, in Danish
    assert "ae@example.com" in text
    assert "Slettes fra" in text
    assert "Receptionen på Office" in text
    assert ("request_export_pdf", "invitation", str(invitation.id)) in audit(session)

    english = officer.post(
        "/dashboard/requests/export.pdf", data={"visit": [str(visit.id)], "language": "en"}
    )
    assert "Your visitor data" in pdf_text(english.data, tmp_path)


def test_rectifying_a_visit(officer: FlaskClient, make_visit: Any, office: Any, session: Session):
    visit = make_visit(office, "Wrong Name", email="wrong@example.com")
    page = officer.get(f"/dashboard/requests/visits/{visit.id}")
    assert "a correction become unreadable about 15 minutes after it is saved" in page.text
    assert "Wrong Name" in page.text
    bad = officer.post(
        f"/dashboard/requests/visits/{visit.id}",
        data={"visitor_name": "Right Name", "email": "not an email"},
    )
    assert "Please check the email address." in bad.text
    response = officer.post(
        f"/dashboard/requests/visits/{visit.id}",
        data={"visitor_name": "Right Name", "email": "right@example.com", "company": "Co"},
    )
    assert response.status_code == 302
    session.expire_all()
    fixed = session.get(Visit, visit.id)
    assert (fixed.visitor_name, fixed.email, fixed.company) == (
        "Right Name",
        "right@example.com",
        "Co",
    )
    # Each page showing the visit is a view; the correction is recorded on its own.
    assert audit(session) == [
        ("request_view", "visit", str(visit.id)),
        ("request_view", "visit", str(visit.id)),
        ("rectify_visit", "visit", str(visit.id)),
    ]


def test_a_visit_of_another_site_cannot_be_opened(
    officer: FlaskClient, make_site: Any, make_visit: Any
):
    foreign = make_visit(make_site(name="Foreign"), "Not Yours")
    assert officer.get(f"/dashboard/requests/visits/{foreign.id}").status_code == 404


def test_erasure_on_request_uses_the_purge_mechanics(
    officer: FlaskClient,
    make_visit: Any,
    make_host: Any,
    office: Any,
    session: Session,
    clock: FrozenClock,
    make_invitation: Any,
    make_staff: Any,
    login: Any,
):
    host = make_host(office)
    gone = make_visit(
        office, "Erase Me", host_id=host.id, checked_out_at=clock.now() + timedelta(minutes=30)
    )
    invited = make_invitation(office, "Erase Me", expected_on=date(2026, 3, 4))
    later = make_invitation(office, "Erase Me", expected_on=date(2026, 3, 20))
    invited.visit_id = gone.id
    session.commit()
    kept = make_visit(office, "Keep Me")
    gone_id, later_id = gone.id, later.id
    chosen = {"visit": [str(gone_id)], "invitation": [str(later_id)]}
    # Reception searched the history for the person: the terms are kept on the server.
    desk = login(make_staff(role="reception", sites=(office,), username="desk"))
    assert desk.post("/dashboard/history", data={"name": "Erase", "host": "0"}).status_code == 302

    def searches() -> int:
        session.expire_all()
        saved = select(func.count()).where(SessionItem.name == HISTORY_SEARCH)
        return session.scalar(saved.select_from(SessionItem)) or 0

    assert searches() == 1

    confirm = officer.post("/dashboard/requests/erase", data=chosen)
    assert confirm.status_code == 200
    assert "Erase Me" in confirm.text
    # The officer can tell the person when old backups forget them (docs/privacy.md).
    assert (
        "In backups made before now, what you erase here becomes unreadable about 15 minutes"
        in (confirm.text)
    )
    unconfirmed = officer.post(
        "/dashboard/requests/erase", data={**chosen, "reason": "objection", "submit": "1"}
    )
    assert "Please confirm" in unconfirmed.text
    assert session.scalar(select(func.count()).select_from(Visit)) == 2

    done = officer.post(
        "/dashboard/requests/erase",
        data={**chosen, "reason": "objection", "confirm": "y", "submit": "1"},
    )
    assert done.status_code == 302
    # The visit, the invitation it came from, and the later invitation.
    assert "3 records erased." in officer.get(done.headers["Location"]).text
    session.expire_all()
    assert list(session.scalars(select(Visit.id))) == [kept.id]
    assert session.scalar(select(func.count()).select_from(Invitation)) == 0
    stats = session.get(SiteDailyStats, (office.id, date(2026, 3, 4)))
    assert (stats.visits, stats.duration_seconds) == (1, 1800)
    assert ("erase_on_objection", "visit", str(gone_id)) in audit(session)
    assert ("erase_on_objection", "invitation", str(later_id)) in audit(session)
    # Staff users' saved searches may hold the name: they go with the erasure.
    assert searches() == 0
    assert 'value="Erase"' not in desk.get("/dashboard/history").text


def test_erasure_needs_the_csrf_token(
    app_config: dict[str, Any],
    make_site: Any,
    make_staff: Any,
    make_visit: Any,
    session: Session,
):
    from kiosk import create_app
    from kiosk.db import get_database

    site = make_site()
    make_staff(role="admin", username="boss")
    visit = make_visit(site, "Protected Person")
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    try:
        client = app.test_client()
        login_page = client.get("/dashboard/login").text
        token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post(
            "/dashboard/login",
            data={"username": "boss", "password": "correct horse battery", "csrf_token": token},
        )
        response = client.post(
            "/dashboard/requests/erase",
            data={"visit": [str(visit.id)], "reason": "erasure", "confirm": "y", "submit": "1"},
        )
        assert response.status_code == 400
        assert session.scalar(select(func.count()).select_from(Visit)) == 1
    finally:
        get_database(app).engine.dispose()


@pytest.fixture
def mail_and_webhook(app_config: dict[str, Any]) -> dict[str, Any]:
    """Email configured (nothing listens: the outbox keeps the messages) and a site webhook."""
    from tests.support import free_port

    app_config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())
    return app_config


def test_a_correction_rewrites_the_messages_about_the_visit_not_yet_sent(
    mail_and_webhook: dict[str, Any],
    app: Any,
    officer: FlaskClient,
    office: Any,
    make_host: Any,
    pair: Any,
    session: Session,
):
    """A host email and a site webhook call still in the outbox (the mail server down) when
    the privacy officer corrects the visitor's name: they go with the corrected name, not the
    one corrected (GDPR Art. 19), sealed under new keys; a group's one message keeps its
    count of companions."""
    from sqlalchemy import text

    from kiosk.field_cipher import key_id_of

    office.webhook_url = "https://hooks.example.org/office"
    host = make_host(office, "Hanna Host", email="hanna@example.com")
    session.commit()
    kiosk = pair(office)
    details = {"name": "Wrong Name", "host_id": host.id, "host_query": host.name}
    assert kiosk.post("/check-in", data={**details, "with_others": "1"}).status_code == 302
    assert kiosk.post("/check-in/group/add", data={"name": "Cora Companion"}).status_code == 302
    kiosk.get("/notice")
    assert kiosk.post("/notice", data={"read": "1"}).status_code == 302
    first = session.scalars(select(Visit).order_by(Visit.id)).first()
    assert first is not None
    assert first.visitor_name == "Wrong Name"

    def queued() -> list[Notification]:
        session.expire_all()
        return list(
            session.scalars(
                select(Notification)
                .where(Notification.kind.in_(("host_email", "host_webhook")))
                .order_by(Notification.id)
            )
        )

    def keys() -> set[bytes]:
        rows = session.execute(text("SELECT body_sealed FROM notifications")).scalars()
        return {key_id_of(bytes(sealed)) for sealed in rows}

    before = queued()
    assert sorted(item.kind for item in before) == ["host_email", "host_webhook"]
    assert all("Wrong Name" in (item.body or "") for item in before)
    old_keys = keys()

    response = officer.post(
        f"/dashboard/requests/visits/{first.id}", data={"visitor_name": "Right Name"}
    )
    assert response.status_code == 302
    after = queued()
    assert [item.id for item in after] == [item.id for item in before]
    for item in after:
        assert item.status == NotificationStatus.PENDING
        assert "Wrong" not in f"{item.subject} {item.body}"
        assert "Right Name" in (item.body or "")
    webhook = next(item for item in after if item.kind == "host_webhook")
    # In the site's language (Swedish), with the companion counted as before.
    assert "Right Name och 1 person till" in json.loads(webhook.body or "{}")["text"]
    assert not keys() & old_keys
