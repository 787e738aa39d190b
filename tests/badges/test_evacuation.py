"""The evacuation list: everyone on site now, per served site, as an A4 PDF and as CSV that a
spreadsheet cannot be tricked into running; every export is audited."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import AuditEvent
from kiosk.services.daily import spreadsheet_safe as neutralise
from tests.support import pdf_text, require_tool


@pytest.fixture
def sites(make_site: Any, make_host: Any, make_visit: Any, clock: Any) -> tuple[Any, Any]:
    mine = make_site(name="North Office")
    other = make_site(name="South Office")
    host = make_host(mine, name="Hanna Host")
    make_visit(mine, visitor_name="Ελένη Жукова", company="Fjord AB", host_id=host.id)
    make_visit(mine, visitor_name='=HYPERLINK("http://x")', company="+46 8 123")
    make_visit(mine, visitor_name="Left Already", checked_out_at=clock.now() + timedelta(hours=1))
    make_visit(mine, visitor_name="Since Yesterday", checked_in_at=clock.now() - timedelta(days=1))
    make_visit(other, visitor_name="Southern Visitor")
    return mine, other


def test_pdf_lists_everyone_on_the_users_sites_and_is_audited(
    sites: tuple[Any, Any], make_staff: Any, login: Any, session: Session, tmp_path: Path
):
    mine, _other = sites
    user = make_staff(sites=(mine,))
    response = login(user).get("/dashboard/evacuation.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = " ".join(pdf_text(response.data, tmp_path).split())
    for expected in ("Evacuation list", "North Office", "Ελένη Жукова", "Fjord AB", "Hanna Host"):
        assert expected in text
    assert "=HYPERLINK" in text  # on paper a name is just a name
    assert "People on site: 3" in text
    # Times on the site's clock, not UTC, written as English is in the site's country (the
    # test client names no region): Sweden writes dates as ISO does.
    assert "2026-03-03, 09:00" in text  # the day before: with its date
    assert "Generated 2026-03-04, 09:00" in text
    assert "Hanna Host 09:00" in text  # checked in today: the time is enough
    for absent in ("Left Already", "Southern Visitor", "South Office"):
        assert absent not in text

    pdfinfo = require_tool("pdfinfo", "poppler-utils")
    (tmp_path / "list.pdf").write_bytes(response.data)
    info = subprocess.run([pdfinfo, str(tmp_path / "list.pdf")], capture_output=True, text=True)
    assert "595.276 x 841.89 pts (A4)" in info.stdout
    assert "Ελένη" not in info.stdout  # metadata names no one

    events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("evacuation%"))).all()
    assert [(e.actor, e.action, e.target_type, e.target_id) for e in events] == [
        (f"staff:{user.id}", "evacuation_list_pdf", "site", str(mine.id))
    ]


def test_the_list_writes_dates_as_the_readers_region_does(
    sites: tuple[Any, Any], make_staff: Any, login: Any, tmp_path: Path
):
    """An en-GB browser reads 04/03/2026, not the American 3/4/26."""
    mine, _other = sites
    client = login(make_staff(sites=(mine,)))
    response = client.get("/dashboard/evacuation.pdf", headers={"Accept-Language": "en-GB"})
    text = " ".join(pdf_text(response.data, tmp_path).split())
    assert "Generated 04/03/2026, 09:00" in text
    assert "03/03/2026, 09:00 Since Yesterday" in text


def test_a_long_list_runs_over_pages(
    make_site: Any, make_visit: Any, staff_client: Any, tmp_path: Path
):
    site = make_site()
    for number in range(70):
        make_visit(site, visitor_name=f"Visitor Number {number}")
    response = staff_client.get("/dashboard/evacuation.pdf")
    text = pdf_text(response.data, tmp_path)
    assert "Visitor Number 0" in text
    assert "Visitor Number 69" in text
    assert text.count("Checked in") >= 2  # the header row repeats on every page


def test_csv_is_neutralised_and_audited(
    sites: tuple[Any, Any], staff_client: Any, session: Session
):
    mine, other = sites
    response = staff_client.get("/dashboard/evacuation.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0] == ["Site", "Name", "Company", "Host", "Checked in", "Group"]
    assert [
        "North Office",
        "Ελένη Жукова",
        "Fjord AB",
        "Hanna Host",
        "2026-03-04 09:00",
        "",
    ] in rows
    assert [
        "North Office",
        '\'=HYPERLINK("http://x")',
        "'+46 8 123",
        "",
        "2026-03-04 09:00",
        "",
    ] in rows
    assert ["South Office", "Southern Visitor", "", "", "2026-03-04 09:00", ""] in rows
    assert not any("Left Already" in row for row in rows)
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "evacuation_list_csv"))
    assert sorted(e.target_id or "" for e in events) == sorted([str(mine.id), str(other.id)])


def test_people_who_came_together_stand_together(
    make_site: Any, make_visit: Any, staff_client: Any, session: Session, clock: Any, tmp_path: Path
):
    from kiosk.services.groups import new_group

    site = make_site()
    lead = make_visit(site, visitor_name="Ann Lead")
    make_visit(site, visitor_name="Solo Walker")
    companion = make_visit(site, visitor_name="Bo Two")
    group = new_group(session, site, [lead, companion], now=clock.now())
    session.commit()
    rows = list(csv.reader(io.StringIO(staff_client.get("/dashboard/evacuation.csv").text[1:])))
    assert [(row[1], row[5]) for row in rows[1:]] == [
        ("Ann Lead", str(group.id)),
        ("Bo Two", str(group.id)),
        ("Solo Walker", ""),
    ]
    text = " ".join(pdf_text(staff_client.get("/dashboard/evacuation.pdf").data, tmp_path).split())
    assert "Ann Lead Group of 2" in text
    assert text.index("Bo Two") < text.index("Solo Walker")


def test_one_site_can_be_asked_for_but_only_a_served_one(
    sites: tuple[Any, Any], make_staff: Any, login: Any
):
    mine, other = sites
    staff = login(make_staff(sites=(mine,)))
    own = staff.get(f"/dashboard/evacuation.csv?site={mine.id}").data.decode()
    assert "Ελένη" in own
    assert staff.get(f"/dashboard/evacuation.csv?site={other.id}").status_code == 404
    assert staff.get("/dashboard/evacuation.pdf?site=north").status_code == 404


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(st.text(min_size=1, max_size=200), min_size=1, max_size=5))
def test_any_names_give_an_evacuation_list(names: list[str]):
    from flask import Flask

    from kiosk.badges.evacuation import SiteList, evacuation_csv, render_evacuation_pdf
    from kiosk.badges.fonts import load_fonts
    from kiosk.clock import FrozenClock
    from kiosk.models import Host, Site, Visit
    from tests.conftest import START

    site = Site(id=1, name=names[0], timezone="Europe/Stockholm")
    visits = [
        Visit(
            id=index,
            visitor_name=name,
            company=name[::-1],
            host=Host(name=name.upper()),
            checked_in_at=FrozenClock(START).now(),
        )
        for index, name in enumerate(names)
    ]
    app = Flask("evacuation-fuzz")
    from kiosk.extensions import babel

    babel.init_app(app)
    with app.test_request_context():
        pdf = render_evacuation_pdf([SiteList(site, visits)], now=START, fonts=load_fonts())
        assert pdf.startswith(b"%PDF-")
        rows = list(csv.reader(io.StringIO(evacuation_csv([SiteList(site, visits)])[1:])))
    assert len(rows) == len(names) + 1
    assert all(
        not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+46", "'+46"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Anna-Lena", "Anna-Lena"),
        ("", ""),
    ],
)
def test_neutralise(value: str, expected: str):
    assert neutralise(value) == expected
