"""Access: login without enumeration, fixation or open redirects; sessions that really end;
security headers on every route; unguessable, rate-limited and unique badge codes."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk import create_app
from kiosk.db import get_database
from kiosk.models import StaffUser, Visit
from kiosk.services import codes, visits
from kiosk.services.kiosks import create_device
from kiosk.services.staff import authenticate
from tests.conftest import STAFF_PASSWORD
from tests.support import named

# --- login -----------------------------------------------------------------------------------


class CountingHasher(PasswordHasher):
    """The test suite's cheap hasher, counting what it verifies."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
        self.verified.append(str(hash))
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    from kiosk.services import staff

    counting = CountingHasher()
    monkeypatch.setattr(staff, "password_hasher", counting)
    return counting


def test_unknown_user_and_wrong_password_look_the_same(
    client: FlaskClient, make_staff: Any, hasher: CountingHasher
):
    make_staff(username="real")
    hasher.verified.clear()
    unknown = client.post("/dashboard/login", data={"username": "nobody", "password": "pw 12345"})
    wrong = client.post("/dashboard/login", data={"username": "real", "password": "pw 12345"})
    assert unknown.status_code == wrong.status_code == 200
    # The whole page is the same, the message included; only the typed username is kept.
    assert unknown.text.replace('value="nobody"', 'value="real"') == wrong.text
    assert "Wrong username or password." in wrong.text
    # Both paths pay for one argon2 verification, with the same parameters, so the time a
    # failure takes does not tell whether the account exists.
    assert len(hasher.verified) == 2
    params = [h.split("$")[3] for h in hasher.verified]
    assert params[0] == params[1], params


def test_the_dummy_hash_follows_the_hasher(session: Session, hasher: CountingHasher):
    assert authenticate(session, "nobody", "x" * 12) is None
    assert hasher.verified
    assert hasher.verified[-1].startswith("$argon2id$")
    assert "m=1024,t=1,p=1" in hasher.verified[-1]


def _session_data(app: Flask, client: FlaskClient) -> dict[str, Any]:
    cookie = client.get_cookie("session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    data: dict[str, Any] = serializer.loads(cookie.value)
    return data


class TestSessionFixation:
    @pytest.fixture
    def app(self, app_config: dict[str, Any]) -> Iterator[Flask]:
        app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
        yield app
        get_database(app).engine.dispose()

    def test_nothing_of_the_session_before_login_survives_it(self, app: Flask, make_staff: Any):
        make_staff(username="fixed")
        client = app.test_client()
        page = client.get("/dashboard/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token
        with client.session_transaction() as planted:
            planted["planted_by_attacker"] = "fixation-marker"
        before_cookie = client.get_cookie("session")
        assert before_cookie is not None
        before = _session_data(app, client)
        response = client.post(
            "/dashboard/login",
            data={"username": "fixed", "password": STAFF_PASSWORD, "csrf_token": token[1]},
        )
        assert response.status_code == 302
        after = _session_data(app, client)
        assert "planted_by_attacker" not in after
        # A new session, not the old one: even the CSRF secret of before is gone.
        assert after.get("csrf_token") != before["csrf_token"]
        assert set(after) <= {"_user_id", "_fresh", "_id", "staff_seen", "staff_login_at"}, after
        assert client.get_cookie("session").value != before_cookie.value  # type: ignore[union-attr]
        # Whoever holds the cookie from before the login is not logged in by it.
        other = app.test_client()
        other.set_cookie("session", before_cookie.value)
        assert other.get("/dashboard/").status_code == 302


def _copy(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def test_logout_ends_the_session_on_the_server(
    app: Flask, make_staff: Any, login: Any, session: Session
):
    user = make_staff(username="leaving")
    client = login(user)
    thief = _copy(app, client)
    assert thief.get("/dashboard/").status_code == 200  # the copy works while logged in
    assert client.post("/dashboard/logout").status_code == 302
    replayed = thief.get("/dashboard/")
    assert replayed.status_code == 302
    assert replayed.headers["Location"].startswith("/dashboard/login")
    # Logging in again gives a new session; the old copy stays dead.
    client = login(user)
    assert client.get("/dashboard/").status_code == 200
    assert thief.get("/dashboard/").status_code == 302


def test_a_password_change_ends_every_other_session(app: Flask, make_staff: Any, login: Any):
    user = make_staff(username="changer")
    client, elsewhere = login(user), login(user)
    response = client.post(
        "/dashboard/password",
        data={"current": STAFF_PASSWORD, "new": "a brand new one", "confirm": "a brand new one"},
    )
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200  # the changer stays logged in
    assert elsewhere.get("/dashboard/").status_code == 302


def test_an_admin_password_reset_ends_the_users_sessions(app: Flask, make_staff: Any, login: Any):
    user = make_staff(username="victim")
    client = login(user)
    admin = login(make_staff(username="boss", role="admin"))
    response = admin.post(
        f"/dashboard/admin/staff/{user.id}/password", data={"password": "reset by the boss"}
    )
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 302


@pytest.mark.parametrize(
    "session_id", ["1", "1:", "1:x", "x:0", "1:0:0", "¹:0", "1:²", "9" * 40 + ":0", ""]
)
def test_malformed_session_ids_log_nobody_in(
    app: Flask, make_staff: Any, session_id: str, session: Session
):
    make_staff(username="first")
    assert session.scalar(select(StaffUser.id)) == 1
    client = app.test_client()
    with client.session_transaction() as forged:
        forged["_user_id"] = session_id
        forged["_fresh"] = True
    assert client.get("/dashboard/").status_code == 302


OFF_SITE = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,x",
    "https:evil.example",
    "evil.example",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",  # the browser keeps it as a path on this site: allowed below
    "%5C%5Cevil.example",
    "/\u3000/evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_never_redirects_off_site(client: FlaskClient, make_staff: Any, target: str):
    make_staff(username="careful")
    response = client.post(
        "/dashboard/login",
        query_string={"next": target},
        data={"username": "careful", "password": STAFF_PASSWORD},
    )
    location = response.headers["Location"]
    assert location in ("/dashboard/", target)
    assert location.startswith("/")
    assert not location.startswith(("//", "/\\"))
    assert not any(char.isspace() for char in location)


def test_encoded_next_is_decoded_once_and_refused(client: FlaskClient, make_staff: Any):
    """``?next=%2F%2Fevil`` arrives as ``//evil``: refused."""
    make_staff(username="encoded")
    response = client.post(
        "/dashboard/login?next=%2F%2Fevil.example%2F",
        data={"username": "encoded", "password": STAFF_PASSWORD},
    )
    assert response.headers["Location"] == "/dashboard/"


# --- badge codes -----------------------------------------------------------------------------


def test_badge_tokens_carry_at_least_128_random_bits():
    assert codes.TOKEN_BYTES * 8 >= 128
    now = datetime(2026, 12, 5, 23, 59, tzinfo=UTC)
    tokens = {visits.new_badge_token(now) for _ in range(2000)}
    assert len(tokens) == 2000
    for token in tokens:
        # The day number (9,835 days from 2000-01-01), then the random part.
        day, random_part = token[:5], token[5:]
        assert day == "09835"
        assert re.fullmatch(r"[A-Za-z0-9_-]+", random_part)
        assert len(random_part) * 6 >= 128  # base64url: 6 bits per character
        assert codes.scanned_token(token) == token  # what a scanner types is taken whole


def test_badge_tokens_and_short_codes_keep_a_days_visits_together():
    """Their unique indexes hold each check-in day's visits together (the purge deletes a day
    at a time): every token of a day sorts before the next day's, and a short code's first
    character is its day's, the alphabet in turn; the random part keeps its length."""
    day = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    days = [day + timedelta(days=number) for number in range(40)]
    tokens = [[visits.new_badge_token(moment) for _ in range(50)] for moment in days]
    for earlier, later in itertools.pairwise(tokens):
        assert max(earlier) < min(later)
    # The day is UTC's: a check-in at 00:30 in Stockholm (23:30 UTC) is the previous day's.
    late = datetime(2026, 12, 5, 23, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Stockholm"))
    assert visits.new_badge_token(late)[:5] == visits.new_badge_token(day)[:5]

    firsts = []
    for moment in days:
        codes_of_day = {visits.new_short_code(moment) for _ in range(200)}
        assert len(codes_of_day) == 200
        assert {len(code) for code in codes_of_day} == {visits.SHORT_CODE_LENGTH}
        assert all(set(code) <= set(visits.SHORT_CODE_ALPHABET) for code in codes_of_day)
        assert len({code[0] for code in codes_of_day}) == 1
        assert len({code[1:] for code in codes_of_day}) == 200
        firsts.append(next(iter(codes_of_day))[0])
    alphabet = visits.SHORT_CODE_ALPHABET
    assert len(alphabet) ** (visits.SHORT_CODE_LENGTH - 1) == 887_503_681
    start = alphabet.index(firsts[0])
    assert firsts == [alphabet[(start + number) % len(alphabet)] for number in range(40)]


def test_short_codes_are_unique_among_the_kept_visits_of_a_site(
    session: Session,
    make_site: Any,
    make_visit: Any,
    shown_notice: Any,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
):
    site, other = make_site(), make_site()
    notice_id = shown_notice(site)
    make_visit(site, short_code="AAAAAA")
    make_visit(other, short_code="BBBBBB")
    # The generator collides with the site's kept visit three times, then with another
    # site's code (which is fine), then gives a fresh one.
    sequence = iter(["AAAAAA", "AAAAAA", "AAAAAA", "BBBBBB"])
    monkeypatch.setattr(visits, "new_short_code", lambda _now: next(sequence))
    visit = visits.register_visit(
        session,
        site,
        visits.VisitorDetails(name="Colliding Carl"),
        locale="en",
        notice_id=notice_id,
        now=clock.now(),
    )
    session.commit()
    assert visit.short_code == "BBBBBB"
    codes_at_site = session.scalars(select(Visit.short_code).where(Visit.site_id == site.id))
    assert sorted(codes_at_site) == ["AAAAAA", "BBBBBB"]


def test_a_generator_that_always_collides_fails_cleanly(
    session: Session,
    make_site: Any,
    make_visit: Any,
    shown_notice: Any,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
):
    site = make_site()
    notice_id = shown_notice(site)
    make_visit(site, short_code="AAAAAA")
    monkeypatch.setattr(visits, "new_short_code", lambda _now: "AAAAAA")
    with pytest.raises(visits.VisitError):
        visits.register_visit(
            session,
            site,
            visits.VisitorDetails(name="Unlucky"),
            locale="en",
            notice_id=notice_id,
            now=clock.now(),
        )
    session.rollback()
    assert named(session, Visit, "Unlucky", none=True) is None


class TestCodeGuessing:
    @pytest.fixture
    def app(self, app_config: dict[str, Any]) -> Iterator[Flask]:
        app = create_app({**app_config, "CHECKOUT_LIMIT_PER_KIOSK": "5 per 10 minutes"})
        yield app
        get_database(app).engine.dispose()

    def test_wrong_codes_are_rate_limited_per_kiosk(
        self, app: Flask, pair: Any, make_site: Any, make_visit: Any
    ):
        site = make_site(default_locale="sv")
        visit = make_visit(site)
        kiosk, neighbour = pair(site), pair(site)
        for attempt in range(5):
            path = "/check-out" if attempt % 2 else "/invitation"  # one budget for both
            assert kiosk.post(path, data={"code": f"ZZZZZ{attempt}"}).status_code == 200
        blocked = kiosk.post("/check-out", data={"code": visit.short_code})
        assert blocked.status_code == 429
        with app.test_request_context(), force_locale("sv"):
            title = gettext("Too many attempts")
        assert title != "Too many attempts"
        assert title in blocked.text  # in the kiosk's language
        assert kiosk.post("/invitation", data={"code": "ZZZZZZ"}).status_code == 429
        # Another kiosk is not blocked, and a right code there still checks out.
        response = neighbour.post("/check-out", data={"code": visit.short_code})
        assert response.status_code == 302

    def test_successful_check_outs_are_not_counted(
        self, pair: Any, make_site: Any, make_visit: Any
    ):
        site = make_site()
        kiosk = pair(site)
        for _ in range(8):
            visit = make_visit(site)
            assert kiosk.post("/check-out", data={"code": visit.short_code}).status_code == 302


def test_kiosk_cookies_are_secure_over_https(
    app: Flask, session: Session, make_site: Any, clock: Any
):
    _device, code = create_device(session, make_site(), "Door", now=clock.now())
    session.commit()
    client = app.test_client()
    response = client.post("/pair", data={"code": code}, base_url="https://kiosk.example")
    assert response.status_code == 302
    language = client.post("/language", data={"locale": "sv"}, base_url="https://kiosk.example")
    for cookie in [
        *response.headers.getlist("Set-Cookie"),
        *language.headers.getlist("Set-Cookie"),
    ]:
        flags = [flag.strip().lower() for flag in cookie.split(";")]
        assert {"secure", "httponly", "samesite=lax"} <= set(flags), cookie
    names = {c.split("=")[0] for c in response.headers.getlist("Set-Cookie")}
    assert "__Host-kiosk_device" in names  # Secure, so with the __Host- prefix
