"""Staff sessions end after an absolute lifetime as well as when idle, and cookies carry the
``__Host-`` prefix when they are Secure (OWASP ASVS 5.0 7.3.2, 3.3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from kiosk import create_app
from kiosk.clock import FrozenClock
from kiosk.db import get_database
from kiosk.services.kiosks import create_device
from tests.conftest import STAFF_PASSWORD


def _busy_for(client: Any, clock: FrozenClock, steps: int) -> None:
    """Use the dashboard every 20 minutes (never idle), ``steps`` times."""
    for _ in range(steps):
        clock.advance(timedelta(minutes=20))
        response = client.get("/dashboard/today")
        assert response.status_code == 200, response.headers.get("Location")


def test_a_busy_staff_session_still_ends_after_twelve_hours(
    app: Flask, make_staff: Any, login: Any, clock: FrozenClock
):
    assert app.config["STAFF_SESSION_HOURS"] == 12
    client = login(make_staff())
    _busy_for(client, clock, 35)  # 11 h 40 min
    clock.advance(timedelta(minutes=29))  # 12 h 9 min after the login, 29 min idle
    response = client.get("/dashboard/today")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dashboard/login")
    page = client.get(response.headers["Location"]).text
    assert "Your session ended after 12 hours. Please log in again." in page
    assert client.get("/dashboard/today").status_code == 302  # the session is gone


class TestConfiguredLifetime:
    @pytest.fixture
    def app(self, app_config: dict[str, Any]) -> Iterator[Flask]:
        app = create_app({**app_config, "STAFF_SESSION_HOURS": 2})
        yield app
        get_database(app).engine.dispose()

    def test_the_lifetime_is_a_setting_and_a_password_change_does_not_extend_it(
        self, app: Flask, make_staff: Any, login: Any, clock: FrozenClock
    ):
        client = login(make_staff())
        _busy_for(client, clock, 3)  # an hour
        response = client.post(
            "/dashboard/password",
            data={
                "current": STAFF_PASSWORD,
                "new": "another long one",
                "confirm": "another long one",
            },
        )
        assert response.status_code == 302
        _busy_for(client, clock, 2)  # 1 h 40 min
        clock.advance(timedelta(minutes=21))
        assert client.get("/dashboard/today").status_code == 302


def _cookies(response: Any) -> dict[str, list[str]]:
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        name, _value = header.split(";")[0].split("=", 1)
        found[name] = [flag.strip().lower() for flag in header.split(";")[1:]]
    return found


class TestSecureCookies:
    @pytest.fixture
    def app(self, app_config: dict[str, Any]) -> Iterator[Flask]:
        app = create_app({**app_config, "SESSION_COOKIE_SECURE": True})
        yield app
        get_database(app).engine.dispose()

    def test_secure_cookies_carry_the_host_prefix(
        self, app: Flask, make_staff: Any, make_site: Any, session: Session, clock: FrozenClock
    ):
        user = make_staff()
        staff = app.test_client()
        https = {"base_url": "https://kiosk.example"}
        response = staff.post(
            "/dashboard/login",
            data={"username": user.username, "password": STAFF_PASSWORD},
            **https,
        )
        assert response.status_code == 302
        cookies = _cookies(response)
        assert set(cookies) == {"__Host-session"}, cookies
        flags = cookies["__Host-session"]
        # __Host-: Secure, Path=/ and no Domain, or browsers refuse the cookie.
        assert "secure" in flags
        assert "path=/" in flags
        assert not any(flag.startswith("domain") for flag in flags)
        assert staff.get("/dashboard/today", **https).status_code == 200

        _device, code = create_device(session, make_site(), "Door", now=clock.now())
        session.commit()
        kiosk = app.test_client()
        response = kiosk.post("/pair", data={"code": code}, **https)
        assert response.status_code == 302
        cookies = _cookies(response)
        assert "__Host-kiosk_device" in cookies, cookies
        assert {"secure", "path=/"} <= set(cookies["__Host-kiosk_device"])
        assert kiosk.get("/", **https).status_code == 200  # still the paired kiosk

        # A kiosk paired before the prefix (its cookie without it) stays paired.
        value = kiosk.get_cookie("__Host-kiosk_device", domain="kiosk.example")
        assert value is not None
        older = app.test_client()
        older.set_cookie("kiosk_device", value.value, domain="kiosk.example")
        assert older.get("/", **https).status_code == 200


def test_plain_http_cookies_keep_their_names(app: Flask, make_staff: Any):
    user = make_staff()
    response = app.test_client().post(
        "/dashboard/login", data={"username": user.username, "password": STAFF_PASSWORD}
    )
    assert set(_cookies(response)) == {"session"}
