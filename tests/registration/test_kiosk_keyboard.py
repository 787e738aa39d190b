"""The on-screen keyboard setting per kiosk: on by default, switched on the dashboard's Kiosks
page by an admin (audited), and the kiosk screens carry the keyboard only while it is on."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from kiosk import create_app
from kiosk.cli import main
from kiosk.db import get_database
from kiosk.models import AuditEvent, KioskDevice, Site

#: Every kiosk screen with a text field.
SCREENS = ("/check-in", "/check-out", "/invitation")


@pytest.fixture
def site(make_site: Any, make_host: Any) -> Any:
    site = make_site(name="Keyboard Office", default_locale="sv")
    make_host(site, name="Hanna Host")
    return site


def paired(pair: Any, site: Any, session: Session) -> tuple[FlaskClient, KioskDevice]:
    client = pair(site)
    device = session.scalars(select(KioskDevice).order_by(KioskDevice.id.desc())).first()
    assert device is not None
    return client, device


def has_keyboard(page: str) -> bool:
    """The page loads the keyboard and has its panel (both, or neither)."""
    assets = "vendor/simple-keyboard/simple-keyboard.js" in page and "js/keyboard.js" in page
    panel = 'id="osk"' in page
    assert assets == panel, "keyboard assets and panel must come together"
    return panel


def test_a_new_kiosk_has_the_keyboard_on_every_screen(pair: Any, site: Any, session: Session):
    kiosk, device = paired(pair, site, session)
    assert device.on_screen_keyboard is True
    for path in SCREENS:
        assert has_keyboard(kiosk.get(path).text), path


def test_a_screen_without_a_text_field_does_not_load_the_keyboard(
    pair: Any, site: Any, session: Session
):
    # The welcome screen is every visitor's first paint: 24 KB of keyboard it never uses
    # would only slow it down.
    kiosk, device = paired(pair, site, session)
    assert device.on_screen_keyboard is True
    assert not has_keyboard(kiosk.get("/").text)
    assert has_keyboard(kiosk.get("/check-in").text)


def test_key_names_come_in_the_visitors_language(pair: Any, site: Any, session: Session):
    kiosk, _device = paired(pair, site, session)
    page = kiosk.get("/check-in").text
    labels = json.loads(re.search(r"data-labels='([^']*)'", page)[1])  # type: ignore[index]
    assert labels["shift"] == "Skift"
    assert labels["bksp"] == "Radera"
    assert 'aria-label="Skärmtangentbord"' in page
    kiosk.post("/language", data={"locale": "de", "next": ".check_in"})
    page = kiosk.get("/check-in").text
    labels = json.loads(re.search(r"data-labels='([^']*)'", page)[1])  # type: ignore[index]
    assert labels["space"] == "Leerzeichen"


def test_the_pairing_screen_has_the_keyboard(client: FlaskClient):
    # A touchscreen being set up has no other way to type the pairing code.
    assert has_keyboard(client.get("/pair").text)


def test_admin_turns_a_kiosks_keyboard_off_and_on(
    pair: Any, site: Any, session: Session, login: Any, make_staff: Any
):
    front, front_device = paired(pair, site, session)
    side, side_device = paired(pair, site, session)
    admin = login(make_staff(role="admin"))

    listing = admin.get("/dashboard/kiosks").text
    assert f"/dashboard/kiosks/{side_device.id}/keyboard" in listing
    form = admin.get(f"/dashboard/kiosks/{side_device.id}/keyboard").text
    assert re.search(r'<option selected value="on">|<option value="on" selected>', form), form

    response = admin.post(f"/dashboard/kiosks/{side_device.id}/keyboard", data={"keyboard": "off"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/kiosks"
    session.expire_all()
    assert (front_device.on_screen_keyboard, side_device.on_screen_keyboard) == (True, False)
    listing = admin.get("/dashboard/kiosks").text
    assert "The keyboard setting of the kiosk “Kiosk 2” was saved." in listing

    # The side kiosk follows on its next screen; the front kiosk keeps its keyboard.
    for path in SCREENS:
        assert not has_keyboard(side.get(path).text), path
        assert has_keyboard(front.get(path).text), path

    admin.post(f"/dashboard/kiosks/{side_device.id}/keyboard", data={"keyboard": "on"})
    session.expire_all()
    assert side_device.on_screen_keyboard is True
    assert has_keyboard(side.get("/check-in").text)

    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "configure_kiosk_keyboard")
    ).all()
    assert [(e.target_type, e.target_id) for e in events] == [
        ("kiosk_device", str(side_device.id))
    ] * 2


def test_bad_choice_is_refused_without_change(
    pair: Any, site: Any, session: Session, login: Any, make_staff: Any
):
    _kiosk, device = paired(pair, site, session)
    admin = login(make_staff(role="admin"))
    response = admin.post(f"/dashboard/kiosks/{device.id}/keyboard", data={"keyboard": "maybe"})
    assert response.status_code == 200
    assert "Not a valid choice" in response.text
    session.expire_all()
    assert device.on_screen_keyboard is True
    assert not session.scalars(
        select(AuditEvent).where(AuditEvent.action == "configure_kiosk_keyboard")
    ).all()


def test_reception_cannot_change_a_kiosks_keyboard(
    pair: Any, site: Any, session: Session, login: Any, make_staff: Any
):
    _kiosk, device = paired(pair, site, session)
    reception = login(make_staff(sites=(site,)))
    assert "/keyboard" not in reception.get("/dashboard/kiosks").text
    denied = reception.post(f"/dashboard/kiosks/{device.id}/keyboard", data={"keyboard": "off"})
    assert denied.status_code == 403
    session.expire_all()
    assert device.on_screen_keyboard is True


def test_kiosks_paired_before_the_setting_get_the_keyboard(tmp_path: Path, empty_database_url: str):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": empty_database_url,
        }
    )
    runner = app.test_cli_runner()
    engine = get_database(app).engine
    try:
        assert runner.invoke(main, ["db", "upgrade", "0011_pending_visits"]).exit_code == 0
        created = datetime(2026, 1, 1, tzinfo=UTC)
        with engine.begin() as connection:
            connection.execute(
                insert(Site).values(
                    id=1,
                    name="S",
                    timezone="UTC",
                    default_locale="sv",
                    retention_days=30,
                    controller_name="C",
                    controller_contact="c@example.com",
                    authority_name="A",
                    created_at=created,
                )
            )
            # The table as of 0010: no keyboard column yet.
            connection.execute(
                text(
                    "INSERT INTO kiosk_devices (id, site_id, name, created_at)"
                    " VALUES (5, 1, 'Lobby', :created)"
                ),
                {"created": created},
            )
        assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
        with engine.connect() as connection:
            on = connection.execute(
                text("SELECT on_screen_keyboard FROM kiosk_devices WHERE id = 5")
            ).scalar()
        assert on in (True, 1)
    finally:
        engine.dispose()


def keyboard_domains(page: str) -> list[str]:
    found = re.search(r'data-domains="([^"]*)"', page)
    return found[1].split() if found else []


def test_email_keys_offer_the_sites_own_domains(pair: Any, make_site: Any, make_host: Any):
    site = make_site(name="Domain Office", field_email="optional")
    for number in range(3):
        make_host(site, name=f"Nord {number}", email=f"nord{number}@Nordvik.SE")
    make_host(site, name="Lab", email="lab@labs.nordvik.com")
    make_host(site, name="Third", email="third@third.example")
    make_host(site, name="Webmail", email="someone@gmail.com")
    make_host(site, name="Gone", email="gone@former-name.se", active=False)
    kiosk = pair(site)
    # Most used first, two at most, in lower case; public mail services and hosts who are
    # no longer offered are left out (the keyboard has the common services anyway).
    assert keyboard_domains(kiosk.get("/check-in").text) == ["nordvik.se", "labs.nordvik.com"]


def test_no_domain_hints_where_no_email_is_asked(pair: Any, site: Any):
    # The fixture's site leaves email out (the default): nothing to hint at.
    assert keyboard_domains(pair(site).get("/check-in").text) == []
