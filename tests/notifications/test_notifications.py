"""Host notifications: a check-in queues an email to the host and a webhook call; a sender
delivers them to a real SMTP server and a real HTTP server, retrying with backoff, and failures
show on the dashboard. The check-in never waits for or fails because of them."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.cli import main
from kiosk.clock import FrozenClock
from kiosk.db import get_database
from kiosk.enums import NotificationKind, NotificationStatus
from kiosk.models import AuditEvent, Notification, PrintJob, Visit
from kiosk.notifications.messages import queue_arrival_notifications, send_invitation_email
from kiosk.notifications.outbox import (
    QUEUE_FULL,
    STALE_CLAIM,
    NotifySettings,
    claim_notification,
    release_stale_claims,
    retry_delay,
)
from kiosk.notifications.sender import EXTENSION_KEY, NotificationSender, deliver_due
from kiosk.services.invitations import create_invitation
from tests.servers import Hook, Inbox, silent_port, smtp_server, webhook_server
from tests.support import destroy_every_key, free_port, indexes_name, require_module

VISITOR = "Zacharias Quist"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def webhook() -> Iterator[tuple[str, Hook]]:
    with webhook_server() as server:
        yield server


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp: tuple[int, Inbox]) -> dict[str, Any]:
    return {
        **app_config,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp[0],
        "SMTP_STARTTLS": False,
        "SMTP_TIMEOUT_SECONDS": 2,
        "WEBHOOK_TIMEOUT_SECONDS": 1,
        "MAIL_FROM": "reception@example.com",
    }


@pytest.fixture
def inbox(smtp: tuple[int, Inbox]) -> Inbox:
    return smtp[1]


@pytest.fixture
def site(make_site: Any) -> Any:
    return make_site(name="Head Office", default_locale="sv")


@pytest.fixture
def host(site: Any, make_host: Any) -> Any:
    return make_host(site, name="Hanna Host", email="hanna@example.com")


@pytest.fixture
def queue_visit(
    app: Flask, session: Session, site: Any, host: Any, make_visit: Any, clock: FrozenClock
) -> Any:
    """Return a callable that records a visit to the host and queues its notifications."""

    def make(**fields: Any) -> list[Notification]:
        visit = make_visit(site, host_id=host.id, **fields)
        with app.app_context():
            entries = queue_arrival_notifications(session, visit, now=clock.now())
        session.commit()
        return entries

    return make


def check_in(kiosk: FlaskClient, host: Any | None, name: str = VISITOR, **fields: str) -> Any:
    """Enter details, confirm the notice, and return the answer to the confirmation."""
    data = {"name": name, **fields}
    if host is None:
        data["ask_reception"] = "y"
    else:
        data |= {"host_id": str(host.id), "host_query": host.name}
    response = kiosk.post("/check-in", data=data)
    assert response.headers["Location"] == "/notice", response.text
    kiosk.get("/notice")
    response = kiosk.post("/notice", data={"read": "1"})
    assert response.headers["Location"] == "/done"
    return response


def notifications(session: Session) -> list[Notification]:
    session.expire_all()
    return list(session.scalars(select(Notification).order_by(Notification.id)))


def test_check_in_emails_the_host_in_their_language_and_calls_the_webhook(
    app: Flask,
    pair: Any,
    session: Session,
    site: Any,
    host: Any,
    inbox: Inbox,
    webhook: tuple[str, Hook],
):
    url, hook = webhook
    site.webhook_url = url
    host.locale = "de"
    session.commit()

    check_in(pair(site), host, company="Nordic Labs")
    queued = notifications(session)
    assert [(n.kind, n.status) for n in queued] == [
        (NotificationKind.HOST_EMAIL, NotificationStatus.PENDING),
        (NotificationKind.HOST_WEBHOOK, NotificationStatus.PENDING),
    ]
    assert inbox.messages == []  # nothing is sent inside the request

    report = deliver_due(app)
    assert (report.sent, report.retrying, report.failed) == (2, 0, 0)

    [message] = inbox.wait_for(1)
    assert message["To"] == "hanna@example.com"
    assert message["From"] == "reception@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Subject"] == f"Ihr Besuch {VISITOR} ist angekommen"
    body = message.get_content()
    assert "Hallo Hanna Host," in body
    # 08:00 UTC is 09:00 in Stockholm.
    assert f"{VISITOR} (Nordic Labs) hat sich um 09:00 bei Head Office angemeldet" in body

    [(content_type, payload)] = hook.wait_for(1)
    assert content_type.startswith("application/json")
    # The webhook speaks the site's language (Swedish here).
    assert payload == {
        "text": f"{VISITOR} (Nordic Labs) har kommit till Head Office för att träffa Hanna Host."
    }

    for entry in notifications(session):
        assert entry.status == NotificationStatus.SENT
        assert entry.attempts == 1
        # Once sent, the message (personal data) is not kept.
        assert (entry.recipient, entry.subject, entry.body) == (None, None, None)


def test_host_without_a_language_gets_the_sites(
    app: Flask, pair: Any, site: Any, host: Any, inbox: Inbox
):
    check_in(pair(site), host)
    deliver_due(app)
    [message] = inbox.wait_for(1)
    assert message["Subject"] == f"Din besökare {VISITOR} har kommit"


def test_visitor_without_a_host_only_calls_the_webhook(
    app: Flask, pair: Any, session: Session, site: Any, webhook: tuple[str, Hook]
):
    url, hook = webhook
    site.webhook_url = url
    site.default_locale = "en"
    session.commit()
    check_in(pair(site), None, name="<!channel> & co")
    assert [n.kind for n in notifications(session)] == [NotificationKind.HOST_WEBHOOK]
    deliver_due(app)
    [(_type, payload)] = hook.wait_for(1)
    # Slack's control characters in a name are escaped, so a name cannot ping a channel.
    assert payload["text"] == (
        "&lt;!channel&gt; &amp; co has arrived at Head Office and asks for reception."
    )


def test_no_email_without_smtp_settings(
    app: Flask, pair: Any, session: Session, site: Any, host: Any
):
    app.config["SMTP_HOST"] = None
    check_in(pair(site), host)
    assert notifications(session) == []


@pytest.fixture
def dead_smtp(app_config: dict[str, Any]) -> dict[str, Any]:
    """SMTP settings pointing at a port where nothing listens."""
    app_config["SMTP_PORT"] = free_port()
    return app_config


def test_smtp_server_down_retries_with_backoff_then_fails_and_shows_on_dashboard(
    dead_smtp: dict[str, Any],
    app: Flask,
    pair: Any,
    session: Session,
    site: Any,
    host: Any,
    clock: FrozenClock,
    make_staff: Any,
    login: Any,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    response = check_in(pair(site), host)
    assert response.status_code == 302  # the check-in succeeds all the same
    assert session.scalars(select(Visit)).one().visitor_name == VISITOR

    settings = NotifySettings.from_config(app.config)
    delays = []
    for attempt in range(1, 6):
        report = deliver_due(app)
        assert report.attempted == 1
        [entry] = notifications(session)
        assert entry.attempts == attempt
        assert entry.last_error == "ConnectionRefusedError"
        if attempt < 5:
            assert entry.status == NotificationStatus.PENDING
            delay = entry.next_attempt_at - clock.now()
            assert delay == retry_delay(attempt, settings)
            delays.append(delay.total_seconds())
            assert deliver_due(app).attempted == 0  # not due before its time
            clock.advance(delay)
    assert delays == [30, 60, 120, 240]  # doubling from NOTIFY_RETRY_SECONDS
    assert entry.status == NotificationStatus.FAILED
    clock.advance(timedelta(days=1))
    assert deliver_due(app).attempted == 0  # given up

    staff = login(make_staff(sites=(site,)))
    assert "nav-count" in staff.get("/dashboard/").text
    page = staff.get("/dashboard/notifications").text
    assert "ConnectionRefusedError" in page
    assert "Hanna Host" in page
    assert VISITOR not in page
    assert "hanna@example.com" not in page
    # Logs name notifications and error classes, never the visitor.
    assert "ConnectionRefusedError" in caplog.text
    assert VISITOR not in caplog.text
    assert "Zacharias" not in caplog.text


def test_retry_from_the_dashboard_delivers_once_the_server_is_back(
    failed: Notification,
    smtp: tuple[int, Inbox],
    app: Flask,
    session: Session,
    site: Any,
    make_staff: Any,
    login: Any,
):
    entry = failed
    app.config["SMTP_PORT"] = smtp[0]  # the mail server is back
    staff = login(make_staff(sites=(site,)))
    response = staff.post(f"/dashboard/notifications/{entry.id}/retry")
    assert response.status_code == 302
    [entry] = notifications(session)
    assert (entry.status, entry.attempts) == (NotificationStatus.PENDING, 0)
    deliver_due(app)
    smtp[1].wait_for(1)
    assert notifications(session)[0].status == NotificationStatus.SENT
    actions = session.scalars(select(AuditEvent.action)).all()
    assert "retry_notification" in actions


def test_smtp_server_that_never_answers_times_out(
    app_config: dict[str, Any], pair: Any, session: Session, site: Any, host: Any
):
    with silent_port() as port:
        app_config |= {"SMTP_PORT": port, "SMTP_TIMEOUT_SECONDS": 0.3}
        from kiosk import create_app

        app = create_app(app_config)
        try:
            check_in(pair(site), host)
            assert deliver_due(app).retrying == 1
        finally:
            get_database(app).engine.dispose()
    [entry] = notifications(session)
    assert (entry.status, entry.last_error) == (NotificationStatus.PENDING, "TimeoutError")


@pytest.mark.parametrize(
    ("reply", "status", "error"),
    [
        ("451 4.3.0 Mailbox of hanna@example.com busy", NotificationStatus.PENDING, "SMTP 451"),
        ("550 5.1.1 No mailbox hanna@example.com here", NotificationStatus.FAILED, "SMTP 550"),
    ],
)
def test_smtp_refusals_are_retried_only_when_temporary(
    app: Flask,
    pair: Any,
    session: Session,
    site: Any,
    host: Any,
    inbox: Inbox,
    reply: str,
    status: str,
    error: str,
):
    inbox.refuse_with = reply
    check_in(pair(site), host)
    deliver_due(app)
    [entry] = notifications(session)
    # The server's text (which quotes the address) is never kept: its code is.
    assert (entry.status, entry.last_error) == (status, error)


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        ({"status": 503}, NotificationStatus.PENDING, "HTTP 503"),
        ({"status": 429}, NotificationStatus.PENDING, "HTTP 429"),
        ({"status": 404}, NotificationStatus.FAILED, "HTTP 404"),
        ({"delay": 2.0}, NotificationStatus.PENDING, "TimeoutError"),
    ],
)
def test_webhook_failures(
    app: Flask,
    pair: Any,
    session: Session,
    site: Any,
    webhook: tuple[str, Hook],
    answer: dict[str, Any],
    status: str,
    error: str,
):
    url, hook = webhook
    for key, value in answer.items():
        setattr(hook, key, value)
    site.webhook_url = url
    session.commit()
    check_in(pair(site), None)
    response_report = deliver_due(app)
    assert response_report.attempted == 1
    [entry] = notifications(session)
    assert (entry.status, entry.last_error) == (status, error)


def test_webhook_server_down(app: Flask, pair: Any, session: Session, site: Any):
    site.webhook_url = f"http://127.0.0.1:{free_port()}/hook"
    session.commit()
    check_in(pair(site), None)
    deliver_due(app)
    [entry] = notifications(session)
    assert (entry.status, entry.last_error) == (
        NotificationStatus.PENDING,
        "ConnectionRefusedError",
    )


def test_full_queue_records_a_failure_and_checks_in_anyway(
    app: Flask,
    pair: Any,
    session: Session,
    site: Any,
    host: Any,
    make_staff: Any,
    login: Any,
):
    app.config["NOTIFY_QUEUE_LIMIT"] = 1
    kiosk = pair(site)
    check_in(kiosk, host)
    response = check_in(kiosk, host, name="Second Visitor")
    assert response.status_code == 302
    assert len(session.scalars(select(Visit)).all()) == 2
    first, second = notifications(session)
    assert first.status == NotificationStatus.PENDING
    assert (second.status, second.last_error) == (NotificationStatus.FAILED, QUEUE_FULL)
    page = login(make_staff(sites=(site,))).get("/dashboard/notifications").text
    assert "Queue full" in page


@pytest.mark.parametrize("broken", ["arrival_messages", "queue_arrival_messages"])
def test_a_broken_outbox_never_fails_the_check_in(
    broken: str,
    pair: Any,
    session: Session,
    site: Any,
    host: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    def raises(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError(VISITOR)

    monkeypatch.setattr(f"kiosk.checkin.{broken}", raises)
    kiosk = pair(site)
    with caplog.at_level(logging.ERROR):
        check_in(kiosk, host)
    assert VISITOR.split()[0] in kiosk.get("/done").text
    assert session.scalars(select(Visit)).one()
    assert "notifications for visit" in caplog.text
    assert VISITOR not in caplog.text


def test_an_outbox_row_the_database_refuses_never_fails_the_check_in(
    pair: Any, session: Session, site: Any, host: Any, monkeypatch: pytest.MonkeyPatch
):
    """The notifications share the visit's transaction; a savepoint keeps the visit (and its
    name words and print record) when the database refuses the outbox row."""
    refusals = []

    def refused(session: Session, visit: Visit, messages: Any, **_kwargs: Any) -> None:
        refusals.append(len(messages))
        # No kind: the database's NOT NULL refuses the row at the flush.
        session.add(Notification(site_id=visit.site_id, visit_id=visit.id, kind=None))
        session.flush()

    monkeypatch.setattr("kiosk.checkin.queue_arrival_messages", refused)
    kiosk = pair(site)
    check_in(kiosk, host)
    assert VISITOR.split()[0] in kiosk.get("/done").text
    session.expire_all()
    visit = session.scalars(select(Visit)).one()
    assert refusals == [1]  # the host's email was due, and its row was refused
    assert indexes_name(session, visit, VISITOR)
    assert visit.id in {job.visit_id for job in session.scalars(select(PrintJob))}
    assert notifications(session) == []


def test_only_one_sender_claims_an_entry(
    app: Flask,
    queue_visit: Any,
    clock: FrozenClock,
):
    [entry] = queue_visit()
    sessionmaker = get_database(app).sessionmaker
    with sessionmaker() as one, sessionmaker() as two:
        first = claim_notification(one, entry.id, now=clock.now())
        one.commit()
        second = claim_notification(two, entry.id, now=clock.now())
        two.commit()
    assert (first, second) == (True, False)


def test_concurrent_senders_deliver_each_email_exactly_once(
    app: Flask,
    queue_visit: Any,
    inbox: Inbox,
):
    for number in range(12):
        queue_visit(visitor_name=f"Visitor {number}")
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(deliver_due(app))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(report.sent for report in reports) == 12
    messages = inbox.wait_for(12)
    subjects = sorted(str(message["Subject"]) for message in messages)
    assert len(subjects) == len(set(subjects)) == 12


def test_claims_of_a_dead_sender_are_given_back(
    session: Session,
    queue_visit: Any,
    clock: FrozenClock,
):
    [entry] = queue_visit()
    assert claim_notification(session, entry.id, now=clock.now())
    session.commit()
    assert release_stale_claims(session, now=clock.now() + STALE_CLAIM / 2) == 0
    assert release_stale_claims(session, now=clock.now() + STALE_CLAIM * 2) == 1
    session.commit()
    assert notifications(session)[0].status == NotificationStatus.PENDING


def test_erasing_the_visit_erases_its_notifications(
    session: Session,
    queue_visit: Any,
):
    [entry] = queue_visit()
    assert len(notifications(session)) == 1
    session.delete(entry.visit)
    session.commit()
    assert notifications(session) == []  # ON DELETE CASCADE: the purge reaches the outbox


def test_the_sender_thread_starts_only_when_asked(
    app: Flask, pair: Any, site: Any, host: Any, inbox: Inbox
):
    assert EXTENSION_KEY not in app.extensions  # not in tests, not in CLI commands
    sender = NotificationSender(app)
    sender.poll_seconds = 60  # only a wake-up can make it send in time
    sender.start()
    try:
        check_in(pair(site), host)  # the check-in wakes this process's sender
        [message] = inbox.wait_for(1)
        assert VISITOR in str(message["Subject"])
    finally:
        sender.stop()
    assert EXTENSION_KEY not in app.extensions


def test_notify_run_once(app: Flask, pair: Any, site: Any, host: Any, inbox: Inbox):
    check_in(pair(site), host)
    result = app.test_cli_runner().invoke(main, ["notify", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 1, retrying 0, failed 0" in result.output
    inbox.wait_for(1)


# The dashboard page ---------------------------------------------------------------------------


@pytest.fixture
def failed(
    dead_smtp: dict[str, Any], app: Flask, pair: Any, session: Session, site: Any, host: Any
) -> Notification:
    app.config["NOTIFY_MAX_ATTEMPTS"] = 1
    check_in(pair(site), host)
    deliver_due(app)
    [entry] = notifications(session)
    assert entry.status == NotificationStatus.FAILED
    return entry


def test_notifications_page_needs_login(client: FlaskClient):
    response = client.get("/dashboard/notifications")
    assert response.status_code == 302
    assert "/dashboard/login" in response.headers["Location"]


def test_reception_of_another_site_sees_and_retries_nothing(
    failed: Notification, make_site: Any, make_staff: Any, login: Any, session: Session
):
    other = login(make_staff(sites=(make_site(),)))
    assert "Hanna Host" not in other.get("/dashboard/notifications").text
    assert "nav-count" not in other.get("/dashboard/").text
    assert other.post(f"/dashboard/notifications/{failed.id}/retry").status_code == 404
    assert other.post(f"/dashboard/notifications/{failed.id}/dismiss").status_code == 404
    assert notifications(session)[0].status == NotificationStatus.FAILED


def test_viewing_notifications_is_audited_with_ids_only(
    failed: Notification, site: Any, make_staff: Any, login: Any, session: Session
):
    user = make_staff(sites=(site,))
    login(user).get("/dashboard/notifications")
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "view_notifications")
    ).one()
    assert (event.actor, event.target_type, event.target_id) == (
        f"staff:{user.id}",
        "site",
        str(site.id),
    )


def test_dismiss_erases_the_message_and_clears_the_count(
    failed: Notification, site: Any, make_staff: Any, login: Any, session: Session
):
    staff = login(make_staff(sites=(site,)))
    assert staff.post(f"/dashboard/notifications/{failed.id}/dismiss").status_code == 302
    [entry] = notifications(session)
    assert entry.status == NotificationStatus.DISMISSED
    assert (entry.recipient, entry.subject, entry.body) == (None, None, None)
    assert "nav-count" not in staff.get("/dashboard/").text
    assert "Hanna Host" not in staff.get("/dashboard/notifications").text


def test_retry_needs_a_csrf_token(
    failed: Notification, app: Flask, site: Any, make_staff: Any, login: Any, session: Session
):
    staff = login(make_staff(sites=(site,)))
    app.config["WTF_CSRF_ENABLED"] = True
    assert staff.post(f"/dashboard/notifications/{failed.id}/retry").status_code == 400
    assert notifications(session)[0].status == NotificationStatus.FAILED
    page = staff.get("/dashboard/notifications").text
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = staff.post(f"/dashboard/notifications/{failed.id}/retry", data={"csrf_token": token})
    assert response.status_code == 302
    assert notifications(session)[0].status == NotificationStatus.PENDING


def test_webhook_payload_is_json_with_text(
    session: Session,
    site: Any,
    queue_visit: Any,
):
    site.webhook_url = "https://hooks.example.com/services/T/B/X"
    session.commit()
    entries = queue_visit()
    webhook = next(entry for entry in entries if entry.kind == NotificationKind.HOST_WEBHOOK)
    assert set(json.loads(webhook.body or "")) == {"text"}


# Invitation emails ---------------------------------------------------------------------------


def _invite(app: Flask, session: Session, site: Any, host: Any, clock: FrozenClock, **fields: Any):
    values: dict[str, Any] = {
        "visitor_name": "Ines Inbjuden",
        "expected_on": date(2026, 3, 5),
        "locale": "sv",
        "email": "ines@example.org",
        "host": host,
        **fields,
    }
    with app.test_request_context(base_url="https://visitors.example.com"):
        invitation = create_invitation(session, site, now=clock.now(), **values)
        session.flush()
        entry = send_invitation_email(session, invitation, now=clock.now())
        session.commit()
    return invitation, entry


def test_invitation_email_carries_the_code_and_a_qr_of_the_token_only(
    app: Flask, session: Session, site: Any, host: Any, clock: FrozenClock, inbox: Inbox
):
    zxingcpp = require_module("zxingcpp", "zxing-cpp")
    image = require_module("PIL.Image", "pillow")
    invitation, entry = _invite(app, session, site, host, clock)
    assert entry is not None
    assert entry.status == NotificationStatus.PENDING
    assert deliver_due(app).sent == 1

    [message] = inbox.wait_for(1)
    assert message["To"] == "ines@example.org"
    # In the invitation's language (Swedish), with the date as the visitor reads it.
    assert message["Subject"] == "Ditt besök på Head Office torsdag 5 mars 2026"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Hej Ines Inbjuden," in text
    assert "Din värd är Hanna Host." in text
    assert f"skriv koden {invitation.code}." in text
    assert "”Jag har en inbjudan”" in text
    assert f"https://visitors.example.com/privacy/{site.id}/sv" in text

    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "image/png"
    assert attachment.get_filename() == "invitation-qr.png"
    png = attachment.get_content()
    decoded = zxingcpp.read_barcodes(image.open(io.BytesIO(png)))
    assert [result.text for result in decoded] == [invitation.token]
    [sent] = notifications(session)
    assert (sent.status, sent.recipient, sent.body) == (NotificationStatus.SENT, None, None)


def test_invitation_email_in_german_without_a_host(
    app: Flask, session: Session, site: Any, clock: FrozenClock, inbox: Inbox
):
    _invite(app, session, site, None, clock, locale="de")
    deliver_due(app)
    [message] = inbox.wait_for(1)
    assert message["Subject"] == "Ihr Besuch bei Head Office am Donnerstag, 5. März 2026"
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Sie werden am Donnerstag, 5. März 2026 bei Head Office erwartet." in text
    assert "Ansprechperson" not in text


def test_no_invitation_email_without_an_address_or_smtp(
    app: Flask, session: Session, site: Any, host: Any, clock: FrozenClock
):
    assert _invite(app, session, site, host, clock, email=None)[1] is None
    app.config["SMTP_HOST"] = None
    assert _invite(app, session, site, host, clock)[1] is None
    assert notifications(session) == []


def test_a_cancelled_invitation_is_not_emailed(
    app: Flask, session: Session, site: Any, host: Any, clock: FrozenClock, inbox: Inbox
):
    invitation, _entry = _invite(app, session, site, host, clock)
    invitation.cancelled_at = clock.now()
    session.commit()
    assert deliver_due(app).failed == 1
    [entry] = notifications(session)
    assert entry.last_error == "InvitationCancelled"
    assert inbox.messages == []
    session.delete(invitation)
    session.commit()
    assert notifications(session) == []  # erased with the invitation


def test_a_message_whose_key_is_destroyed_is_set_aside_not_sent_blank(
    app: Flask,
    session: Session,
    site: Any,
    queue_visit: Any,
    clock: FrozenClock,
    inbox: Inbox,
):
    """An outbox stuck past the visit's retention, or a database restored from an older copy
    with messages queued: once the purge destroyed the key, the recipient, subject and body
    read as empty text, and were sent as such (an email to nobody, retried until it failed; a
    signed empty webhook call). Now set aside for good, unsent."""
    queue_visit()
    assert notifications(session)
    destroy_every_key(app, site.id, clock.now())
    report = deliver_due(app)
    assert report.sent == 0
    assert report.failed == len(notifications(session))
    assert {entry.last_error for entry in notifications(session)} == {"ContentErased"}
    assert {entry.status for entry in notifications(session)} == {NotificationStatus.FAILED}
    assert inbox.messages == []


def test_the_dashboard_names_an_erased_message_in_the_readers_language(
    app: Flask, session: Session, site: Any, queue_visit: Any, clock: FrozenClock, staff_client: Any
):
    queue_visit()
    destroy_every_key(app, site.id, clock.now())
    deliver_due(app)
    page = staff_client.get("/dashboard/notifications", headers={"Accept-Language": "sv"}).text
    assert "Meddelandet raderat (lagringstiden har gått ut)" in page


def test_a_message_the_key_store_cannot_read_is_retried():
    """A key store without the key (an older copy in use) reads as "(unreadable)": retried,
    since the right store may come back; erased and kept messages as they are."""
    from types import SimpleNamespace

    from kiosk.notifications.sender import unsendable
    from kiosk.sealing import ERASED, UNREADABLE

    unreadable = unsendable(SimpleNamespace(recipient=UNREADABLE, subject="s", body="b"))
    assert unreadable is not None
    assert (unreadable.code, unreadable.permanent) == ("ContentUnreadable", False)
    erased = unsendable(SimpleNamespace(recipient="a@example.com", subject=ERASED, body=ERASED))
    assert erased is not None
    assert (erased.code, erased.permanent) == ("ContentErased", True)
    assert unsendable(SimpleNamespace(recipient="a@example.com", subject="", body=None)) is None
