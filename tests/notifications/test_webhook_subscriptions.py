"""Webhook subscriptions (kiosk/notifications/events.py): events told to a real HTTP receiver
that verifies each call's Standard Webhooks signature the way a receiver would, written here
from the specification (https://www.standardwebhooks.com), not with kiosk's own code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock
from kiosk.enums import NotificationKind, NotificationStatus, WebhookEvent, WebhookFormat
from kiosk.models import AuditEvent, Notification, WebhookSubscription
from kiosk.notifications.sender import deliver_due
from kiosk.privacy.purge import PurgeSettings, run_purge
from kiosk.services.webhooks import SubscriptionSettings, create_subscription
from tests.support import destroy_every_key

VISITOR = "Zacharias Quist"
COMPANY = "Quist & Söner <AB>"
TOLERANCE = timedelta(minutes=5)


@dataclass
class Receiver:
    """A receiver as its documentation would tell one to write it."""

    secret: str
    now: Callable[[], datetime]
    status: int = 200
    accepted: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, headers: Any, body: bytes) -> str | None:
        """None when the call is genuine and new, else why it is refused."""
        message_id = headers.get("webhook-id")
        timestamp = headers.get("webhook-timestamp")
        signatures = headers.get("webhook-signature", "")
        if not message_id or not timestamp or not timestamp.isdigit():
            return "missing headers"
        sent = datetime.fromtimestamp(int(timestamp), tz=self.now().tzinfo)
        if abs(self.now() - sent) > TOLERANCE:
            return "stale timestamp"
        key = base64.b64decode(self.secret.split("_", 1)[1])
        expected = base64.b64encode(
            hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        ).decode()
        if not any(
            version == "v1" and hmac.compare_digest(value, expected)
            for version, _, value in (item.partition(",") for item in signatures.split())
        ):
            return "bad signature"
        if message_id in self.seen_ids:
            return "replay"
        return None


@pytest.fixture
def receiver_factory(clock: FrozenClock) -> Iterator[Callable[[str], tuple[str, Receiver]]]:
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(secret: str) -> tuple[str, Receiver]:
        receiver = Receiver(secret=secret, now=clock.now)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    problem = receiver.verify(self.headers, body)
                    if problem:
                        receiver.refused.append(problem)
                        status = 400
                    elif receiver.status >= 300:
                        status = receiver.status
                    else:
                        receiver.seen_ids.add(self.headers["webhook-id"])
                        receiver.accepted.append(
                            {
                                "headers": {k.lower(): v for k, v in self.headers.items()},
                                "body": json.loads(body),
                            }
                        )
                        status = 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/kiosk-events", receiver

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "WEBHOOK_TIMEOUT_SECONDS": 2, "NOTIFY_RETRY_SECONDS": 30}


@pytest.fixture
def admin_client(make_staff: Any, login: Any) -> FlaskClient:
    return login(make_staff("admin"))


@pytest.fixture
def site(make_site: Any) -> Any:
    return make_site(name="Head Office", default_locale="en")


@pytest.fixture
def host(site: Any, make_host: Any) -> Any:
    return make_host(site, name="Hanna Host", email="hanna@example.com")


def subscribe(
    session: Session,
    site: Any,
    clock: FrozenClock,
    receiver_factory: Callable[[str], tuple[str, Receiver]],
    *,
    events: tuple[str, ...] = tuple(WebhookEvent),
    format: str = WebhookFormat.STANDARD,
    personal: bool = False,
) -> tuple[WebhookSubscription, Receiver]:
    subscription = create_subscription(
        session,
        site,
        SubscriptionSettings(
            name="Security desk",
            url="http://127.0.0.1:9/placeholder",
            format=format,
            events=list(events),
            personal=personal,
        ),
        now=clock.now(),
    )
    url, receiver = receiver_factory(subscription.secret)
    subscription.url = url
    session.commit()
    return subscription, receiver


def check_in(kiosk: FlaskClient, host: Any, name: str = VISITOR) -> None:
    data = {"name": name, "company": COMPANY, "host_id": str(host.id), "host_query": host.name}
    assert kiosk.post("/check-in", data=data).headers["Location"] == "/notice"
    kiosk.get("/notice")
    assert kiosk.post("/notice", data={"read": "1"}).headers["Location"] == "/done"


def event_calls(session: Session) -> list[Notification]:
    session.expire_all()
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.kind == NotificationKind.EVENT_WEBHOOK)
            .order_by(Notification.id)
        )
    )


def test_check_in_and_out_are_told_signed_with_ids_and_times_only(
    app: Flask,
    pair: Any,
    session: Session,
    site: Any,
    host: Any,
    clock: FrozenClock,
    receiver_factory: Any,
):
    subscription, receiver = subscribe(session, site, clock, receiver_factory)
    kiosk = pair(site)
    check_in(kiosk, host)
    assert deliver_due(app).sent == 1
    [arrived] = receiver.accepted
    body = arrived["body"]
    assert body["type"] == "visit.checked_in"
    assert body["timestamp"] == "2026-03-04T08:00:00Z"
    assert set(body["data"]) == {
        "visit_id",
        "site_id",
        "host_id",
        "visitor_type_id",
        "visitor_type",
        "checked_in_at",
        "checked_out_at",
    }
    assert body["data"]["host_id"] == host.id
    assert body["data"]["visitor_type_id"] is None  # a site without visitor types
    assert body["data"]["checked_out_at"] is None
    assert arrived["headers"]["content-type"].startswith("application/json")
    raw = json.dumps(body)
    assert VISITOR not in raw
    assert "Quist" not in raw
    assert "Hanna" not in raw

    clock.advance(timedelta(hours=2))
    done = kiosk.get("/done").text
    code = re.search(r'class="badge-code">(\w+)<', done)
    assert code
    assert kiosk.post("/check-out", data={"code": code[1]}).status_code == 302
    assert deliver_due(app).sent == 1
    left = receiver.accepted[1]["body"]
    assert left["type"] == "visit.checked_out"
    assert left["data"]["visit_id"] == body["data"]["visit_id"]
    assert left["data"]["checked_out_at"] == "2026-03-04T10:00:00Z"
    # Each call has an id of its own; the message is erased once delivered.
    assert len({call["headers"]["webhook-id"] for call in receiver.accepted}) == 2
    assert [call.body for call in event_calls(session)] == [None, None]
    assert receiver.refused == []
    assert subscription.id is not None


def test_personal_scope_adds_name_company_and_host(
    app: Flask,
    pair: Any,
    session: Session,
    site: Any,
    host: Any,
    clock: FrozenClock,
    receiver_factory: Any,
):
    _subscription, receiver = subscribe(
        session,
        site,
        clock,
        receiver_factory,
        events=(WebhookEvent.VISIT_CHECKED_IN,),
        personal=True,
    )
    check_in(pair(site), host)
    deliver_due(app)
    [call] = receiver.accepted
    assert call["body"]["data"]["visitor_name"] == VISITOR
    assert call["body"]["data"]["company"] == COMPANY
    assert call["body"]["data"]["host_name"] == "Hanna Host"
    # A receiver of names is a recipient: the notice's first layer names it.
    from kiosk.services.first_layer import first_layer_text

    with app.test_request_context():
        assert "127.0.0.1" in first_layer_text(site)


def test_a_replayed_or_stale_or_forged_call_is_refused_by_the_receiver(
    app: Flask,
    pair: Any,
    session: Session,
    site: Any,
    host: Any,
    clock: FrozenClock,
    receiver_factory: Any,
):
    subscription, receiver = subscribe(
        session, site, clock, receiver_factory, events=(WebhookEvent.VISIT_CHECKED_IN,)
    )
    check_in(pair(site), host)
    deliver_due(app)
    [call] = receiver.accepted
    headers = call["headers"]
    body = json.dumps(call["body"], ensure_ascii=False, separators=(",", ":")).encode()

    import urllib.error
    import urllib.request

    def post(extra: dict[str, str], data: bytes = body) -> int:
        request = urllib.request.Request(  # noqa: S310 - the test's own local receiver
            subscription.url,
            data=data,
            headers={"Content-Type": "application/json", **extra},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            with error:
                return int(error.code)

    signed = {
        name: headers[name] for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    # The very same call again: a replay.
    assert post(signed) == 400
    # The body changed: the signature no longer matches.
    assert post(signed, body.replace(b"visit.checked_in", b"visit.checked_out")) == 400
    # The same call an hour later (a captured call sent again later): stale.
    clock.advance(timedelta(hours=1))
    assert post({**signed, "webhook-id": "msg_other"}) == 400
    assert receiver.refused == ["replay", "bad signature", "stale timestamp"]

    # A receiver holding another secret refuses kiosk's genuine calls.
    receiver.secret = "whsec_" + base64.b64encode(b"another secret, 24 bytes").decode()
    check_in(pair(site), host, name="Second Visitor")
    report = deliver_due(app)
    assert report.failed == 1  # the receiver's 400 is its final word: not retried
    assert receiver.refused[-1] == "bad signature"


def test_a_receiver_that_is_down_gets_the_call_again_with_the_same_id(
    app: Flask,
    pair: Any,
    session: Session,
    site: Any,
    host: Any,
    clock: FrozenClock,
    receiver_factory: Any,
):
    _subscription, receiver = subscribe(
        session, site, clock, receiver_factory, events=(WebhookEvent.VISIT_CHECKED_IN,)
    )
    receiver.status = 503
    check_in(pair(site), host)
    assert deliver_due(app).retrying == 1
    [call] = event_calls(session)
    assert call.status == NotificationStatus.PENDING
    assert call.last_error == "HTTP 503"
    receiver.status = 200
    clock.advance(timedelta(seconds=31))
    assert deliver_due(app).sent == 1
    [accepted] = receiver.accepted
    assert accepted["headers"]["webhook-id"] == f"msg_kiosk_{call.id}"
    # Signed at the second attempt's time, so a receiver's freshness check passes.
    assert int(accepted["headers"]["webhook-timestamp"]) == int(clock.now().timestamp())


def test_teams_gets_an_adaptive_card_and_slack_block_kit_in_the_sites_language(
    app: Flask,
    pair: Any,
    session: Session,
    make_site: Any,
    make_host: Any,
    clock: FrozenClock,
    receiver_factory: Any,
):
    site = make_site(name="Kontoret", default_locale="sv")
    host = make_host(site, name="Hanna Host", email="hanna@example.com")
    _teams, teams = subscribe(
        session,
        site,
        clock,
        receiver_factory,
        events=(WebhookEvent.VISIT_CHECKED_IN,),
        format=WebhookFormat.TEAMS,
        personal=True,
    )
    _slack, slack = subscribe(
        session,
        site,
        clock,
        receiver_factory,
        events=(WebhookEvent.VISIT_CHECKED_IN,),
        format=WebhookFormat.SLACK,
    )
    check_in(pair(site), host)
    assert deliver_due(app).sent == 2

    [teams_call] = teams.accepted
    message = teams_call["body"]
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    title, facts = card["body"]
    assert title["type"] == "TextBlock"
    assert VISITOR in title["text"]
    assert "checked in" not in title["text"]  # Swedish, the site's language
    assert facts["type"] == "FactSet"
    assert {"title", "value"} == set(facts["facts"][0])
    assert any(fact["value"] == COMPANY for fact in facts["facts"])

    [slack_call] = slack.accepted
    blocks = slack_call["body"]
    assert VISITOR not in json.dumps(blocks)  # not personal: the visit's id only
    assert blocks["blocks"][0]["type"] == "section"
    assert blocks["text"]


def test_invitations_and_purge_runs_are_told(
    app: Flask,
    admin_client: FlaskClient,
    session: Session,
    site: Any,
    host: Any,
    make_visit: Any,
    clock: FrozenClock,
    receiver_factory: Any,
):
    _subscription, receiver = subscribe(
        session,
        site,
        clock,
        receiver_factory,
        events=(WebhookEvent.INVITATION_CREATED, WebhookEvent.PURGE_COMPLETED),
    )
    response = admin_client.post(
        "/dashboard/expected/new",
        data={
            "site": site.id,
            "name": "Ingrid Invited",
            "host": host.id,
            "expected_on": "2026-03-05",
            "locale": "en",
        },
    )
    assert response.status_code == 200, response.text
    make_visit(site, "Old Visitor")
    clock.advance(timedelta(days=site.retention_days + 1))
    with app.app_context():
        run = run_purge(session, clock=clock, trigger="cli", settings=PurgeSettings())
    assert run is not None
    assert deliver_due(app).sent == 2
    invited, purged = (call["body"] for call in receiver.accepted)
    assert invited["type"] == "invitation.created"
    assert invited["data"]["expected_on"] == "2026-03-05"
    assert "Ingrid" not in json.dumps(invited)
    assert purged["type"] == "purge.completed"
    assert purged["data"]["purge_run_id"] == run.id
    assert purged["data"]["visits_erased"] == 1


def test_admins_manage_subscriptions_and_see_the_secret_once(
    app: Flask, admin_client: FlaskClient, session: Session, site: Any, make_staff: Any, login: Any
):
    page = admin_client.post(
        "/dashboard/admin/webhooks/new",
        data={
            "site": site.id,
            "name": "Facilities",
            "url": "https://example.webhook.office.com/workflows/abc",
            "format": "teams",
            "events": ["visit.checked_in", "visit.checked_out"],
        },
    )
    assert page.status_code == 200, page.text
    [subscription] = session.scalars(select(WebhookSubscription)).all()
    assert subscription.secret.startswith("whsec_")
    assert len(base64.b64decode(subscription.secret.removeprefix("whsec_"))) == 24
    assert subscription.secret in page.text
    assert subscription.event_list == ["visit.checked_in", "visit.checked_out"]
    assert not subscription.personal
    listing = admin_client.get("/dashboard/admin/webhooks").text
    assert "Facilities" in listing
    assert subscription.secret not in listing  # shown once only
    # An incoming-webhook URL's path is a secret too: only its host is shown again.
    assert "example.webhook.office.com" in listing
    assert "/workflows/abc" not in listing
    edit = admin_client.get(f"/dashboard/admin/webhooks/{subscription.id}").text
    assert "/workflows/abc" not in edit
    assert "A visitor checked out" in listing
    # Saved with the address left empty: the address stays.
    assert (
        admin_client.post(
            f"/dashboard/admin/webhooks/{subscription.id}",
            data={
                "name": "Facilities desk",
                "url": "",
                "format": "teams",
                "events": ["visit.checked_in"],
            },
        ).status_code
        == 302
    )
    session.refresh(subscription)
    assert subscription.url == "https://example.webhook.office.com/workflows/abc"
    assert (subscription.name, subscription.event_list) == ("Facilities desk", ["visit.checked_in"])

    old = subscription.secret
    renewed = admin_client.post(f"/dashboard/admin/webhooks/{subscription.id}/secret")
    session.refresh(subscription)
    assert subscription.secret != old
    assert subscription.secret in renewed.text

    # Bad input: a clear message, nothing saved, never a 500.
    for bad in (
        {"url": "ftp://example.com/x"},
        {"url": "https://exa mple.com/"},
        {"events": []},
        {"name": "   "},
        {"format": "telex"},
        {"site": "99999999999999999999"},
    ):
        data = {
            "site": site.id,
            "name": "Bad",
            "url": "https://example.com/hook",
            "format": "standard",
            "events": ["visit.checked_in"],
            **bad,
        }
        refused = admin_client.post("/dashboard/admin/webhooks/new", data=data)
        assert refused.status_code == 200, (bad, refused.status_code)
        assert 'class="errors"' in refused.text or "errors" in refused.text
    assert len(session.scalars(select(WebhookSubscription)).all()) == 1

    assert (
        admin_client.post(f"/dashboard/admin/webhooks/{subscription.id}/active").status_code == 302
    )
    session.refresh(subscription)
    assert not subscription.active
    assert (
        admin_client.post(f"/dashboard/admin/webhooks/{subscription.id}/delete").status_code == 302
    )
    assert session.scalars(select(WebhookSubscription)).all() == []
    actions = [
        event.action
        for event in session.scalars(
            select(AuditEvent).where(AuditEvent.target_type == "webhook_subscription")
        )
    ]
    assert actions == [
        "create_webhook",
        "update_webhook",
        "renew_webhook_secret",
        "pause_webhook",
        "delete_webhook",
    ]

    # Reception users may not see or change webhooks.
    reception = login(make_staff("reception", sites=(site,)))
    assert reception.get("/dashboard/admin/webhooks").status_code == 403


def test_check_outs_and_invitations_through_the_api_are_told_too(
    app: Flask,
    session: Session,
    site: Any,
    host: Any,
    make_visit: Any,
    clock: FrozenClock,
    receiver_factory: Any,
):
    from kiosk.services.api_tokens import create_api_token

    _subscription, receiver = subscribe(
        session,
        site,
        clock,
        receiver_factory,
        events=(WebhookEvent.VISIT_CHECKED_OUT, WebhookEvent.INVITATION_CREATED),
    )
    new = create_api_token(
        session,
        name="Calendar",
        sites=[site],
        can_write=True,
        personal_data=False,
        created_by=None,
        now=clock.now(),
    )
    session.commit()
    api = app.test_client()
    headers = {"Authorization": f"Bearer {new.secret}"}
    visit = make_visit(site, "Api Visitor")
    checked_out = api.post(f"/api/v1/visits/{visit.id}/check-out", headers=headers)
    assert checked_out.status_code == 200, checked_out.text
    invited = api.post(
        "/api/v1/invitations",
        headers=headers,
        json={
            "site_id": site.id,
            "visitor_name": "Ingrid Invited",
            "host_id": host.id,
            "expected_on": "2026-03-05",
        },
    )
    assert invited.status_code == 201, invited.text
    assert deliver_due(app).sent == 2
    assert [call["body"]["type"] for call in receiver.accepted] == [
        "visit.checked_out",
        "invitation.created",
    ]
    assert receiver.accepted[0]["body"]["data"]["visit_id"] == visit.id


def test_the_end_of_day_check_out_is_told(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    receiver_factory: Any,
):
    from datetime import time

    from kiosk.cli import main

    site = make_site(name="Evening", end_of_day=time(18, 0))
    _subscription, receiver = subscribe(
        session, site, clock, receiver_factory, events=(WebhookEvent.VISIT_CHECKED_OUT,)
    )
    visit = make_visit(site, "Late Visitor")
    clock.advance(timedelta(hours=10))  # 18:00 UTC = 19:00 in Stockholm: after closing
    result = app.test_cli_runner().invoke(main, ["end-of-day"])
    assert result.exit_code == 0, result.output
    assert f"site {site.id}: 1 checked out" in result.output
    assert deliver_due(app).sent == 1
    [call] = receiver.accepted
    assert call["body"]["type"] == "visit.checked_out"
    assert call["body"]["data"]["visit_id"] == visit.id
    assert call["body"]["data"]["checked_out_at"] == "2026-03-04T17:00:00Z"


def test_a_visit_checked_out_after_its_key_went_is_told_as_erased(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    receiver_factory: Any,
):
    """A visit whose key is destroyed (a restored older copy, with the visitor still on site
    in it) checked out at the end of the day: a receiver of names gets null ones and
    ``visitor_state: erased``, never empty text that looks like a name left blank; a chat
    message names the visit by its id."""
    from datetime import time

    from kiosk.cli import main

    site = make_site(name="Evening", end_of_day=time(18, 0), default_locale="en")
    _standard, standard = subscribe(
        session,
        site,
        clock,
        receiver_factory,
        events=(WebhookEvent.VISIT_CHECKED_OUT,),
        personal=True,
    )
    _teams, teams = subscribe(
        session,
        site,
        clock,
        receiver_factory,
        events=(WebhookEvent.VISIT_CHECKED_OUT,),
        format=WebhookFormat.TEAMS,
        personal=True,
    )
    visit = make_visit(site, VISITOR, company=COMPANY)
    destroy_every_key(app, site.id, clock.now())
    session.expire_all()
    clock.advance(timedelta(hours=10))
    result = app.test_cli_runner().invoke(main, ["end-of-day"])
    assert result.exit_code == 0, result.output
    assert deliver_due(app).sent == 2
    [call] = standard.accepted
    data = call["body"]["data"]
    assert (data["visitor_name"], data["company"], data["visitor_state"]) == (None, None, "erased")
    [card] = teams.accepted
    title = card["body"]["attachments"][0]["content"]["body"][0]["text"]
    assert f"Visit {visit.id} checked out" in title
    assert "None" not in title


def test_the_kind_of_visit_is_told_with_the_visit_and_the_invitation(
    app: Flask,
    pair: Any,
    session: Session,
    make_site: Any,
    make_host: Any,
    clock: FrozenClock,
    receiver_factory: Any,
):
    """As the API gives it: the type's id and its name in the site's language, to every
    subscription (not personal data); chat messages name it where the site has several."""
    from flask_babel import force_locale

    from kiosk.models import VisitorType
    from kiosk.notifications.events import invitation_event, queue_event
    from kiosk.services.invitations import create_invitation
    from kiosk.services.visitor_types import add_default_types, type_name

    site = make_site(name="Kontoret", default_locale="sv")
    host = make_host(site, name="Hanna Host", email="hanna@example.com")
    types = {kind.key: kind for kind in add_default_types(session, site, now=clock.now())}
    session.commit()
    contractor: VisitorType = types["contractor"]
    with app.test_request_context(), force_locale("sv"):
        swedish = type_name(contractor, "sv")
    assert swedish != "Contractor"
    _standard, standard = subscribe(
        session,
        site,
        clock,
        receiver_factory,
        events=(WebhookEvent.VISIT_CHECKED_IN, WebhookEvent.INVITATION_CREATED),
    )
    _slack, slack = subscribe(
        session,
        site,
        clock,
        receiver_factory,
        events=(WebhookEvent.VISIT_CHECKED_IN,),
        format=WebhookFormat.SLACK,
    )
    kiosk = pair(site)
    kiosk.post("/check-in/type", data={"visitor_type": str(contractor.id)})
    details = {"name": VISITOR, "company": COMPANY, "purpose": "Plumbing", "host_id": host.id}
    assert kiosk.post("/check-in", data=details).location == "/notice"
    kiosk.get("/notice")
    assert kiosk.post("/notice", data={"read": "1"}).location == "/done"
    assert deliver_due(app).sent == 2
    [arrived] = standard.accepted
    assert arrived["body"]["data"]["visitor_type_id"] == contractor.id
    assert arrived["body"]["data"]["visitor_type"] == swedish
    assert VISITOR not in json.dumps(arrived["body"])
    [message] = slack.accepted
    assert "Typ av besök" in json.dumps(message["body"], ensure_ascii=False)
    assert swedish in json.dumps(message["body"], ensure_ascii=False)

    with app.test_request_context():
        # Typed by reception, and left to the visitor at the kiosk.
        for name, kind in (("Ingrid Invited", contractor), ("Ulla Untyped", None)):
            invitation = create_invitation(
                session,
                site,
                visitor_name=name,
                expected_on=clock.now().date() + timedelta(days=1),
                locale="en",
                host=host,
                visitor_type=kind,
                now=clock.now(),
            )
            session.flush()
            queue_event(session, invitation_event(invitation, now=clock.now()), now=clock.now())
        session.commit()
    assert deliver_due(app).sent == 2
    typed_call, untyped_call = (call["body"]["data"] for call in standard.accepted[1:])
    assert (typed_call["visitor_type_id"], typed_call["visitor_type"]) == (contractor.id, swedish)
    assert (untyped_call["visitor_type_id"], untyped_call["visitor_type"]) == (None, None)


def test_a_chat_message_names_no_kind_of_visit_where_the_site_has_one(
    app: Flask,
    pair: Any,
    session: Session,
    site: Any,
    host: Any,
    clock: FrozenClock,
    receiver_factory: Any,
):
    from kiosk.services.visitor_types import add_default_types, retire_type

    types = add_default_types(session, site, now=clock.now())
    for kind in types[1:]:
        retire_type(kind, now=clock.now())
    session.commit()
    _slack, slack = subscribe(
        session,
        site,
        clock,
        receiver_factory,
        events=(WebhookEvent.VISIT_CHECKED_IN,),
        format=WebhookFormat.SLACK,
    )
    check_in(pair(site), host)
    assert deliver_due(app).sent == 1
    [message] = slack.accepted
    assert "Kind of visit" not in json.dumps(message["body"])
    assert "Guest" not in json.dumps(message["body"])
