"""The dashboard's thin path: staff login, who is on site now, audit, logout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kiosk.models import AuditEvent
from tests.conftest import STAFF_PASSWORD


def test_anonymous_is_sent_to_login(client: FlaskClient):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dashboard/login")


def test_kiosk_check_in_appears_on_dashboard(
    pair: Any, make_site: Any, make_host: Any, make_staff: Any, login: Any
):
    site = make_site(name="Main Office")
    host = make_host(site, name="Hanna Host")
    staff = login(make_staff(role="reception", sites=(site,)))
    kiosk = pair(site)
    kiosk.post("/check-in", data={"name": "Ada Lovelace", "company": "Engines", "host_id": host.id})
    kiosk.get("/notice")
    assert kiosk.post("/notice", data={"read": "1"}).headers["Location"] == "/done"

    page = staff.get("/dashboard/").text
    assert "Ada Lovelace" in page
    assert "Engines" in page
    assert "Hanna Host" in page
    # Checked in at 08:00 UTC, shown on the Stockholm clock (CET in March), in English as
    # Sweden writes it (the client's browser names no region).
    assert "2026-03-04, 09:00" in page
    assert "8:00" not in page
    american = staff.get("/dashboard/", headers={"Accept-Language": "en-US"}).text
    assert "3/4/26, 9:00\u202fAM" in american
    british = staff.get("/dashboard/", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    assert "04/03/2026, 09:00" in british


def test_reception_sees_only_their_sites(
    make_site: Any, make_visit: Any, make_staff: Any, login: Any
):
    mine, other = make_site(name="Mine"), make_site(name="Other")
    make_visit(mine, visitor_name="Visible Person")
    make_visit(other, visitor_name="Hidden Person")
    page = login(make_staff(sites=(mine,))).get("/dashboard/").text
    assert "Visible Person" in page
    assert "Hidden Person" not in page
    assert "Other" not in page


def test_admin_sees_every_site(make_site: Any, make_visit: Any, staff_client: FlaskClient):
    make_visit(make_site(name="North"), visitor_name="North Visitor")
    make_visit(make_site(name="South"), visitor_name="South Visitor")
    page = staff_client.get("/dashboard/").text
    assert "North Visitor" in page
    assert "South Visitor" in page


def test_checked_out_visits_are_not_on_site(
    make_site: Any, make_visit: Any, staff_client: FlaskClient, clock: Any
):
    site = make_site()
    make_visit(site, visitor_name="Still Here")
    make_visit(site, visitor_name="Already Left", checked_out_at=clock.now() + timedelta(hours=1))
    page = staff_client.get("/dashboard/").text
    assert "Still Here" in page
    assert "Already Left" not in page


def test_the_on_site_rows_share_one_form_and_its_csrf_token(
    make_site: Any, make_visit: Any, make_invitation: Any, staff_client: FlaskClient
):
    """A form per row button repeated the CSRF token (40% of a page of 400 visitors, sent
    again at every live refresh): the rows' buttons name one form, their formaction the row."""
    site = make_site()
    visits = [make_visit(site, visitor_name=f"Row Visitor {number}") for number in range(3)]
    invitation = make_invitation(site, visitor_name="Row Guest")
    for path in ("/dashboard/", "/dashboard/live"):
        shared = '<form id="on-site-actions" method="post" hidden>'
        _nav, found, lists = staff_client.get(path).text.partition(shared)
        assert found
        assert shared not in lists
        # The page's navigation, before the lists, holds the log-out form's token.
        assert lists.count('name="csrf_token"') == 1
        for visit in visits:
            for action in ("check-out", "reprint"):
                assert (
                    f'form="on-site-actions" formaction="/dashboard/visits/{visit.id}/{action}"'
                    in lists
                )
        assert (
            f'form="on-site-actions" formaction="/dashboard/expected/{invitation.id}/cancel"'
            in lists
        )


def test_the_lists_read_as_columns_match_the_visits_and_invitations_read_as_objects(
    make_site: Any,
    make_visit: Any,
    make_invitation: Any,
    make_host: Any,
    session: Session,
    clock: Any,
):
    """The on-site list reads its rows as columns and unseals them itself
    (kiosk.services.visits.present_visits): the same fields, in the same order, as the
    objects give, for sealed rows and for rows kept from before sealing (old columns)."""
    from kiosk.models import Invitation, Visit
    from kiosk.services.daily import expected_today
    from kiosk.services.visits import present_visits, visits_on_site

    site, other = make_site(name="North"), make_site(name="South")
    host = make_host(site, name="Hanna Host")
    make_visit(site, visitor_name="Ann Early", company="Early AB", host_id=host.id)
    make_visit(other, visitor_name="Bo Later", checked_in_at=clock.now() + timedelta(minutes=5))
    make_visit(site, visitor_name="Cy Plain", company="Plain Oy")
    make_invitation(site, visitor_name="Di Invited", company="Guest AB", host=host)
    make_invitation(other, visitor_name="Al Invited")
    # The last visit and invitation as rows written before sealing: plain old columns.
    session.execute(
        text(
            "UPDATE visits SET visitor_name = 'Cy Plain', company = 'Plain Oy',"
            " visitor_name_sealed = NULL, company_sealed = NULL"
            " WHERE id = (SELECT max(id) FROM visits)"
        )
    )
    session.execute(
        text(
            "UPDATE invitations SET visitor_name = 'Al Invited', visitor_name_sealed = NULL"
            " WHERE id = (SELECT max(id) FROM invitations)"
        )
    )
    session.commit()
    session.expire_all()
    sites = [site, other]

    read = present_visits(session, [site.id, other.id])
    loaded = visits_on_site(session, [site.id, other.id])
    assert [
        (row.id, row.site_id, row.visitor_name, row.company, row.host_name, row.short_code)
        for row in read
    ] == [
        (v.id, v.site_id, v.visitor_name, v.company, v.host.name if v.host else None, v.short_code)
        for v in loaded
    ]
    assert [row.visitor_name for row in read] == ["Bo Later", "Cy Plain", "Ann Early"]
    assert [row.print_failed for row in read] == [False, False, False]
    assert [row.checked_in_at for row in read] == [v.checked_in_at for v in loaded]
    assert session.scalar(select(Visit.legacy_visitor_name).where(Visit.id == read[1].id))

    expected = expected_today(session, sites, now=clock.now())
    by_id = {invitation.id: invitation for invitation in session.scalars(select(Invitation))}
    for listed in expected.values():
        for row in listed:
            invitation = by_id[row.id]
            assert (row.visitor_name, row.company, row.code) == (
                invitation.visitor_name,
                invitation.company,
                invitation.code,
            )
            assert row.host_name == (invitation.host.name if invitation.host else None)
    assert [row.visitor_name for row in expected[site.id]] == ["Di Invited"]
    assert [row.visitor_name for row in expected[other.id]] == ["Al Invited"]


def test_the_on_site_list_marks_a_badge_whose_newest_print_failed(
    make_site: Any, make_visit: Any, session: Session, clock: Any
):
    """present_visits says whether each visitor's newest print attempt failed: a later
    attempt that worked clears the mark, a later one that failed sets it, and a visitor who
    was never printed for has none."""
    from kiosk.models import PrintJob
    from kiosk.services.visits import present_visits

    site = make_site()
    outcomes = {
        "Failed Once": ["failed"],
        "Failed Then Sent": ["failed", "sent"],
        "Sent Then Failed": ["sent", "failed"],
        "Printed By Browser": ["browser"],
        "Never Printed": [],
    }
    for number, (name, statuses) in enumerate(outcomes.items()):
        visit = make_visit(site, visitor_name=name, checked_in_at=clock.now() + timedelta(number))
        for status in statuses:
            session.add(
                PrintJob(
                    visit_id=visit.id,
                    created_at=clock.now(),
                    requested_by=f"kiosk:{site.id}",
                    backend="cups",
                    status=status,
                    printer="badges",
                    error="printer_stopped" if status == "failed" else None,
                )
            )
            session.flush()  # ids in the order of the attempts
    session.commit()

    read = {row.visitor_name: row.print_failed for row in present_visits(session, [site.id])}
    assert read == {
        "Failed Once": True,
        "Failed Then Sent": False,
        "Sent Then Failed": True,
        "Printed By Browser": False,
        "Never Printed": False,
    }


def test_viewing_visitors_is_audited_without_personal_data(
    make_site: Any, make_visit: Any, make_staff: Any, login: Any, session: Session, clock: Any
):
    site, second = make_site(name="North"), make_site(name="South")
    not_served = make_site(name="West")
    make_visit(site, visitor_name="Secret Name", company="Secret Company")
    user = make_staff(sites=(site, second))
    staff = login(user)
    staff.get("/dashboard/")
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.actor, e.action, e.target_type, e.target_id) for e in events] == [
        (f"staff:{user.id}", "login", "staff_user", str(user.id)),
        (f"staff:{user.id}", "view_on_site", "site", str(site.id)),
        (f"staff:{user.id}", "view_on_site", "site", str(second.id)),
    ]
    assert all(e.occurred_at == clock.now() for e in events)
    for event in events:
        assert "Secret" not in repr(vars(event))

    # The live list is audited again per site once the last entry is five minutes old.
    staff.get("/dashboard/live")
    clock.advance(timedelta(minutes=6))
    staff.get("/dashboard/live")
    later = session.scalars(select(AuditEvent).where(AuditEvent.id > events[-1].id)).all()
    assert sorted(e.target_id for e in later) == sorted([str(site.id), str(second.id)])
    assert str(not_served.id) not in {e.target_id for e in later}
    assert all(e.occurred_at == clock.now() for e in later)


@pytest.mark.parametrize(
    ("username", "password"),
    [("nobody", STAFF_PASSWORD), ("real", "wrong password!")],
)
def test_failed_login_says_the_same_for_unknown_user_and_wrong_password(
    client: FlaskClient, make_staff: Any, username: str, password: str
):
    make_staff(username="real")
    response = client.post("/dashboard/login", data={"username": username, "password": password})
    assert response.status_code == 200
    assert "Wrong username or password." in response.text
    assert client.get("/dashboard/").status_code == 302


def test_inactive_user_cannot_log_in(client: FlaskClient, make_staff: Any, session: Session):
    user = make_staff(username="gone")
    user.active = False
    session.commit()
    response = client.post(
        "/dashboard/login", data={"username": "gone", "password": STAFF_PASSWORD}
    )
    assert "Wrong username or password." in response.text


def test_login_returns_to_requested_page(client: FlaskClient, make_staff: Any):
    make_staff(username="returner")
    response = client.post(
        "/dashboard/login?next=/dashboard/",
        data={"username": "returner", "password": STAFF_PASSWORD},
    )
    assert response.headers["Location"] == "/dashboard/"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_login_never_redirects_off_site(client: FlaskClient, make_staff: Any, target: str):
    make_staff(username="careful")
    response = client.post(
        "/dashboard/login",
        query_string={"next": target},
        data={"username": "careful", "password": STAFF_PASSWORD},
    )
    assert response.headers["Location"] == "/dashboard/"


def test_logout_ends_the_session(staff_client: FlaskClient):
    assert staff_client.get("/dashboard/").status_code == 200
    response = staff_client.post("/dashboard/logout")
    assert response.status_code == 302
    assert staff_client.get("/dashboard/").status_code == 302


def test_logout_needs_post(staff_client: FlaskClient):
    assert staff_client.get("/dashboard/logout").status_code == 405
    assert staff_client.get("/dashboard/").status_code == 200


def test_dashboard_pages_are_not_cached(staff_client: FlaskClient):
    assert staff_client.get("/dashboard/").headers["Cache-Control"] == "no-store"
