"""Kiosk devices: pairing with a one-time code, revoking, and managing them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.cli import main
from kiosk.models import AuditEvent, KioskDevice
from kiosk.services.kiosks import create_device, issue_pairing_code


@pytest.fixture
def site(make_site: Any) -> Any:
    return make_site(name="Lobby")


def new_device(session: Session, site: Any, clock: Any, name: str = "Entrance") -> tuple[Any, str]:
    device, code = create_device(session, site, name, now=clock.now())
    session.commit()
    return device, code


def test_pairing_code_makes_a_kiosk_once(app: Flask, session: Session, site: Any, clock: Any):
    device, code = new_device(session, site, clock)
    kiosk = app.test_client()
    assert kiosk.get("/pair").status_code == 200
    formatted = f"{code[:4]}-{code[4:]}".lower()  # as people type it
    assert kiosk.post("/pair", data={"code": formatted}).headers["Location"] == "/"
    assert kiosk.get("/").status_code == 200
    cookie = kiosk.get_cookie("kiosk_device")
    assert cookie is not None
    assert cookie.http_only
    assert code not in cookie.value  # the code is spent, never stored
    again = app.test_client()
    assert again.post("/pair", data={"code": code}).status_code == 200
    assert again.get("/").status_code == 403
    events = session.scalars(select(AuditEvent.action)).all()
    assert "pair_kiosk" in events


def test_pairing_link_prefills_the_code(app: Flask, session: Session, site: Any, clock: Any):
    _device, code = new_device(session, site, clock)
    assert f'value="{code}"' in app.test_client().get(f"/pair?code={code}").text


def test_expired_pairing_code(app: Flask, session: Session, site: Any, clock: Any):
    _device, code = new_device(session, site, clock)
    clock.advance(timedelta(hours=25))
    response = app.test_client().post("/pair", data={"code": code})
    assert response.status_code == 200
    assert "has-error" in response.text


@pytest.mark.parametrize("code", ["", "ABCD", "ABCDEFGH", "<script>"])
def test_invalid_pairing_code(client: FlaskClient, site: Any, code: str):
    response = client.post("/pair", data={"code": code})
    assert response.status_code == 200
    assert client.get("/").status_code == 403


def test_revoked_kiosk_stops_at_once(
    app: Flask, session: Session, site: Any, clock: Any, pair: Any, make_staff: Any, login: Any
):
    kiosk = pair(site)
    device = session.scalars(select(KioskDevice)).one()
    staff = login(make_staff(sites=(site,)))
    assert staff.post(f"/dashboard/kiosks/{device.id}/revoke").status_code == 302
    assert kiosk.get("/").status_code == 403


def test_new_code_for_a_device_invalidates_its_old_browser(
    app: Flask, session: Session, site: Any, clock: Any, pair: Any
):
    old_browser = pair(site)
    device = session.scalars(select(KioskDevice)).one()
    code = issue_pairing_code(device, now=clock.now())
    session.commit()
    new_browser = app.test_client()
    new_browser.post("/pair", data={"code": code})
    assert new_browser.get("/").status_code == 200
    assert old_browser.get("/").status_code == 403


def test_admin_creates_kiosk_and_pairs_it(
    app: Flask, site: Any, make_staff: Any, login: Any, session: Session
):
    admin = login(make_staff(role="admin"))
    page = admin.post("/dashboard/kiosks", data={"site": site.id, "name": "Main door"}).text
    code = re.search(r'class="pairing-code">(\w{4}-\w{4})<', page)
    assert code, page
    kiosk = app.test_client()
    assert kiosk.post("/pair", data={"code": code[1]}).headers["Location"] == "/"
    assert "Lobby" in kiosk.get("/").text
    listing = admin.get("/dashboard/kiosks").text
    assert "Main door" in listing
    assert code[1] not in listing  # shown once only
    actions = session.scalars(select(AuditEvent.action)).all()
    assert "create_kiosk" in actions


def test_duplicate_kiosk_name_is_a_form_error(site: Any, make_staff: Any, login: Any):
    admin = login(make_staff(role="admin"))
    admin.post("/dashboard/kiosks", data={"site": site.id, "name": "Door"})
    response = admin.post("/dashboard/kiosks", data={"site": site.id, "name": "Door"})
    assert response.status_code == 200
    assert "has-error" in response.text


def test_reception_sees_and_revokes_only_own_kiosks(
    make_site: Any, site: Any, session: Session, clock: Any, make_staff: Any, login: Any
):
    mine, _ = new_device(session, site, clock, "Mine")
    theirs, _ = new_device(session, make_site(name="Elsewhere"), clock, "Theirs")
    staff = login(make_staff(sites=(site,)))
    page = staff.get("/dashboard/kiosks").text
    assert "Mine" in page
    assert "Theirs" not in page
    assert "Add a kiosk" not in page
    assert staff.post("/dashboard/kiosks", data={"site": site.id, "name": "X"}).status_code == 403
    assert staff.post(f"/dashboard/kiosks/{theirs.id}/revoke").status_code == 404
    assert staff.post(f"/dashboard/kiosks/{theirs.id}/code").status_code == 404
    response = staff.post(f"/dashboard/kiosks/{mine.id}/code")
    assert re.search(r'class="pairing-code">\w{4}-\w{4}<', response.text)


def test_kiosks_page_needs_login(client: FlaskClient):
    assert client.get("/dashboard/kiosks").status_code == 302


def test_cli_adds_lists_and_revokes_devices(runner: FlaskCliRunner, site: Any, session: Session):
    result = runner.invoke(main, ["device", "add", "Side door", "--site", "Lobby"])
    assert result.exit_code == 0, result.output
    assert re.search(r"/pair\?code=\w{8}", result.output)
    device = session.scalars(select(KioskDevice)).one()
    assert "not paired" in runner.invoke(main, ["device", "list"]).output
    assert runner.invoke(main, ["device", "revoke", str(device.id)]).exit_code == 0
    assert "revoked" in runner.invoke(main, ["device", "list"]).output
    assert runner.invoke(main, ["device", "add", "X", "--site", "Nowhere"]).exit_code == 1
