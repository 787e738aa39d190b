"""Admin: staff users, roles and sites, deactivation, password resets, and never no admin."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import AuditEvent, StaffUser
from kiosk.services.staff_admin import LastAdminError, set_staff_active, update_staff_user
from tests.conftest import STAFF_PASSWORD

NEW_PASSWORD = "a brand new password"


def user_named(session: Session, username: str) -> StaffUser:
    session.expire_all()
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    assert user is not None
    return user


def test_create_a_reception_user_who_can_then_log_in(
    staff_client: FlaskClient, make_site: Any, session: Session, login: Any
):
    north, south = make_site(name="North"), make_site(name="South")
    response = staff_client.post(
        "/dashboard/admin/staff/new",
        data={
            "username": "rita",
            "role": "reception",
            "sites": [north.id],
            "password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302, response.text
    rita = user_named(session, "rita")
    assert (rita.role, [s.name for s in rita.sites], rita.active) == ("reception", ["North"], True)
    assert "rita" in staff_client.get("/dashboard/admin/staff").text
    client = login(rita, NEW_PASSWORD)
    page = client.get("/dashboard/").text
    assert "North" in page
    assert "South" not in page
    assert south.id
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "create_staff"))
    assert (event.target_type, event.target_id) == ("staff_user", str(rita.id))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": ""}, "Please fill this in."),
        ({"username": "x" * 81}, "Please use at most 80 characters."),
        ({"username": "EXISTING"}, "This username is taken."),
        (
            {"username": "bad\u202ename"},
            "Please use only letters, digits and ordinary punctuation.",
        ),
        ({"password": "short"}, "The password must have at least 10 characters."),
        ({"password": ""}, "Please fill this in."),
        ({"role": "superuser"}, "Not a valid choice."),
        ({"sites": ["999"]}, "is not a valid choice"),
    ],
)
def test_create_validation(
    staff_client: FlaskClient,
    make_staff: Any,
    session: Session,
    data: dict[str, Any],
    message: str,
):
    make_staff(username="existing")
    before = len(session.scalars(select(StaffUser)).all())
    form = {"username": "newbie", "role": "reception", "password": NEW_PASSWORD, **data}
    response = staff_client.post("/dashboard/admin/staff/new", data=form)
    assert response.status_code == 200
    assert message in response.text
    assert len(session.scalars(select(StaffUser)).all()) == before


def test_edit_role_and_sites(
    staff_client: FlaskClient, make_site: Any, make_staff: Any, session: Session
):
    north, south = make_site(name="North"), make_site(name="South")
    user = make_staff(username="rolf", sites=(north,))
    page = staff_client.get(f"/dashboard/admin/staff/{user.id}").text
    assert (
        f'value="{north.id}" checked' in page
        or f'checked id="sites-0" name="sites" type="checkbox" value="{north.id}"' in page
    )
    response = staff_client.post(
        f"/dashboard/admin/staff/{user.id}", data={"role": "admin", "sites": [south.id]}
    )
    assert response.status_code == 302, response.text
    rolf = user_named(session, "rolf")
    assert (rolf.role, [s.name for s in rolf.sites]) == ("admin", ["South"])
    staff_client.post(f"/dashboard/admin/staff/{user.id}", data={"role": "reception"})
    rolf = user_named(session, "rolf")
    assert (rolf.role, rolf.sites) == ("reception", [])


def test_deactivate_ends_the_session_and_reactivate_restores_login(
    staff_client: FlaskClient, make_staff: Any, session: Session, login: Any
):
    user = make_staff(username="dora")
    client = login(user)
    assert client.get("/dashboard/").status_code == 200
    staff_client.post(f"/dashboard/admin/staff/{user.id}/deactivate")
    assert user_named(session, "dora").active is False
    assert client.get("/dashboard/").status_code == 302
    staff_client.post(f"/dashboard/admin/staff/{user.id}/reactivate")
    assert user_named(session, "dora").active is True
    assert login(user).get("/dashboard/").status_code == 200
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.target_type == "staff_user", AuditEvent.action != "login")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["deactivate_staff", "reactivate_staff"]


def test_reset_a_password(
    staff_client: FlaskClient, make_staff: Any, session: Session, client: FlaskClient
):
    user = make_staff(username="forgetful")
    short = staff_client.post(f"/dashboard/admin/staff/{user.id}/password", data={"password": "x"})
    assert "The password must have at least 10 characters." in short.text
    response = staff_client.post(
        f"/dashboard/admin/staff/{user.id}/password", data={"password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    old = client.post(
        "/dashboard/login", data={"username": "forgetful", "password": STAFF_PASSWORD}
    )
    assert "Wrong username or password." in old.text
    new = client.post("/dashboard/login", data={"username": "forgetful", "password": NEW_PASSWORD})
    assert new.status_code == 302
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "reset_password"))
    assert event.target_id == str(user.id)
    assert NEW_PASSWORD not in repr(vars(event))


def test_the_last_active_admin_can_neither_be_demoted_nor_deactivated(
    make_staff: Any, login: Any, session: Session
):
    me = make_staff(role="admin", username="only-admin")
    client = login(me)
    demote = client.post(f"/dashboard/admin/staff/{me.id}", data={"role": "reception"})
    assert demote.status_code == 200
    assert "This is the last active admin" in demote.text
    deactivate = client.post(f"/dashboard/admin/staff/{me.id}/deactivate")
    assert deactivate.status_code == 302
    assert "This is the last active admin" in client.get("/dashboard/admin/staff").text
    me = user_named(session, "only-admin")
    assert (me.role, me.active) == ("admin", True)

    # An inactive admin does not count; a second active one does.
    other = make_staff(role="admin", username="second-admin")
    set_staff_active(session, other, False)
    session.commit()
    with pytest.raises(LastAdminError):
        update_staff_user(session, me, role="reception", sites=[])
    session.rollback()
    client.post(f"/dashboard/admin/staff/{other.id}/reactivate")
    assert client.post(f"/dashboard/admin/staff/{me.id}/deactivate").status_code == 302
    assert user_named(session, "only-admin").active is False
    # Having deactivated themself, the admin is logged out.
    assert client.get("/dashboard/admin/staff").status_code == 302


def test_unknown_user_is_not_found(staff_client: FlaskClient):
    assert staff_client.get("/dashboard/admin/staff/999").status_code == 404
    assert staff_client.post("/dashboard/admin/staff/999/deactivate").status_code == 404
