"""Friendly error pages, no stack traces or visitor data, and security headers."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext

from kiosk import create_app
from kiosk.db import get_database
from tests.support import assert_security_headers


def test_unknown_route_gets_friendly_404(client: FlaskClient):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert 'href="/"' in response.text


def test_404_in_visitor_language(client: FlaskClient):
    response = client.get("/missing", headers={"Accept-Language": "de"})
    assert '<html lang="de">' in response.text
    assert "Page not found" not in response.text


def _swedish(app: Flask, text: str) -> str:
    with app.test_request_context(), force_locale("sv"):
        translated = gettext(text)
    assert translated != text
    return translated


@pytest.mark.parametrize("kind", ["expired form", "unknown address"])
def test_a_paired_kiosks_error_is_a_kiosk_screen_in_the_sites_language(
    app: Flask, pair: Any, make_site: Any, kind: str
):
    """A form whose CSRF token expired is refused before the kiosk blueprint knows its site,
    and an unknown address has no blueprint: both came in the browser's language (English on a
    Swedish site) in the desktop layout, without the site's header."""
    site = make_site(name="Kontoret Norr", default_locale="sv")
    kiosk = pair(site)
    english = {"Accept-Language": "en-GB"}
    if kind == "expired form":
        app.config["WTF_CSRF_ENABLED"] = True
        stale = {"csrf_token": "stale", "name": "A"}
        response = kiosk.post("/check-in", data=stale, headers=english)
        status, title = 400, "This page had expired"
    else:
        response = kiosk.get("/no/such/screen", headers=english)
        status, title = 404, "Page not found"
    assert response.status_code == status
    assert '<html lang="sv"' in response.text
    assert _swedish(app, title) in response.text
    assert 'class="kiosk-header"' in response.text
    assert "Kontoret Norr" in response.text
    assert "kiosk.css" in response.text
    assert f'data-idle-seconds="{app.config["IDLE_SECONDS"]}"' in response.text


def test_a_browser_that_is_no_kiosk_gets_the_plain_error_page(client: FlaskClient, make_site: Any):
    make_site(name="Kontoret Norr", default_locale="sv")
    response = client.get("/no/such/page", headers={"Accept-Language": "en-GB"})
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "kiosk-header" not in response.text
    assert "Kontoret Norr" not in response.text
    assert "kiosk.css" not in response.text


def test_oversized_request_gets_413_in_the_kiosk_language(app: Flask, pair: Any, make_site: Any):
    kiosk = pair(make_site(default_locale="sv"))
    response = kiosk.post("/check-in", data={"name": "x" * 300_000})
    assert response.status_code == 413
    assert _swedish(app, "Too much data") in response.text


class TestSavedTwiceAtOnce:
    """A uniqueness a form checked, taken by another request between the check and the write
    (the same form sent twice at once: an outside test's double submissions of a new site,
    staff user, kiosk or document draft each got a 500): a 409 that says so."""

    @pytest.fixture
    def app(self, app_config: dict[str, Any]) -> Any:
        from sqlalchemy.exc import IntegrityError

        app = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False})

        def taken() -> str:
            detail = "Key (name)=(Ada Lovelace) already exists."  # as PostgreSQL words it
            raise IntegrityError("INSERT INTO sites", {}, Exception(detail))

        app.add_url_rule("/dashboard/saved-twice", "saved_twice", taken, methods=["POST"])
        app.add_url_rule("/api/v1/saved-twice", "api_saved_twice", taken, methods=["POST"])
        yield app
        get_database(app).engine.dispose()

    def test_a_page_says_it_was_saved_elsewhere(self, app: Flask, caplog: pytest.LogCaptureFixture):
        with caplog.at_level(logging.WARNING):
            response = app.test_client().post(
                "/dashboard/saved-twice", headers={"Accept-Language": "de"}
            )
        assert response.status_code == 409
        with app.test_request_context(), force_locale("de"):
            title = gettext("Saved by someone else at the same moment")
        assert title in response.text
        assert "Ada" not in response.text
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert "saved twice at once on POST /dashboard/saved-twice" in logged
        assert "Ada" not in logged

    def test_the_api_answers_409_conflict(self, app: Flask):
        response = app.test_client().post("/api/v1/saved-twice")
        assert response.status_code == 409
        assert response.mimetype == "application/problem+json"
        assert response.json["code"] == "conflict"
        assert "Ada" not in response.text


class TestUnexpectedError:
    @pytest.fixture
    def app(self, app_config: dict[str, Any]) -> Any:
        app = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False})

        @app.route("/boom")
        def boom() -> str:
            raise RuntimeError("leaky detail: Ada Lovelace, ada@example.com")

        yield app
        get_database(app).engine.dispose()

    def test_friendly_500_without_trace_or_data(self, app: Flask, caplog: pytest.LogCaptureFixture):
        with caplog.at_level(logging.ERROR):
            response = app.test_client().get("/boom")
        assert response.status_code == 500
        assert "Something went wrong" in response.text
        for secret in ("Traceback", "RuntimeError", "Ada", "ada@example.com"):
            assert secret not in response.text
        logged = "\n".join(
            record.getMessage() + str(record.exc_info or "") for record in caplog.records
        )
        assert "unhandled RuntimeError on GET /boom" in logged
        assert "Ada" not in logged
        assert "ada@example.com" not in logged


def test_security_headers_on_every_page(client: FlaskClient, make_site: Any):
    make_site()
    for path in ("/", "/dashboard/login", "/missing"):
        response = client.get(path)
        assert_security_headers(response, path)
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"


def test_session_cookie_flags(pair: Any, make_site: Any):
    kiosk = pair(make_site())
    kiosk.post("/language", data={"locale": "en"})
    cookie = kiosk.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"
