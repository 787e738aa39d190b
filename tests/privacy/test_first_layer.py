"""Issue 13 items 2, 15 and 17: the first layer holds every Art. 13 element in every shipped
language, computed from the site's settings (contact retention, webhook recipient); the full
notice falls back to English; the admin sees which languages lack a notice and sets the
contact retention."""

from __future__ import annotations

from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy.orm import Session

from kiosk.config import LANGUAGES
from kiosk.paths import resource_dir
from kiosk.services.demo import NOTICE_EN, NOTICE_SV
from kiosk.services.first_layer import ELEMENT_KEYS, first_layer, webhook_service
from kiosk.services.notices import publish_notice

#: GDPR.md rows 1-12 and the element of the first layer that carries each.
ART13 = {
    1: "controller",
    2: "controller",
    3: "purposes",
    4: "legal_basis",
    5: "legal_basis",
    6: "recipients",
    7: "transfers",
    8: "storage",
    9: "rights",
    10: "complaints",
    11: "requirement",
    12: "automated_decisions",
}


def catalog(locale: str) -> dict[str, str]:
    path = resource_dir("translations") / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po) if m.id and isinstance(m.id, str)}


@pytest.mark.parametrize("locale", LANGUAGES)
def test_every_art13_element_is_in_the_first_layer_in_every_language(
    app: Flask, make_site: Any, locale: str
):
    site = make_site(webhook_url="https://hooks.slack.com/services/T0/B0/x", dpo_contact="dpo@x")
    with app.test_request_context(), force_locale(locale):
        elements = {element.key: element for element in first_layer(site)}
    assert tuple(elements) == ELEMENT_KEYS
    assert set(ART13.values()) <= set(elements)
    for element in elements.values():
        assert element.heading
        assert all(line.strip() for line in element.lines)
    assert any("dpo@x" in line for line in elements["controller"].lines)  # row 2
    if locale != "en":
        # Each sentence is the translation, not the English source.
        english = {msgid for msgid in catalog(locale)}
        for key in ("transfers", "requirement", "automated_decisions", "recipients"):
            for line in elements[key].lines:
                assert line not in english, (locale, key, line)


def test_the_first_layer_names_the_webhook_service_only_when_there_is_one(
    app: Flask, make_site: Any
):
    quiet = make_site()
    slack = make_site(webhook_url="https://hooks.slack.com/services/T0/B0/secret")
    teams = make_site(webhook_url="https://example.webhook.office.com/webhookb2/abc")
    other = make_site(webhook_url="https://chat.internal.example/hook/abc")
    with app.test_request_context(), force_locale("en"):
        layers = {
            name: {e.key: " ".join(e.lines) for e in first_layer(site)}
            for name, site in (
                ("quiet", quiet),
                ("slack", slack),
                ("teams", teams),
                ("other", other),
            )
        }
    assert "Slack" in layers["slack"]["recipients"]
    # What the arrival message carries (kiosk.notifications.messages and events).
    assert (
        "with your name, your company if you give one, and whom you visit"
        in (layers["slack"]["recipients"])
    )
    assert "Slack" in layers["slack"]["transfers"]
    assert "outside the EU/EEA" in layers["slack"]["transfers"]
    assert "Microsoft Teams" in layers["teams"]["recipients"]
    assert "chat.internal.example" in layers["other"]["recipients"]
    assert "secret" not in " ".join(layers["slack"].values())  # the URL's path is a secret
    assert "posted" not in layers["quiet"]["recipients"]
    assert layers["quiet"]["transfers"].startswith("None")
    assert webhook_service(None) is None


@pytest.fixture
def site(make_site: Any, session: Session, clock: Any) -> Any:
    site = make_site(name="Head Office")
    publish_notice(session, site, "sv", NOTICE_SV, now=clock.now())
    session.commit()
    return site


def test_the_full_notice_falls_back_to_english_before_the_sites_language(
    client: FlaskClient, site: Any, session: Session, clock: Any
):
    assert "Så hanterar vi" in client.get(f"/privacy/{site.id}/de").text
    publish_notice(session, site, "en", NOTICE_EN, now=clock.now())
    session.commit()
    german = client.get(f"/privacy/{site.id}/de").text
    assert "How we handle your details as a visitor" in german
    assert "Englisch" in german  # the page says, in German, that the full text is English


def test_the_notices_page_lists_the_languages_without_a_notice(
    staff_client: FlaskClient, site: Any
):
    page = staff_client.get(f"/dashboard/admin/sites/{site.id}/notices").text
    warning = page.split("data-without-notice", 1)[1].split("</p>", 1)[0]
    for name in ("English", "Norsk bokmål", "Dansk", "Suomi", "Deutsch"):
        assert name in warning
    assert "Svenska" not in warning
    sites = staff_client.get("/dashboard/admin/sites").text
    cell = sites.split(f'data-without-notice="{site.id}">', 1)[1].split("</td>", 1)[0]
    assert cell == "English, Norsk bokmål, Dansk, Suomi, Deutsch"


def site_form(site: Any, **changes: Any) -> dict[str, Any]:
    data = {
        "name": site.name,
        "timezone": site.timezone,
        "default_locale": site.default_locale,
        "retention_days": site.retention_days,
        "controller_name": site.controller_name,
        "controller_contact": site.controller_contact,
        "authority_name": site.authority_name,
        "field_company": "optional",
        "field_host": "required",
        "field_purpose": "optional",
        "field_email": "optional",
        "field_phone": "optional",
    }
    data.update(changes)
    return data


def test_contact_retention_days_is_set_on_the_site_page_and_reaches_the_first_layer(
    staff_client: FlaskClient, site: Any, session: Session, pair: Any
):
    url = f"/dashboard/admin/sites/{site.id}"
    assert 'name="contact_retention_days"' in staff_client.get(url).text
    for bad in ("0", "31", "abc", "99999999999999999999"):
        response = staff_client.post(url, data=site_form(site, contact_retention_days=bad))
        assert response.status_code == 200, bad  # the form again, with its error
    session.refresh(site)
    assert site.contact_retention_days is None
    response = staff_client.post(url, data=site_form(site, contact_retention_days="7"))
    assert response.status_code == 302
    session.refresh(site)
    assert site.contact_retention_days == 7
    kiosk = pair(site)
    kiosk.post("/language", data={"locale": "en"})
    kiosk.post("/check-in", data={"name": "Ed", "ask_reception": "y"})
    notice = kiosk.get("/notice").text
    assert "Your email address and phone number: 7 days after you check out." in notice
    # Empty: as long as the visit again.
    staff_client.post(url, data=site_form(site, contact_retention_days=""))
    session.refresh(site)
    assert site.contact_retention_days is None
