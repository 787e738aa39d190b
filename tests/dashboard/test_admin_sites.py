"""Admin: creating sites and editing every setting, with each validation rule."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import AuditEvent, Site
from kiosk.services.admin_sites import SiteError, SiteSettings, create_site, is_webhook_url

GOOD = {
    "name": "North Office",
    "timezone": "Europe/Helsinki",
    "default_locale": "fi",
    "retention_days": "14",
    "field_company": "required",
    "field_host": "optional",
    "field_purpose": "hidden",
    "field_email": "optional",
    "field_phone": "required",
    "end_of_day": "18:30",
    "webhook_url": "https://hooks.example.com/services/T000/B000",
    "controller_name": "North Oy",
    "controller_contact": "Pohjoiskatu 1, Helsinki, privacy@north.example",
    "dpo_contact": "dpo@north.example",
    "authority_name": "Tietosuojavaltuutetun toimisto",
    "authority_contact": "tietosuoja.fi",
}


def test_create_a_site_with_every_setting(staff_client: FlaskClient, session: Session, clock: Any):
    response = staff_client.post("/dashboard/admin/sites/new", data=GOOD)
    assert response.status_code == 302, response.text
    site = session.scalar(select(Site).where(Site.name == "North Office"))
    assert response.headers["Location"] == f"/dashboard/admin/sites/{site.id}/notices"
    assert (site.timezone, site.default_locale, site.retention_days) == (
        "Europe/Helsinki",
        "fi",
        14,
    )
    assert [site.field_mode(f) for f in ("company", "host", "purpose", "email", "phone")] == [
        "required",
        "optional",
        "hidden",
        "optional",
        "required",
    ]
    assert site.end_of_day == time(18, 30)
    assert site.webhook_url == GOOD["webhook_url"]
    assert (site.controller_name, site.dpo_contact, site.authority_contact) == (
        "North Oy",
        "dpo@north.example",
        "tietosuoja.fi",
    )
    assert site.created_at == clock.now()
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "create_site"))
    assert (event.target_type, event.target_id) == ("site", str(site.id))


def test_the_new_site_form_starts_with_sensible_defaults(staff_client: FlaskClient):
    page = staff_client.get("/dashboard/admin/sites/new").text
    assert 'value="Europe/Stockholm"' in page
    assert 'value="30"' in page
    assert 'value="Integritetsskyddsmyndigheten (IMY)"' in page


def test_edit_changes_settings_and_clears_optional_ones(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    site = make_site(end_of_day=time(17, 0), webhook_url="https://old.example/hook")
    page = staff_client.get(f"/dashboard/admin/sites/{site.id}").text
    assert 'value="17:00"' in page
    assert 'value="https://old.example/hook"' in page
    data = {
        **GOOD,
        "name": site.name,
        "end_of_day": "",
        "webhook_url": "",
        "dpo_contact": "",
        "authority_contact": "",
    }
    response = staff_client.post(f"/dashboard/admin/sites/{site.id}", data=data)
    assert response.status_code == 302, response.text
    session.expire_all()
    site = session.get(Site, site.id)
    assert site.end_of_day is None
    assert site.webhook_url is None
    assert site.dpo_contact is None
    assert site.authority_contact is None
    assert site.retention_days == 14
    assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "update_site"))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Please fill this in."),
        ("name", "x" * 101, "Please use at most 100 characters."),
        ("name", "Bad\u202eName", "Please use only letters, digits and ordinary punctuation."),
        ("timezone", "Mars/Olympus", "Please give a time zone such as Europe/Stockholm."),
        ("timezone", "../../etc/passwd", "Please give a time zone such as Europe/Stockholm."),
        ("default_locale", "xx", "Not a valid choice."),
        ("retention_days", "0", "Please give a number of days from 1 to 3650."),
        ("retention_days", "3651", "Please give a number of days from 1 to 3650."),
        ("retention_days", "abc", "Not a valid integer value."),
        ("retention_days", "", "Please fill this in."),
        ("field_email", "sometimes", "Not a valid choice."),
        ("end_of_day", "25:00", "Not a valid time value."),
        ("webhook_url", "ftp://hooks.example.com/x", "starting with https:// or http://"),
        ("webhook_url", "javascript:alert(1)", "starting with https:// or http://"),
        ("webhook_url", "https://", "starting with https:// or http://"),
        ("webhook_url", "https://exa mple.com/", "starting with https:// or http://"),
        ("controller_name", "", "Please fill this in."),
        ("controller_contact", " ", "Please fill this in."),
        ("authority_name", "", "Please fill this in."),
        ("dpo_contact", "x" * 501, "Please use at most 500 characters."),
    ],
)
def test_each_setting_is_validated(
    staff_client: FlaskClient, session: Session, field: str, value: str, message: str
):
    response = staff_client.post("/dashboard/admin/sites/new", data={**GOOD, field: value})
    assert response.status_code == 200
    assert message in response.text
    assert f'id="{field}-errors"' in response.text
    assert session.scalar(select(Site.id)) is None


def test_validation_messages_speak_the_users_language(staff_client: FlaskClient):
    data = {**GOOD, "retention_days": "abc", "timezone": "Nowhere", "controller_name": ""}
    page = staff_client.post(
        "/dashboard/admin/sites/new", data=data, headers={"Accept-Language": "sv"}
    ).text
    assert "Ange en tidszon som Europe/Stockholm." in page
    assert "Fyll i det här." in page
    assert "Not a valid integer value." not in page


def test_site_names_are_unique_ignoring_case(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    make_site(name="Main Office")
    other = make_site(name="Other")
    created = staff_client.post("/dashboard/admin/sites/new", data={**GOOD, "name": "main office"})
    assert "Another site has this name already." in created.text
    renamed = staff_client.post(
        f"/dashboard/admin/sites/{other.id}", data={**GOOD, "name": "MAIN OFFICE"}
    )
    assert "Another site has this name already." in renamed.text
    # Keeping its own name is no conflict.
    kept = staff_client.post(f"/dashboard/admin/sites/{other.id}", data={**GOOD, "name": "Other"})
    assert kept.status_code == 302


def test_sites_list_links_settings_notices_and_hosts(staff_client: FlaskClient, make_site: Any):
    site = make_site(name="Listed")
    page = staff_client.get("/dashboard/admin/sites").text
    assert "Listed" in page
    assert f"/dashboard/admin/sites/{site.id}/notices" in page
    assert f"/dashboard/admin/hosts?site={site.id}" in page


def test_unknown_site_is_not_found(staff_client: FlaskClient):
    assert staff_client.get("/dashboard/admin/sites/999").status_code == 404


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.slack.com/services/T/B/X", True),
        ("http://intranet:8080/hook", True),
        ("https://user:pw@example.com/", False),
        ("https://example.com:99999/", False),
        ("mailto:a@example.com", False),
        ("//example.com/", False),
        ("https://example.com/\x00", False),
    ],
)
def test_webhook_urls(url: str, ok: bool):
    assert is_webhook_url(url) is ok


def test_the_service_refuses_bad_settings_without_a_form(session: Session, clock: Any):
    settings = SiteSettings(
        name="Plain",
        timezone="Europe/Stockholm",
        default_locale="sv",
        retention_days=0,
        controller_name="A",
        controller_contact="B",
        authority_name="C",
    )
    with pytest.raises(SiteError) as error:
        create_site(session, settings, languages=["sv"], now=clock.now())
    assert error.value.field == "retention_days"
