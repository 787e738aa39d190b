"""The kiosk: pairing guard, welcome, check-in with the privacy notice, language, reset."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.models import Visit
from kiosk.services.demo import NOTICE_EN, NOTICE_SV
from kiosk.services.notices import publish_notice
from kiosk.services.visits import SHORT_CODE_ALPHABET
from tests.support import without_csrf_tokens


@pytest.fixture
def site(make_site: Any, make_host: Any, session: Session, clock: Any) -> Any:
    site = make_site(name="Head Office", retention_days=21)
    make_host(site, name="Hanna Host")
    make_host(site, name="Gone Host", active=False)
    publish_notice(session, site, "sv", NOTICE_SV, now=clock.now())
    publish_notice(session, site, "en", NOTICE_EN, now=clock.now())
    session.commit()
    return site


@pytest.fixture
def kiosk(pair: Any, site: Any) -> FlaskClient:
    return pair(site)


def translated(app: Flask, locale: str, message: str) -> str:
    with app.test_request_context(), force_locale(locale):
        text = gettext(message)
    return text


def visit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Visit)) or 0


def check_in(kiosk: FlaskClient, **fields: str) -> Any:
    """Enter details, confirm the notice; return the confirmation page."""
    response = kiosk.post("/check-in", data={"ask_reception": "y", **fields})
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == "/notice"
    assert kiosk.get("/notice").status_code == 200
    response = kiosk.post("/notice", data={"read": "1"})
    assert response.headers["Location"] == "/done"
    return kiosk.get("/done")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/"),
        ("get", "/check-in"),
        ("post", "/check-in"),
        ("get", "/notice"),
        ("get", "/done"),
        ("get", "/check-out"),
        ("post", "/check-out"),
        ("get", "/invitation"),
        ("get", "/hosts?q=ha"),
        ("get", "/reset"),
    ],
)
def test_unpaired_browser_is_refused(
    client: FlaskClient, site: Any, session: Session, method: str, path: str
):
    response = getattr(client, method)(path, data={"name": "Eve", "ask_reception": "y"})
    assert response.status_code == 403
    assert "not a registered kiosk" in response.text
    assert "Hanna" not in response.text
    assert visit_count(session) == 0


def test_forged_device_cookie_is_refused(client: FlaskClient, site: Any):
    client.set_cookie("kiosk_device", "WzEsImFiYyJd.forged")
    assert client.get("/").status_code == 403


def test_welcome_offers_the_three_ways_and_languages_in_their_own_names(kiosk: FlaskClient):
    page = kiosk.get("/").text
    assert '<html lang="sv">' in page  # the site's default language is preselected
    assert "Head Office" in page
    for path in ("/check-in", "/check-out", "/invitation"):
        assert f'href="{path}"' in page
    for name in ("Svenska", "English", "Norsk bokmål", "Dansk", "Suomi", "Deutsch"):
        assert f">{name}</button>" in page


def test_full_check_in_records_visit_with_notice_version(
    kiosk: FlaskClient, site: Any, session: Session, clock: Any
):
    host = next(h for h in site.hosts if h.active)
    response = kiosk.post(
        "/check-in",
        data={
            "name": "Ada  Lovelace",
            "company": "Engines Ltd",
            "host_id": str(host.id),
            "host_query": host.name,
        },
    )
    assert response.headers["Location"] == "/notice"
    assert visit_count(session) == 0  # nothing is stored before the notice is confirmed
    kiosk.get("/notice")
    kiosk.post("/notice", data={"read": "1"})

    visit = session.scalars(select(Visit)).one()
    assert (visit.visitor_name, visit.company, visit.host_id) == (
        "Ada Lovelace",
        "Engines Ltd",
        host.id,
    )
    assert visit.checked_in_at == clock.now()
    assert visit.locale == "sv"
    assert (visit.notice_version.locale, visit.notice_version.version) == ("sv", 1)
    assert len(visit.badge_token) >= 22
    assert set(visit.short_code) <= set(SHORT_CODE_ALPHABET)

    done = kiosk.get("/done")
    assert "Ada" in done.text
    assert "Lovelace" not in done.text
    assert visit.short_code in done.text
    assert done.headers["Cache-Control"] == "no-store"
    assert 'data-idle-seconds="15"' in done.text  # back to the start after CONFIRMATION_SECONDS
    # Reloading, or the next visitor going "back", shows nothing of this visitor.
    assert kiosk.get("/done").status_code == 302
    for path in ("/", "/check-in", "/notice"):
        assert "Ada" not in without_csrf_tokens(kiosk.get(path, follow_redirects=True).text)


def test_notice_first_layer_comes_from_site_settings(kiosk: FlaskClient, site: Any):
    kiosk.post("/language", data={"locale": "en"})
    kiosk.post("/check-in", data={"name": "Ed", "ask_reception": "y"})
    page = kiosk.get("/notice").text
    for fact in (
        "Example AB",  # controller
        "dpo@example.com",
        "Article 6(1)(f)",
        "Deleted automatically 21 days after you check out.",
        "Right to object",
        "Integritetsskyddsmyndigheten (IMY)",
        "Read the full privacy notice",
        "deleted automatically 21 days after you check out",  # full text, placeholders filled
        "<svg",
    ):
        assert fact in page, fact
    # An acknowledgement, never a request for consent.
    assert not re.search(r"consent|agree|accept", page, re.IGNORECASE)


def test_notice_qr_points_at_public_page(app_config: dict[str, Any], site: Any, pair: Any):
    from kiosk import create_app
    from kiosk.db import get_database

    app_config["PUBLIC_URL"] = "https://visit.example.com"
    app = create_app(app_config)
    try:
        kiosk = pair(site, app.test_client())
        kiosk.post("/check-in", data={"name": "Ed", "ask_reception": "y"})
        page = kiosk.get("/notice").text
        assert f"https://visit.example.com/privacy/{site.id}/sv" in page
    finally:
        get_database(app).engine.dispose()


def test_public_notice_page_needs_no_kiosk(client: FlaskClient, site: Any):
    page = client.get(f"/privacy/{site.id}/en")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert "deleted automatically 21 days" in page.text
    german = client.get(f"/privacy/{site.id}/de").text
    assert '<html lang="de">' in german
    # No German text: the English one (before the site's own), and the page says so in German.
    assert "deleted automatically 21 days" in german
    assert "Englisch" in german
    assert client.get(f"/privacy/{site.id}/xx").status_code == 404
    assert client.get("/privacy/9999/en").status_code == 404


def test_declining_stores_nothing(kiosk: FlaskClient, session: Session):
    kiosk.post("/check-in", data={"name": "Private Person", "ask_reception": "y"})
    kiosk.get("/notice")
    response = kiosk.post("/notice", data={"decline": "1"}, follow_redirects=True)
    assert "Private Person" not in response.text
    assert visit_count(session) == 0
    assert kiosk.get("/notice").headers["Location"] == "/check-in"


def test_notice_without_details_goes_back_to_form(kiosk: FlaskClient):
    assert kiosk.get("/notice").headers["Location"] == "/check-in"
    assert kiosk.post("/notice", data={"read": "1"}).headers["Location"] == "/check-in"


def test_missing_name_gives_message_in_visitor_language_and_keeps_input(
    app: Flask, kiosk: FlaskClient, session: Session
):
    response = kiosk.post(
        "/check-in", data={"name": "  ", "company": "Kept AB", "ask_reception": "y"}
    )
    assert response.status_code == 200
    expected = translated(app, "sv", "Please enter your name.")
    assert expected != "Please enter your name."
    assert expected in response.text
    assert 'value="Kept AB"' in response.text
    assert visit_count(session) == 0


@pytest.mark.parametrize(
    "name",
    ["Ze\x00ro", "Tab\there", "evil\u202egnp.exe", "iso\u2066late", "line\u2028sep"],
)
def test_control_and_bidi_override_characters_are_refused(
    app: Flask, kiosk: FlaskClient, session: Session, name: str
):
    response = kiosk.post("/check-in", data={"name": name, "ask_reception": "y"})
    assert response.status_code == 200
    message = translated(app, "sv", "Please use only letters, digits and ordinary punctuation.")
    assert message in response.text
    assert kiosk.get("/notice").status_code == 302  # nothing pending
    assert visit_count(session) == 0


@pytest.mark.parametrize(
    "name",
    ["Åsa Ødegård", "Jürgen Groß", "Ελένη Παπαδοπούλου", "Жанна Петрова", "王小明", "محمد علي"],
)
def test_unicode_names_are_kept(kiosk: FlaskClient, session: Session, name: str):
    check_in(kiosk, name=name)
    assert session.scalars(select(Visit)).one().visitor_name == name


def test_names_are_normalised_to_nfc(kiosk: FlaskClient, session: Session):
    check_in(kiosk, name="A\u030asa")  # A + combining ring
    assert session.scalars(select(Visit)).one().visitor_name == "\u00c5sa"


def test_overlong_fields_are_form_errors(kiosk: FlaskClient, session: Session):
    response = kiosk.post("/check-in", data={"name": "x" * 201, "company": "y" * 201})
    assert response.text.count("at most 200") + response.text.count("200") >= 2
    assert visit_count(session) == 0


def test_language_choice_stays_on_screen_and_resets_after_check_in(
    app: Flask, kiosk: FlaskClient, session: Session
):
    response = kiosk.post("/language", data={"locale": "de", "next": ".check_in"})
    assert response.headers["Location"] == "/check-in"
    page = kiosk.get("/check-in").text
    assert '<html lang="de">' in page
    assert translated(app, "de", "Your name") in page
    done = check_in(kiosk, name="Dieter")
    assert '<html lang="de">' in done.text
    assert session.scalars(select(Visit)).one().locale == "de"
    assert '<html lang="sv">' in kiosk.get("/").text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil", "/dashboard/", ".pair"])
def test_language_return_is_a_kiosk_screen_only(kiosk: FlaskClient, target: str):
    response = kiosk.post("/language", data={"locale": "en", "next": target})
    assert response.headers["Location"] == "/"


def test_unknown_language_is_ignored(kiosk: FlaskClient):
    kiosk.post("/language", data={"locale": "xx"})
    assert '<html lang="sv">' in kiosk.get("/").text


def test_reset_forgets_entered_details(kiosk: FlaskClient):
    kiosk.post("/check-in", data={"name": "Half Done", "ask_reception": "y"})
    assert "Half Done" in kiosk.get("/check-in").text  # "back" from the notice keeps them
    assert kiosk.get("/reset").headers["Location"] == "/"
    assert "Half Done" not in kiosk.get("/check-in").text
    assert kiosk.get("/notice").headers["Location"] == "/check-in"


def test_idle_time_and_reset_url_reach_the_page(kiosk: FlaskClient):
    page = kiosk.get("/check-in").text
    assert 'data-idle-seconds="60"' in page
    assert 'data-reset-url="/reset"' in page
    assert "/static/js/kiosk.js" in page


def test_kiosk_pages_are_never_cached(kiosk: FlaskClient):
    for path in ("/", "/check-in", "/check-out", "/invitation"):
        assert kiosk.get(path).headers["Cache-Control"] == "no-store"
    assert kiosk.get("/").headers["Referrer-Policy"] == "no-referrer"


def test_inputs_never_offer_earlier_visitors_entries(kiosk: FlaskClient):
    page = kiosk.get("/check-in").text
    assert 'autocomplete="off"' in page
    for field in re.findall(r"<input[^>]+>", page):
        if re.search(r'type="(hidden|checkbox|submit)"', field):
            continue
        assert 'autocomplete="off"' in field, field


class TestWithCsrf:
    """CSRF stays on in production; these tests prove it works on the kiosk."""

    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "WTF_CSRF_ENABLED": True}

    @pytest.fixture
    def kiosk(self, app: Flask, session: Session, site: Any, clock: Any) -> FlaskClient:
        from kiosk.services.kiosks import create_device

        _device, code = create_device(session, site, "CSRF kiosk", now=clock.now())
        session.commit()
        client = app.test_client()
        token = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/pair").text
        )
        assert token
        assert client.post("/pair", data={"code": code, "csrf_token": token[1]}).status_code == 302
        return client

    def test_post_without_token_is_refused_politely(self, kiosk: FlaskClient, session: Session):
        response = kiosk.post("/check-in", data={"name": "Eve", "ask_reception": "y"})
        assert response.status_code == 400
        assert "Traceback" not in response.text
        assert kiosk.get("/notice").status_code == 302

    def test_post_with_token_from_form_succeeds(self, kiosk: FlaskClient, session: Session):
        page = kiosk.get("/check-in").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token
        response = kiosk.post(
            "/check-in", data={"name": "Alice", "ask_reception": "y", "csrf_token": token[1]}
        )
        assert response.headers["Location"] == "/notice"
