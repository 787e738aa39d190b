"""The kiosk's start screen: the site's logo (its badge logo) and a welcome line per language,
set on the admin's site settings page, with a translated default."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session

from kiosk.badges.settings import prepare_logo
from kiosk.models import Site
from tests.dashboard.test_admin_sites import GOOD


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 100), (11, 92, 173)).save(out, format="PNG")
    return prepare_logo(out.getvalue())


def in_english(kiosk: FlaskClient) -> None:
    kiosk.post("/language", data={"locale": "en", "next": ".welcome"})


def test_welcome_line_per_language_with_a_translated_default(
    staff_client: FlaskClient,
    make_site: Callable[..., Site],
    pair: Callable[..., FlaskClient],
    session: Session,
):
    site = make_site(name="Harbour Office")
    kiosk = pair(site)
    # None set: the default, in the kiosk's language.
    assert "Registrera ditt besök här." in kiosk.get("/").text
    lines = {"welcome_sv": "Välkommen till hamnen!", "welcome_de": "Willkommen am Hafen!"}
    data = {**GOOD, "name": "Harbour Office", "default_locale": "sv", **lines, "welcome_en": "  "}
    response = staff_client.post(f"/dashboard/admin/sites/{site.id}", data=data)
    assert response.status_code == 302, response.text
    session.refresh(site)
    assert site.welcome_text == {"sv": "Välkommen till hamnen!", "de": "Willkommen am Hafen!"}
    assert "Välkommen till hamnen!" in kiosk.get("/").text
    in_english(kiosk)
    page = kiosk.get("/").text
    assert "Please register your visit here." in page
    assert "Välkommen till hamnen!" not in page
    # The settings page shows what is saved, each language labelled in itself.
    form = staff_client.get(f"/dashboard/admin/sites/{site.id}").text
    assert 'value="Willkommen am Hafen!"' in form
    assert ">Deutsch</label>" in form


def test_welcome_line_refuses_control_characters_and_long_text(
    staff_client: FlaskClient, make_site: Callable[..., Site], session: Session
):
    site = make_site(name="Strict Office")
    for bad in ("Hello\u202eevil", "x" * 201):
        data = {**GOOD, "name": "Strict Office", "welcome_en": bad}
        response = staff_client.post(f"/dashboard/admin/sites/{site.id}", data=data)
        assert response.status_code == 200
        assert 'aria-invalid="true"' in response.text
        session.refresh(site)
        assert site.welcome_text is None


def test_the_site_logo_on_the_kiosk(
    make_site: Callable[..., Site],
    pair: Callable[..., FlaskClient],
    session: Session,
    client: FlaskClient,
):
    site = make_site(name="Logo Office")
    kiosk = pair(site)
    assert "site-logo" not in kiosk.get("/").text
    assert kiosk.get("/site-logo.png").status_code == 404
    site.badge_logo = png()
    session.commit()
    page = kiosk.get("/").text
    assert 'class="site-logo"' in page
    assert 'alt="Logo Office"' in page
    start = page.index("/site-logo.png?v=")
    url = page[start : page.index('"', start)]
    response = kiosk.get(url)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data == site.badge_logo
    # Not personal data and versioned by its URL: kept by the kiosk's browser.
    assert "no-store" not in response.headers["Cache-Control"]
    assert "max-age" in response.headers["Cache-Control"]
    # The kiosk's screens themselves are still never stored.
    assert kiosk.get("/").headers["Cache-Control"] == "no-store"
    # Only a paired kiosk sees it.
    assert client.get(url).status_code == 403


def test_the_new_logo_gets_a_new_url(
    make_site: Callable[..., Site], pair: Callable[..., FlaskClient], session: Session
):
    site = make_site(name="Changing Office", badge_logo=png())
    kiosk = pair(site)

    def logo_url() -> Any:
        page = kiosk.get("/").text
        start = page.index("/site-logo.png?v=")
        return page[start : page.index('"', start)]

    before = logo_url()
    out = io.BytesIO()
    Image.new("RGB", (300, 100), (200, 20, 20)).save(out, format="PNG")
    site.badge_logo = prepare_logo(out.getvalue())
    session.commit()
    assert logo_url() != before
