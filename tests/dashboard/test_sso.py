"""Staff single sign-on against a real OpenID provider: panva's certified oidc-provider, run by
Node on 127.0.0.1 (tests/oidc/provider.mjs; `npm ci --prefix tests/oidc` installs it). Nothing
of the protocol is mocked: kiosk fetches the discovery document and keys, redeems the code at
the provider's token endpoint and verifies the ID token it gets.

Without node or the npm packages the provider tests skip with the reason, except in CI (env CI
set), where they fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import select
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock
from kiosk.dashboard.blueprint import LAST_SEEN
from kiosk.models import AuditEvent, Site, StaffUser
from kiosk.services import oidc
from kiosk.services.sso import map_groups
from tests.conftest import STAFF_PASSWORD
from tests.support import require_tool, unavailable

OIDC_DIR = Path(__file__).parents[1] / "oidc"
REDIRECT_URI = "http://localhost/dashboard/sso/callback"
GROUPS = {
    "reception-stockholm": {"role": "reception", "sites": ["Stockholm"]},
    "reception-oslo": {"role": "reception", "sites": ["Oslo"]},
    "kiosk-admins": {"role": "admin"},
}


@dataclass
class Provider:
    issuer: str
    accounts_file: Path

    def set_accounts(self, accounts: dict[str, dict[str, Any]]) -> None:
        self.accounts_file.write_text(json.dumps(accounts), encoding="utf-8")


@pytest.fixture(scope="session")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    # Node.js runs the OpenID provider; its npm packages come from `npm ci --prefix tests/oidc`.
    require_tool("node", "nodejs")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        unavailable("the OpenID provider's npm packages are missing", "npm ci --prefix tests/oidc")
    folder = tmp_path_factory.mktemp("oidc")
    accounts = folder / "accounts.json"
    accounts.write_text("{}", encoding="utf-8")
    with (folder / "provider.log").open("w") as log:
        process = subprocess.Popen(
            ["node", "provider.mjs", str(accounts), REDIRECT_URI],
            cwd=OIDC_DIR,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        if not line:
            pytest.fail(
                f"the OpenID provider did not start: {(folder / 'provider.log').read_text()}"
            )
        oidc.clear_cache()
        yield Provider(issuer=json.loads(line)["issuer"], accounts_file=accounts)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        oidc.clear_cache()


@pytest.fixture
def real_time(clock: FrozenClock) -> FrozenClock:
    """The provider stamps tokens with the wall clock; kiosk's clock starts there too."""
    clock.set(datetime.now(UTC))
    return clock


@pytest.fixture
def sso_config(app_config: dict[str, Any], provider: Provider, real_time: FrozenClock) -> None:
    app_config.update(
        SSO_ISSUER=provider.issuer,
        SSO_CLIENT_ID="kiosk",
        SSO_CLIENT_SECRET="kiosk-secret",
        SSO_PROVIDER_NAME="Example ID",
        SSO_SCOPES="openid profile groups",
        SSO_GROUPS=GROUPS,
    )


def provider_login(provider: Provider, authorization_url: str, account: str) -> str:
    """Log in at the provider as ``account`` the way a browser does; return the URL the
    provider sends the browser back to (kiosk's callback, with code and state)."""
    assert authorization_url.startswith(provider.issuer + "/")
    with requests.Session() as browser:
        page = browser.get(authorization_url, timeout=10)
        assert page.status_code == 200, page.text
        assert "/interaction/" in page.url
        response = browser.post(
            page.url, data={"login": account}, allow_redirects=False, timeout=10
        )
        while True:
            assert response.status_code in (302, 303), response.text
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(REDIRECT_URI):
                return location
            response = browser.get(location, allow_redirects=False, timeout=10)


def start(client: FlaskClient) -> str:
    response = client.get("/dashboard/sso/login")
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def staff_users(session: Session) -> list[StaffUser]:
    session.expire_all()
    return list(session.scalars(sql_select(StaffUser).order_by(StaffUser.id)))


def sso_events(session: Session) -> list[tuple[str, str, str | None]]:
    return [
        (event.actor, event.action, event.target_id)
        for event in session.scalars(
            sql_select(AuditEvent).where(AuditEvent.action.like("sso%")).order_by(AuditEvent.id)
        )
    ]


def logged_in(client: FlaskClient) -> bool:
    return client.get("/dashboard/").status_code == 200


@pytest.mark.usefixtures("sso_config")
def test_a_good_login_creates_the_mapped_user_logs_in_and_audits(
    app: Flask,
    client: FlaskClient,
    session: Session,
    make_site: Callable[..., Site],
    provider: Provider,
    real_time: FrozenClock,
    caplog: pytest.LogCaptureFixture,
):
    stockholm = make_site(name="Stockholm")
    make_site(name="Oslo")
    provider.set_accounts(
        {
            "alice-sub": {
                "groups": ["reception-stockholm", "marketing"],
                "preferred_username": "alice",
            }
        }
    )
    caplog.set_level(logging.DEBUG)

    # The login page offers the provider, beside the password form.
    page = client.get("/dashboard/login").text
    assert "Log in with Example ID" in page
    assert 'name="password"' in page

    url = start(client)
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["kiosk"]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert query["code_challenge_method"] == ["S256"]
    with client.session_transaction() as cookie_session:
        verifier = cookie_session["sso_pending"]["code_verifier"]
        assert cookie_session["sso_pending"]["state"] == query["state"][0]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert query["code_challenge"] == [base64.urlsafe_b64encode(digest).rstrip(b"=").decode()]
    assert len(query["state"][0]) >= 32
    assert len(query["nonce"][0]) >= 32

    callback = provider_login(provider, url, "alice-sub")
    response = client.get(callback)
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == "/dashboard/"
    home = client.get("/dashboard/").text
    assert "/dashboard/password" not in home  # an SSO account has no password to change

    [user] = staff_users(session)
    assert (user.username, user.sso_subject, user.role, user.active) == (
        "alice",
        "alice-sub",
        "reception",
        True,
    )
    assert [site.id for site in user.sites] == [stockholm.id]
    staff = f"staff:{user.id}"
    assert sso_events(session) == [
        (staff, "sso_create_user", str(user.id)),
        (staff, "sso_login", str(user.id)),
    ]
    with client.session_transaction() as cookie_session:
        assert cookie_session[LAST_SEEN] == real_time.now().timestamp()
        assert "sso_pending" not in cookie_session

    # A second login finds the same user, and is audited again.
    second = app.test_client()
    assert second.get(provider_login(provider, start(second), "alice-sub")).status_code == 302
    assert len(staff_users(session)) == 1
    assert [action for _actor, action, _id in sso_events(session)][-1] == "sso_login"

    # The account has no password: nobody logs in as it with the password form.
    attempt = app.test_client().post(
        "/dashboard/login", data={"username": "alice", "password": "!sso"}
    )
    assert attempt.status_code == 200
    assert "Wrong username or password." in attempt.text

    # No name, subject, code or token in the log.
    code = parse_qs(urlsplit(callback).query)["code"][0]
    for secret in ("alice", "kiosk-secret", code):
        assert secret not in caplog.text


@pytest.mark.usefixtures("sso_config")
@pytest.mark.parametrize(
    ("asked", "landing"),
    [
        ("/dashboard/today", "/dashboard/today"),
        ("//evil.example/", "/dashboard/"),
        ("https://evil.example/", "/dashboard/"),
        ("/\\evil.example", "/dashboard/"),
    ],
)
def test_the_page_asked_for_is_opened_after_the_login_if_it_is_local(
    client: FlaskClient, provider: Provider, asked: str, landing: str
):
    provider.set_accounts({"bob-sub": {"groups": ["kiosk-admins"]}})
    response = client.get("/dashboard/sso/login", query_string={"next": asked})
    callback = provider_login(provider, response.headers["Location"], "bob-sub")
    assert client.get(callback).headers["Location"] == landing


@pytest.mark.usefixtures("sso_config")
def test_admin_group_gives_the_admin_role(
    client: FlaskClient, session: Session, provider: Provider
):
    provider.set_accounts({"bob-sub": {"groups": ["kiosk-admins", "reception-oslo"]}})
    assert client.get(provider_login(provider, start(client), "bob-sub")).status_code == 302
    [user] = staff_users(session)
    assert user.role == "admin"
    # No preferred username from the provider: a name made from the subject, not the subject.
    assert user.username.startswith("sso-")
    assert "bob" not in user.username


@pytest.mark.usefixtures("sso_config")
def test_an_id_token_for_another_client_is_refused(
    app: Flask, provider: Provider, real_time: FrozenClock
):
    """Wrong audience: a real ID token the provider signed for the client "other" does not log
    in at kiosk, which is configured (SSO_CLIENT_ID) as "kiosk"."""
    provider.set_accounts({"alice-sub": {"groups": ["reception-stockholm"]}})
    with app.test_request_context():
        kiosk = oidc.Client(
            issuer=provider.issuer,
            client_id="kiosk",
            client_secret="kiosk-secret",
            scope="openid groups",
            redirect_uri=REDIRECT_URI,
            timeout=10,
        )
        other = oidc.Client(
            **{**kiosk.__dict__, "client_id": "other", "client_secret": "other-secret"}
        )
        url, pending = oidc.authorization_request(other)
        callback = provider_login(provider, url, "alice-sub")
        arguments = {key: values[0] for key, values in parse_qs(urlsplit(callback).query).items()}
        token = oidc.redeem(other, pending, arguments)
        verify: dict[str, Any] = {
            "nonce": pending.nonce,
            "access_token": token["access_token"],
            "now": real_time.now(),
        }

        with pytest.raises(oidc.SsoError) as refused:
            oidc.verify_id_token(kiosk, token["id_token"], **verify)
        assert refused.value.reason == "bad_claim_aud"

        # The same token is good for the client it was issued to (so only the audience failed),
        # but not with another nonce.
        assert oidc.verify_id_token(other, token["id_token"], **verify)["sub"] == "alice-sub"
        with pytest.raises(oidc.SsoError) as wrong_nonce:
            oidc.verify_id_token(other, token["id_token"], **{**verify, "nonce": "another"})
        assert wrong_nonce.value.reason == "bad_claim_nonce"

        # And the code, once redeemed, is gone.
        with pytest.raises(oidc.SsoError) as reused:
            oidc.redeem(other, pending, arguments)
        assert reused.value.reason == "token_refused"


@pytest.mark.usefixtures("sso_config")
def test_an_expired_id_token_is_refused(
    client: FlaskClient, session: Session, provider: Provider, real_time: FrozenClock
):
    """kiosk's clock, not the wall clock, decides: moved past the token's expiry (an hour,
    plus the minute of leeway), the otherwise good login is refused."""
    provider.set_accounts({"alice-sub": {"groups": ["reception-stockholm"]}})
    callback = provider_login(provider, start(client), "alice-sub")
    real_time.advance(timedelta(hours=1, minutes=2))
    response = client.get(callback)
    assert response.status_code == 400
    assert "The login could not be completed." in response.text
    assert not logged_in(client)
    assert staff_users(session) == []
    assert sso_events(session) == []


@pytest.mark.usefixtures("sso_config")
def test_a_replayed_callback_is_refused(
    app: Flask, client: FlaskClient, session: Session, provider: Provider
):
    provider.set_accounts({"alice-sub": {"groups": ["reception-stockholm"]}})
    callback = provider_login(provider, start(client), "alice-sub")
    assert client.get(callback).status_code == 302
    [user] = staff_users(session)

    # The same browser, logged out, uses the callback URL again: its state was used up.
    client.post("/dashboard/logout")
    assert not logged_in(client)
    again = client.get(callback)
    assert again.status_code == 400
    assert "The login could not be completed." in again.text
    assert not logged_in(client)

    # Another browser with a login of its own under way: the state is not its own.
    other = app.test_client()
    start(other)
    stolen = other.get(callback)
    assert stolen.status_code == 400
    assert not logged_in(other)
    # Hostile callbacks to a browser with a login under way: refused, never a 500.
    for query in ("state=%C3%A4&code=x", "state=&code=", "error=access_denied", "code=x&code=y"):
        start(other)
        assert other.get(f"/dashboard/sso/callback?{query}").status_code == 400
    # A browser with no login under way at all.
    fresh = app.test_client()
    assert fresh.get(callback).status_code == 400
    assert not logged_in(fresh)

    assert [action for _actor, action, _id in sso_events(session)] == [
        "sso_create_user",
        "sso_login",
    ]
    assert staff_users(session) == [user]


@pytest.mark.usefixtures("sso_config")
def test_a_user_with_no_mapped_group_is_refused_and_not_created(
    client: FlaskClient, session: Session, provider: Provider
):
    provider.set_accounts({"carol-sub": {"groups": ["marketing"], "preferred_username": "carol"}})
    response = client.get(provider_login(provider, start(client), "carol-sub"))
    assert response.status_code == 403
    assert "Your account does not give access to the reception dashboard." in response.text
    assert 'class="dashboard-nav"' in response.text  # the dashboard's layout
    assert not logged_in(client)
    assert staff_users(session) == []
    assert sso_events(session) == []


@pytest.mark.usefixtures("sso_config")
def test_the_refusal_page_is_translated(client: FlaskClient, session: Session, provider: Provider):
    provider.set_accounts({"carol-sub": {"groups": []}})
    response = client.get(
        provider_login(provider, start(client), "carol-sub"),
        headers={"Accept-Language": "sv"},
    )
    assert response.status_code == 403
    assert "Your account does not give access" not in response.text


@pytest.mark.usefixtures("sso_config")
def test_group_changes_apply_at_the_next_login_and_removal_ends_access(
    app: Flask,
    client: FlaskClient,
    session: Session,
    make_site: Callable[..., Site],
    provider: Provider,
):
    make_site(name="Stockholm")
    oslo = make_site(name="Oslo")
    provider.set_accounts({"alice-sub": {"groups": ["reception-stockholm"]}})
    assert client.get(provider_login(provider, start(client), "alice-sub")).status_code == 302

    # Moved to Oslo's group: the next login serves Oslo only.
    provider.set_accounts({"alice-sub": {"groups": ["reception-oslo"]}})
    moved = app.test_client()
    assert moved.get(provider_login(provider, start(moved), "alice-sub")).status_code == 302
    [moved_user] = staff_users(session)
    assert [site.id for site in moved_user.sites] == [oslo.id]

    # Out of every mapped group: the next login is refused, and the sessions still open end.
    provider.set_accounts({"alice-sub": {"groups": []}})
    removed = app.test_client()
    response = removed.get(provider_login(provider, start(removed), "alice-sub"))
    assert response.status_code == 403
    assert not logged_in(removed)
    assert not logged_in(moved)
    assert not logged_in(client)
    [user] = staff_users(session)
    assert [action for _actor, action, _id in sso_events(session)] == [
        "sso_create_user",
        "sso_login",
        "sso_login",
        "sso_refused",
    ]
    assert sso_events(session)[-1] == (f"staff:{user.id}", "sso_refused", str(user.id))


def test_local_login_off_refuses_passwords(
    app_config: dict[str, Any], request: pytest.FixtureRequest
):
    app_config.update(
        LOCAL_LOGIN=False,
        SSO_ISSUER="https://login.example.com",
        SSO_CLIENT_ID="kiosk",
        SSO_CLIENT_SECRET="kiosk-secret",
    )
    app: Flask = request.getfixturevalue("app")
    user = request.getfixturevalue("make_staff")(role="admin")
    client = app.test_client()

    page = client.get("/dashboard/login")
    assert page.status_code == 200
    assert 'name="password"' not in page.text
    assert "Log in with single sign-on" in page.text

    response = client.post(
        "/dashboard/login", data={"username": user.username, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 403
    assert not logged_in(client)


def test_password_login_page_without_sso_has_no_button(client: FlaskClient):
    page = client.get("/dashboard/login").text
    assert 'name="password"' in page
    assert "single sign-on" not in page
    assert client.get("/dashboard/sso/login").status_code == 404
    assert client.get("/dashboard/sso/callback?code=x&state=y").status_code == 404


def test_groups_map_to_the_highest_role_and_all_their_sites():
    mapping: dict[str, object] = {
        **GROUPS,
        "privacy-oslo": {"role": "privacy", "sites": ["Oslo"]},
        "typo": {"role": "superuser"},
    }
    access = map_groups(["reception-stockholm", "privacy-oslo", "other"], mapping)
    assert access is not None
    assert (access.role, access.site_names) == ("privacy", frozenset({"Stockholm", "Oslo"}))
    assert map_groups(["typo", "marketing"], mapping) is None
    assert map_groups([], mapping) is None
    admin = map_groups(["kiosk-admins", "reception-oslo"], mapping)
    assert admin is not None
    assert admin.role == "admin"


def test_a_provider_that_cannot_be_reached_gives_a_clear_page(
    app_config: dict[str, Any], request: pytest.FixtureRequest
):
    app_config.update(
        SSO_ISSUER="http://127.0.0.1:9",  # the discard port: nothing answers
        SSO_CLIENT_ID="kiosk",
        SSO_CLIENT_SECRET="kiosk-secret",
        SSO_TIMEOUT_SECONDS=2,
    )
    oidc.clear_cache()
    app: Flask = request.getfixturevalue("app")
    response = app.test_client().get("/dashboard/sso/login")
    assert response.status_code == 503
    assert "The login service cannot be reached just now." in response.text


@pytest.mark.usefixtures("sso_config")
def test_a_deactivated_account_stays_refused_whatever_its_groups(
    app: Flask, client: FlaskClient, session: Session, provider: Provider
):
    provider.set_accounts({"bob-sub": {"groups": ["kiosk-admins"]}})
    assert client.get(provider_login(provider, start(client), "bob-sub")).status_code == 302
    [user] = staff_users(session)
    user.active = False
    session.commit()

    again = app.test_client()
    response = again.get(provider_login(provider, start(again), "bob-sub"))
    assert response.status_code == 403
    assert not logged_in(again)
    [user] = staff_users(session)
    assert not user.active


@pytest.mark.usefixtures("sso_config")
def test_failed_callbacks_count_against_the_address_like_failed_password_logins(
    app_config: dict[str, Any], provider: Provider
):
    from kiosk import create_app
    from kiosk.db import get_database

    # Its own app, so its in-memory counters start empty whatever ran before.
    app = create_app({**app_config, "LOGIN_LIMIT_PER_IP": "3 per 10 minutes"})
    try:
        browser = app.test_client()
        # One failed password login and two guessed callbacks use up the address's three.
        assert (
            browser.post("/dashboard/login", data={"username": "x", "password": "y"}).status_code
            == 200
        )
        for guess in ("state=a&code=b", "state=c&code=d"):
            start(browser)
            assert browser.get(f"/dashboard/sso/callback?{guess}").status_code == 400
        start(browser)
        throttled = browser.get("/dashboard/sso/callback?state=e&code=f")
        assert throttled.status_code == 429
        assert (
            browser.post("/dashboard/login", data={"username": "x", "password": "y"}).status_code
            == 429
        )
        # Another address is not held back.
        other = app.test_client()
        start(other)
        assert (
            other.get(
                "/dashboard/sso/callback?state=g&code=h", environ_base={"REMOTE_ADDR": "10.0.0.9"}
            ).status_code
            == 400
        )
    finally:
        get_database(app).engine.dispose()
