"""Throttling slows attackers without locking out the honest.

- a badge token (a 128-bit secret, scanned) is never throttled by wrong short codes;
- short-code guessing is limited per kiosk, with a growing delay (tiers of longer windows);
- staff logins per username are limited per address: someone elsewhere cannot lock the
  staff member out; the back-off grows the same way, without a captcha;
- pairing codes and the current-password check have limits too.

Flask-Limiter's in-memory storage reads time.time(): the tests move that clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from kiosk import create_app
from kiosk.db import get_database
from tests.conftest import STAFF_PASSWORD


class Time:
    """time.time() as Flask-Limiter's memory storage sees it, moved by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import limits.storage.memory as memory

        self.now = 1_800_000_000.0
        monkeypatch.setattr(memory.time, "time", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def limiter_time(monkeypatch: pytest.MonkeyPatch) -> Time:
    return Time(monkeypatch)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(
        {
            **app_config,
            "CHECKOUT_LIMIT_PER_KIOSK": "3 per minute; 5 per 10 minutes",
            "LOGIN_LIMIT_PER_USERNAME": "3 per minute; 5 per 10 minutes",
        }
    )
    yield app
    get_database(app).engine.dispose()


def test_defaults_grow_the_delay():
    from kiosk.config import DEFAULTS

    for key in ("CHECKOUT_LIMIT_PER_KIOSK", "LOGIN_LIMIT_PER_USERNAME"):
        tiers = [tier.strip() for tier in DEFAULTS[key].split(";")]
        assert len(tiers) >= 3, key  # minutes, then tens of minutes, then an hour
    assert DEFAULTS["PAIR_LIMIT_PER_IP"]
    assert DEFAULTS["PASSWORD_CHECK_LIMIT_PER_USER"]


def test_a_badge_token_checks_out_while_short_codes_are_throttled(
    pair: Any, make_site: Any, make_visit: Any, limiter_time: Time
):
    site = make_site()
    kiosk = pair(site)
    for attempt in range(3):
        assert kiosk.post("/check-out", data={"code": f"ZZZZZ{attempt}"}).status_code == 200
    assert kiosk.post("/check-out", data={"code": "ZZZZZZ"}).status_code == 429
    # Wrong tokens are not counted either: guessing 128 bits is hopeless.
    for _ in range(10):
        assert kiosk.post("/check-out", data={"code": "A" * 22}).status_code == 200
    visit = make_visit(site)
    response = kiosk.post("/check-out", data={"code": visit.badge_token})
    assert response.status_code == 302  # the scanned badge still works
    kiosk.post("/language", data={"locale": "en"})  # the next visitor reads English
    blocked = kiosk.post("/check-out", data={"code": visit.short_code})
    assert blocked.status_code == 429
    assert "scan the code on your badge" in blocked.text


def test_short_code_guessing_gets_a_growing_delay(
    pair: Any, make_site: Any, make_visit: Any, limiter_time: Time
):
    site = make_site()
    kiosk = pair(site)
    for attempt in range(3):
        kiosk.post("/check-out", data={"code": f"ZZZZZ{attempt}"})
    assert kiosk.post("/check-out", data={"code": "ZZZZZZ"}).status_code == 429
    limiter_time.advance(61)  # the first delay: a minute
    for attempt in range(2):
        assert kiosk.post("/check-out", data={"code": f"YYYYY{attempt}"}).status_code == 200
    limiter_time.advance(61)
    assert kiosk.post("/check-out", data={"code": "XXXXXX"}).status_code == 429  # now longer
    limiter_time.advance(600)
    visit = make_visit(site)
    assert kiosk.post("/check-out", data={"code": visit.short_code}).status_code == 302


def _login(app: Flask, username: str, password: str, address: str) -> int:
    client = app.test_client()
    response = client.post(
        "/dashboard/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code


def test_guessing_a_password_from_elsewhere_does_not_lock_the_user_out(
    app: Flask, make_staff: Any, limiter_time: Time
):
    user = make_staff(username="rita")
    for _ in range(3):
        assert _login(app, "rita", "wrong password", "203.0.113.9") == 200
    assert _login(app, "rita", "wrong password", "203.0.113.9") == 429  # the attacker waits
    assert _login(app, "RITA ", "wrong password", "203.0.113.9") == 429  # same name, folded
    # Rita, at her own desk, logs in.
    assert _login(app, user.username, STAFF_PASSWORD, "192.0.2.20") == 302
    # The attacker's delay grows.
    limiter_time.advance(61)
    for _ in range(2):
        assert _login(app, "rita", "wrong password", "203.0.113.9") == 200
    limiter_time.advance(61)
    assert _login(app, "rita", "wrong password", "203.0.113.9") == 429


class TestPairingAndPasswordCheck:
    @pytest.fixture
    def app(self, app_config: dict[str, Any]) -> Iterator[Flask]:
        app = create_app(
            {
                **app_config,
                "PAIR_LIMIT_PER_IP": "3 per 10 minutes",
                "PASSWORD_CHECK_LIMIT_PER_USER": "3 per 10 minutes",
            }
        )
        yield app
        get_database(app).engine.dispose()

    def test_pairing_codes_are_limited_per_address(self, app: Flask, limiter_time: Time):
        client = app.test_client()
        for attempt in range(3):
            assert client.post("/pair", data={"code": f"ABCD-EFG{attempt}"}).status_code == 200
        assert client.post("/pair", data={"code": "ABCD-EFGH"}).status_code == 429
        other = app.test_client()
        response = other.post(
            "/pair", data={"code": "ABCD-EFGH"}, environ_base={"REMOTE_ADDR": "192.0.2.7"}
        )
        assert response.status_code == 200

    def test_the_current_password_check_is_limited_per_user(
        self, app: Flask, make_staff: Any, login: Any, limiter_time: Time
    ):
        client = login(make_staff())
        wrong = {"current": "not my password", "new": "a new long one", "confirm": "a new long one"}
        for _ in range(3):
            assert client.post("/dashboard/password", data=wrong).status_code == 200
        right = {**wrong, "current": STAFF_PASSWORD}
        assert client.post("/dashboard/password", data=right).status_code == 429
        limiter_time.advance(601)
        assert client.post("/dashboard/password", data=right).status_code == 302
