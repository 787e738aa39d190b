"""Group check-in at the kiosk (issue 15, "I am with others"): companions are asked the fields
the visitor type asks, with the same messages; the whole group is one transaction, each member
has their own visit and badge token, and the host is told once."""

from __future__ import annotations

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
from kiosk.models import Notification, PrintJob, SessionItem, Site, Visit, VisitGroup
from kiosk.notifications.outbox import NotifySettings
from kiosk.services.groups import erase_empty_groups, with_groups
from kiosk.services.notices import record_generated_notice
from kiosk.services.visits import VisitError, VisitorDetails

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
    kiosk.get("/notice")
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
