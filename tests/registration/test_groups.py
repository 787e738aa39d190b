"""Group check-in at the kiosk (issue 15, "I am with others"): companions are asked the fields
the visitor type asks, with the same messages; the whole group is one transaction, each member
has their own visit and badge token, and the host is told once."""

from __future__ import annotations

import json
from typing import Any

import pypdfium2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.checkin import check_in_group
from kiosk.clock import FrozenClock
from kiosk.enums import NotificationKind
from kiosk.models import (
    KIOSK_FIELDS,
    Notification,
    PrintJob,
    SessionItem,
    Site,
    Visit,
    VisitGroup,
    VisitorType,
)
from kiosk.notifications.outbox import NotifySettings
from kiosk.services.groups import erase_empty_groups, with_groups
from kiosk.services.notices import record_generated_notice
from kiosk.services.visitor_types import add_default_types
from kiosk.services.visits import VisitError, VisitorDetails
from kiosk.services.webhooks import SubscriptionSettings, create_subscription

EMAIL = NotifySettings(email_enabled=True, queue_limit=100, max_attempts=3, retry_seconds=1)


@pytest.fixture
def site(make_site: Any) -> Site:
    return make_site(default_locale="en")


def count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_group_is_one_transaction_with_one_host_message(
    app: Flask, session: Session, site: Site, make_host: Any, clock: FrozenClock
):
    host = make_host(site, email="hanna@example.com")
    notice = record_generated_notice(session, site, "en", "First layer.", now=clock.now())
    session.commit()
    members = [
        VisitorDetails(name=name, host_id=host.id) for name in ("Ann Lead", "Bo Two", "Cy Three")
    ]
    with app.test_request_context():
        done = check_in_group(
            session,
            site,
            members,
            locale="en",
            notice=notice,
            invitation=None,
            device=None,
            notify=EMAIL,
            now=clock.now(),
        )
    session.expire_all()
    visits = session.scalars(select(Visit).order_by(Visit.id)).all()
    assert [v.visitor_name for v in visits] == ["Ann Lead", "Bo Two", "Cy Three"]
    assert len({v.badge_token for v in visits}) == 3
    assert len({v.short_code for v in visits}) == 3
    group = session.scalars(select(VisitGroup)).one()
    assert group.size == 3
    assert {v.group_id for v in visits} == {group.id}
    emails = session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.HOST_EMAIL)
    ).all()
    assert len(emails) == 1
    assert emails[0].visit_id == visits[0].id
    assert "Ann Lead checked in" in (emails[0].body or "")
    assert "Cy Three" in (emails[0].body or "")
    assert "3 people in all" in (emails[0].body or "")
    assert count(session, PrintJob) == 3
    assert done.messages_queued is True


def test_a_group_with_a_bad_member_keeps_nobody(
    app: Flask, session: Session, site: Site, clock: FrozenClock
):
    notice = record_generated_notice(session, site, "en", "First layer.", now=clock.now())
    session.commit()
    with app.test_request_context(), pytest.raises(VisitError):
        check_in_group(
            session,
            site,
            [VisitorDetails(name="Ann Lead"), VisitorDetails(name="   ")],
            locale="en",
            notice=notice,
            invitation=None,
            device=None,
            notify=EMAIL,
            now=clock.now(),
        )
    assert count(session, Visit) == 0
    assert count(session, VisitGroup) == 0


def start_group(kiosk: FlaskClient, **fields: str) -> None:
    response = kiosk.post(
        "/check-in", data={"name": "Ann Lead", "ask_reception": "y", "with_others": "1", **fields}
    )
    assert response.status_code == 302, response.text
    assert response.location.endswith("/check-in/group")


def test_the_kiosk_registers_a_group_and_shows_every_badge(pair: Any, site: Site, session: Session):
    kiosk = pair(site)
    start_group(kiosk)
    for name in ("Bo Two", "Cy Three"):
        assert kiosk.get("/check-in/group/add").status_code == 200
        assert kiosk.post("/check-in/group/add", data={"name": name}).status_code == 302
    page = kiosk.get("/check-in/group").text
    assert "Bo Two" in page
    assert "Cy Three" in page
    assert "Add another person" in page
    # Remove one and add them again.
    assert kiosk.post("/check-in/group/remove/1").status_code == 302
    assert "Cy Three" not in kiosk.get("/check-in/group").text
    kiosk.post("/check-in/group/add", data={"name": "Cy Three"})
    # The notice is everyone's: the first visitor is asked to let the others read it.
    assert "This applies to everyone in your group of 3." in kiosk.get("/notice").text
    response = kiosk.post("/notice", data={"read": "1"})
    assert response.location.endswith("/check-in/group/done")
    done = kiosk.get("/check-in/group/done").text
    visits = session.scalars(select(Visit).order_by(Visit.id)).all()
    assert len(visits) == 3
    for visit in visits:
        assert visit.short_code in done
    pdf = kiosk.get("/check-in/group/badges.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert len(pypdfium2.PdfDocument(pdf.data)) == 3  # a page per badge
    # The companions' details went with the check-in's commit; the screen is shown once.
    assert count(session, SessionItem) == 0
    assert kiosk.get("/check-in/group/done").status_code == 302


def test_bad_companion_input_is_refused_in_the_visitors_language_and_kept(
    pair: Any, site: Site, session: Session
):
    site.field_company = "required"
    session.commit()
    kiosk = pair(site)
    kiosk.post("/language", data={"locale": "sv", "next": ".welcome"})
    start_group(kiosk, company="Acme")
    response = kiosk.post("/check-in/group/add", data={"name": "Bo Två", "company": ""})
    assert response.status_code == 200
    assert "Bo Två" in response.text  # nothing typed is lost
    assert "Ange ditt företag." in response.text or "företag" in response.text
    response = kiosk.post("/check-in/group/add", data={"name": "x" * 500})
    assert response.status_code == 200
    assert count(session, Visit) == 0


def test_the_site_limit_bounds_the_group(pair: Any, site: Site, session: Session):
    site.max_companions = 1
    session.commit()
    kiosk = pair(site)
    start_group(kiosk)
    kiosk.post("/check-in/group/add", data={"name": "Bo Two"})
    page = kiosk.get("/check-in/group").text
    assert "Add another person" not in page
    assert kiosk.get("/check-in/group/add").status_code == 302
    kiosk.post("/check-in/group/add", data={"name": "Cy Three"})
    assert "Cy Three" not in kiosk.get("/check-in/group").text


def test_no_groups_where_the_site_allows_none(pair: Any, site: Site, session: Session):
    site.max_companions = 0
    session.commit()
    kiosk = pair(site)
    assert "I am with others" not in kiosk.get("/check-in").text
    response = kiosk.post(
        "/check-in", data={"name": "Ann Lead", "ask_reception": "y", "with_others": "1"}
    )
    assert response.location.endswith("/notice")
    assert kiosk.get("/check-in/group").status_code == 302


def test_dashboard_rows_keep_a_group_together_and_empty_groups_go(
    session: Session, site: Site, clock: FrozenClock
):
    def visit(name: str, token: str) -> Visit:
        made = Visit(
            site=site,
            visitor_name=name,
            badge_token=token,
            short_code=token.upper(),
            locale="en",
            checked_in_at=clock.now(),
        )
        session.add(made)
        return made

    a, b, c, d = (visit(n, t) for n, t in (("A", "a1"), ("B", "b1"), ("C", "c1"), ("D", "d1")))
    session.flush()
    group = VisitGroup(site_id=site.id, size=2, created_at=clock.now())
    session.add(group)
    a.group, c.group = group, group
    session.commit()
    rows = with_groups([d, c, b, a])
    assert [row.visit.visitor_name for row in rows] == ["D", "A", "C", "B"]
    assert rows[1].group_start
    assert rows[2].group_end
    assert rows[1].group_size == 2
    assert erase_empty_groups(session) == 0
    session.delete(a)
    session.delete(c)
    session.commit()
    assert erase_empty_groups(session) == 1


def test_a_group_is_one_webhook_event_naming_every_visit(
    app: Flask, session: Session, site: Site, clock: FrozenClock
):
    create_subscription(
        session,
        site,
        SubscriptionSettings(
            "Events", "https://hooks.example.com/x", "standard", ["visit.checked_in"], True
        ),
        now=clock.now(),
    )
    notice = record_generated_notice(session, site, "en", "First layer.", now=clock.now())
    session.commit()
    with app.test_request_context():
        done = check_in_group(
            session,
            site,
            [VisitorDetails(name=name) for name in ("Ann Lead", "Bo Two", "Cy Three")],
            locale="en",
            notice=notice,
            invitation=None,
            device=None,
            notify=EMAIL,
            now=clock.now(),
        )
    calls = session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.EVENT_WEBHOOK)
    ).all()
    assert len(calls) == 1
    data = json.loads(calls[0].body or "")["data"]
    assert data["group_size"] == 3
    assert data["group_visit_ids"] == [visit.id for visit in done.visits]
    assert data["companions"] == ["Bo Two", "Cy Three"]


def test_the_dashboard_shows_types_and_groups(
    session: Session,
    make_site: Any,
    make_visit: Any,
    staff_client: FlaskClient,
    clock: FrozenClock,
):
    typed = make_site(name="Typed", default_locale="en")
    add_default_types(session, typed, now=clock.now())
    plain = make_site(name="Plain", default_locale="en")
    session.add(VisitorType(site_id=plain.id, key="visitor", position=0, created_at=clock.now()))
    session.commit()
    contractor = next(t for t in typed.visitor_types if t.key == "contractor")
    group = VisitGroup(site_id=typed.id, size=2, created_at=clock.now())
    session.add(group)
    session.commit()
    make_visit(typed, "Cole Contractor", visitor_type_id=contractor.id, group_id=group.id)
    make_visit(typed, "Carl Contractor", visitor_type_id=contractor.id, group_id=group.id)
    only = plain.visitor_types[0]
    make_visit(plain, "Vera Visitor", visitor_type_id=only.id)
    searched = staff_client.post("/dashboard/history", data={"name": "", "host": "0"})
    assert searched.status_code == 302
    for path in ("/dashboard/", "/dashboard/today", "/dashboard/history?page=1"):
        page = staff_client.get(path).text
        assert '<span class="tag type-tag">Contractor</span>' in page, path
        # A site with its one "Visitor" type looks as before: no label.
        assert '<span class="tag type-tag">Visitor</span>' not in page, path
    for path in ("/dashboard/", "/dashboard/today"):
        page = staff_client.get(path).text
        assert page.count('class="in-group') == 2, path
        assert "Group of 2" in page, path


def test_the_admin_bounds_the_companion_limit(
    session: Session, make_site: Any, staff_client: FlaskClient
):
    site = make_site(name="Bounded")
    form = staff_client.get(f"/dashboard/admin/sites/{site.id}").text
    assert 'name="max_companions"' in form
    assert 'value="10"' in form
    data = {
        "name": "Bounded",
        "timezone": site.timezone,
        "default_locale": site.default_locale,
        "retention_days": str(site.retention_days),
        "controller_name": site.controller_name,
        "controller_contact": site.controller_contact,
        "authority_name": site.authority_name,
        **{f"field_{name}": site.field_mode(name) for name in KIOSK_FIELDS},
    }
    refused = staff_client.post(
        f"/dashboard/admin/sites/{site.id}", data={**data, "max_companions": "31"}
    )
    assert refused.status_code == 200
    assert "Please give a number from 0 to 30." in refused.text
    saved = staff_client.post(
        f"/dashboard/admin/sites/{site.id}", data={**data, "max_companions": "4"}
    )
    assert saved.status_code == 302, saved.text
    session.expire_all()
    assert session.get(Site, site.id).max_companions == 4


def test_a_limit_lowered_while_a_group_is_entered_drops_nobody_unseen(
    pair: Any, site: Site, session: Session
):
    kiosk = pair(site)
    start_group(kiosk)
    for name in ("Bo Two", "Cy Three"):
        kiosk.post("/check-in/group/add", data={"name": name})
    site.max_companions = 1  # reception lowers the limit meanwhile
    session.commit()
    kiosk.get("/notice")
    response = kiosk.post("/notice", data={"read": "1"})
    assert response.location.endswith("/check-in/group?too_many=1")
    assert count(session, Visit) == 0
    page = kiosk.get("/check-in/group").text
    assert "Please remove 1 person from the list, or ask reception." in page
    assert 'href="/notice"' not in page  # no going on until the group fits
    kiosk.post("/check-in/group/remove/1")
    page = kiosk.get("/check-in/group").text
    assert "Please remove" not in page
    assert 'href="/notice"' in page
    kiosk.get("/notice")
    assert kiosk.post("/notice", data={"read": "1"}).location.endswith("/check-in/group/done")
    assert sorted(visit.visitor_name for visit in session.scalars(select(Visit))) == [
        "Ann Lead",
        "Bo Two",
    ]


def test_groups_turned_off_while_a_group_is_entered_are_said_and_the_first_checks_in(
    pair: Any, site: Site, session: Session
):
    kiosk = pair(site)
    kiosk.post("/language", data={"locale": "sv", "next": ".welcome"})
    start_group(kiosk)
    kiosk.post("/check-in/group/add", data={"name": "Bo Two"})
    site.max_companions = 0
    session.commit()
    kiosk.get("/notice")
    response = kiosk.post("/notice", data={"read": "1"})
    assert count(session, Visit) == 0
    page = kiosk.get(response.location).text
    assert "de som är med dig registrerades inte" in page
    assert "Ann Lead" in page  # the first visitor's details are kept
    kiosk.get("/notice")
    assert kiosk.post("/notice", data={"read": "1"}).location.endswith("/done")
    assert [visit.visitor_name for visit in session.scalars(select(Visit))] == ["Ann Lead"]
