"""The kiosk's thin check-in path: form, registration, confirmation, language, bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk import create_app
from kiosk.db import get_database
from kiosk.models import Visit
from kiosk.services.demo import NOTICE_EN, NOTICE_SV
from kiosk.services.notices import publish_notice
from kiosk.services.visits import SHORT_CODE_ALPHABET


@pytest.fixture
def site(make_site: Any, make_host: Any, session: Session, clock: Any) -> Any:
    site = make_site(name="Head Office", retention_days=21)
    make_host(site, name="Hanna Host")
    make_host(site, name="Gone Host", active=False)
    publish_notice(session, site, "sv", NOTICE_SV, now=clock.now())
    publish_notice(session, site, "en", NOTICE_EN, now=clock.now())
    session.commit()
    return site


def translated(app: Flask, locale: str, message: str) -> str:
    with app.test_request_context(), force_locale(locale):
        text = gettext(message)
    return text


def host_options(page: str) -> dict[str, str]:
    return {name: value for value, name in re.findall(r'<option value="(\d+)">([^<]+)<', page)}


def visit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Visit)) or 0


def test_form_shows_site_active_hosts_and_notice_in_site_language(client: FlaskClient, site: Any):
    page = client.get("/").text
    assert "Head Office" in page
    assert '<html lang="sv">' in page
    hosts = host_options(page)
    assert "Hanna Host" in hosts
    assert "Gone Host" not in hosts  # inactive hosts are not offered
    # The notice states the retention from the site's own setting.
    assert "raderas automatiskt 21 dagar" in page
    assert "Integritetsskyddsmyndigheten (IMY)" in page


def test_check_in_creates_visit_and_confirmation_shows_once(
    app: Flask, client: FlaskClient, site: Any, session: Session, clock: Any
):
    hosts = host_options(client.get("/").text)
    response = client.post(
        "/", data={"name": "Ada Lovelace", "company": "Engines Ltd", "host": hosts["Hanna Host"]}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/done"  # no personal data in the URL

    visit = session.scalars(select(Visit)).one()
    assert (visit.visitor_name, visit.company, visit.host.name) == (
        "Ada Lovelace",
        "Engines Ltd",
        "Hanna Host",
    )
    assert visit.checked_in_at == clock.now()
    assert visit.checked_out_at is None
    assert visit.locale == "sv"
    assert visit.notice_version is not None
    assert (visit.notice_version.locale, visit.notice_version.version) == ("sv", 1)
    assert len(visit.badge_token) >= 22  # >= 128 bits, URL-safe base64
    assert set(visit.short_code) <= set(SHORT_CODE_ALPHABET)

    done = client.get("/done")
    assert done.status_code == 200
    assert "Ada" in done.text
    assert "Lovelace" not in done.text  # the greeting uses the first name only
    assert visit.short_code in done.text
    assert done.headers["Cache-Control"] == "no-store"

    # Reloading, or the next visitor pressing "back", shows nothing of the previous visitor.
    again = client.get("/done")
    assert again.status_code == 302
    assert "Ada" not in client.get("/").text


def test_ask_reception_choice_creates_visit_without_host(
    client: FlaskClient, site: Any, session: Session
):
    response = client.post("/", data={"name": "Grace", "host": "0"})
    assert response.status_code == 302
    assert session.scalars(select(Visit)).one().host_id is None


def test_missing_name_gives_message_in_visitor_language_and_keeps_input(
    app: Flask, client: FlaskClient, site: Any, session: Session
):
    response = client.post("/", data={"name": "  ", "company": "Kept Company AB", "host": "0"})
    assert response.status_code == 200
    expected = translated(app, "sv", "Please enter your name.")
    assert expected != "Please enter your name."  # the Swedish catalog is really used
    assert expected in response.text
    assert 'value="Kept Company AB"' in response.text
    assert visit_count(session) == 0


def test_language_choice_switches_the_kiosk_and_resets_after_check_in(
    app: Flask, client: FlaskClient, site: Any, session: Session
):
    client.post("/language", data={"locale": "de"})
    page = client.get("/").text
    assert '<html lang="de">' in page
    assert translated(app, "de", "Check in") in page
    # No German notice is published: the site's default (Swedish) one is shown.
    assert "raderas automatiskt" in page

    client.post("/", data={"name": "Dieter", "host": "0"})
    assert session.scalars(select(Visit)).one().locale == "de"
    assert '<html lang="de">' in client.get("/done").text
    # The next visitor starts in the site's language again.
    assert '<html lang="sv">' in client.get("/").text


def test_english_visitor_sees_english_notice(client: FlaskClient, site: Any, session: Session):
    client.post("/language", data={"locale": "en"})
    page = client.get("/").text
    assert "deleted automatically 21 days after you check out" in page
    client.post("/", data={"name": "Ed", "host": "0"})
    assert session.scalars(select(Visit)).one().notice_version.locale == "en"


def test_unknown_language_is_ignored(client: FlaskClient, site: Any):
    client.post("/language", data={"locale": "xx"})
    assert '<html lang="sv">' in client.get("/").text


@pytest.mark.parametrize("host", ["999999", "abc", "-1", ""])
def test_host_not_offered_is_refused(client: FlaskClient, site: Any, session: Session, host: str):
    response = client.post("/", data={"name": "Mallory", "host": host})
    assert response.status_code == 200
    assert "has-error" in response.text
    assert visit_count(session) == 0


def test_inactive_host_is_refused(client: FlaskClient, site: Any, session: Session):
    inactive = next(h for h in site.hosts if not h.active)
    response = client.post("/", data={"name": "Mallory", "host": str(inactive.id)})
    assert response.status_code == 200
    assert visit_count(session) == 0


def test_control_characters_and_nul_bytes_are_cleaned(
    client: FlaskClient, site: Any, session: Session
):
    response = client.post("/", data={"name": "Ze\x00ro\tCool\r\n", "company": "\x07", "host": "0"})
    assert response.status_code == 302
    visit = session.scalars(select(Visit)).one()
    assert visit.visitor_name == "Ze ro Cool"
    assert visit.company is None


def test_overlong_name_is_a_form_error(client: FlaskClient, site: Any, session: Session):
    response = client.post("/", data={"name": "x" * 201, "host": "0"})
    assert response.status_code == 200
    assert "has-error" in response.text
    assert visit_count(session) == 0


def test_unicode_names_are_kept(client: FlaskClient, site: Any, session: Session):
    name = "Åsa Ødegård-Ελένη Жукова 王小明"
    assert client.post("/", data={"name": name, "host": "0"}).status_code == 302
    assert session.scalars(select(Visit)).one().visitor_name == name


def test_kiosk_without_any_site_explains_itself(client: FlaskClient):
    response = client.get("/")
    assert response.status_code == 503
    assert "not set up" in response.text


def test_configured_site_is_served(app_config: dict[str, Any], make_site: Any, session: Session):
    make_site(name="First")
    make_site(name="Second")
    app_config["SITE"] = "Second"
    app = create_app(app_config)
    try:
        assert "Second" in app.test_client().get("/").text
    finally:
        get_database(app).engine.dispose()


class TestWithCsrf:
    """CSRF stays on in production; these tests prove it works."""

    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def test_post_without_token_is_refused_politely(
        self, client: FlaskClient, site: Any, session: Session
    ):
        response = client.post("/", data={"name": "Eve", "host": "0"})
        assert response.status_code == 400
        assert "Traceback" not in response.text
        assert visit_count(session) == 0

    def test_post_with_token_from_form_succeeds(
        self, client: FlaskClient, site: Any, session: Session
    ):
        page = client.get("/").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token is not None
        response = client.post("/", data={"name": "Alice", "host": "0", "csrf_token": token[1]})
        assert response.status_code == 302
        assert visit_count(session) == 1
