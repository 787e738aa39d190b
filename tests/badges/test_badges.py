"""Badges in the app: printing at check-in never fails it, the kiosk's badge URL, the
dashboard's failed prints and reprints, site settings, and the badge command."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.badges import jobs as badge_jobs
from kiosk.badges.content import badge_content
from kiosk.badges.jobs import print_badge
from kiosk.badges.settings import BadgeSettingsError, configure_badges
from kiosk.cli import main
from kiosk.models import AuditEvent, PrintJob, Visit
from tests.support import decode_qr_codes, pdf_to_image, require_tool


@pytest.fixture
def site(make_site: Any, make_host: Any) -> Any:
    site = make_site(name="Head Office", default_locale="en")
    make_host(site, name="Hanna Host")
    return site


def set_backend(session: Session, site: Any, backend: str, printer: str | None = None) -> None:
    site.print_backend = backend
    site.cups_printer = printer
    session.commit()


@pytest.fixture
def client(pair: Any, site: Any) -> FlaskClient:
    """The site's kiosk (these tests check in through it)."""
    return pair(site)


def check_in(client: FlaskClient, name: str = "Ada Lovelace") -> None:
    response = client.post(
        "/check-in", data={"name": name, "company": "Engines", "ask_reception": "y"}
    )
    assert response.headers["Location"] == "/notice"
    client.get("/notice")
    response = client.post("/notice", data={"read": "1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/done"


def jobs(session: Session) -> list[PrintJob]:
    session.expire_all()
    return list(session.scalars(select(PrintJob).order_by(PrintJob.id)))


def test_browser_backend_prints_the_badge_from_a_url_without_personal_data(
    client: FlaskClient, site: Any, session: Session, tmp_path: Path
):
    check_in(client)
    visit = session.scalars(select(Visit)).one()
    [job] = jobs(session)
    assert (job.visit_id, job.backend, job.status, job.requested_by) == (
        visit.id,
        "browser",
        "browser",
        f"kiosk:{site.id}",
    )
    done = client.get("/done").text
    # Only the script prints: until it starts, the page does not say the badge is printing.
    assert '<p class="badge-printing" hidden>Your badge is printing.' in done
    assert '<p class="badge-collect">Please collect your badge at reception.</p>' in done
    assert 'data-src="/badge.pdf"' in done
    assert '<script src="/static/js/badge-print.js" defer></script>' in done
    assert not re.search(r"<script(?![^>]*\bsrc=)", done)  # no inline script (CSP)
    assert visit.badge_token not in done

    badge = client.get("/badge.pdf")
    assert badge.status_code == 200
    assert badge.mimetype == "application/pdf"
    assert badge.headers["Cache-Control"] == "no-store"
    # Printed from a frame of the kiosk's own page; nowhere else may frame it.
    assert badge.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in badge.headers["Content-Security-Policy"]
    assert "script-src 'none'" in badge.headers["Content-Security-Policy"]
    assert decode_qr_codes(pdf_to_image(badge.data, tmp_path)) == [visit.badge_token]


def test_badge_url_serves_nothing_to_the_next_visitor(
    app: Flask, client: FlaskClient, site: Any, session: Session, clock: Any
):
    assert client.get("/badge.pdf").status_code == 404  # nobody checked in here
    check_in(client)
    assert client.get("/badge.pdf").status_code == 200
    clock.advance(timedelta(seconds=app.config["BADGE_FETCH_SECONDS"] + 1))
    assert client.get("/badge.pdf").status_code == 404  # too long after check-in

    check_in(client, "Grace Hopper")
    assert client.get("/badge.pdf").status_code == 200
    client.get("/")  # the next visitor's form
    assert client.get("/badge.pdf").status_code == 404
    other = client.application.test_client()
    assert other.get("/badge.pdf").status_code == 404


def test_badge_url_refuses_a_checked_out_visit(
    client: FlaskClient, site: Any, session: Session, clock: Any
):
    check_in(client)
    visit = session.scalars(select(Visit)).one()
    visit.checked_out_at = clock.now()
    session.commit()
    assert client.get("/badge.pdf").status_code == 404


def test_none_backend_asks_the_visitor_to_collect_the_badge(
    client: FlaskClient, site: Any, session: Session
):
    set_backend(session, site, "none")
    check_in(client)
    assert [job.status for job in jobs(session)] == ["download"]
    done = client.get("/done").text
    assert "Please collect your badge at reception." in done
    assert "badge-print.js" not in done


def test_unreachable_printer_never_fails_the_check_in(
    app: Flask, client: FlaskClient, site: Any, session: Session
):
    # Nothing listens on port 9 of this machine: CUPS is "down". Telling that from "no CUPS
    # client installed" (cups_missing) needs the client.
    require_tool("lpstat", "cups-client")
    require_tool("lp", "cups-client")
    app.config["CUPS_SERVER"] = "127.0.0.1:9"
    set_backend(session, site, "cups", "badges")
    check_in(client)
    visit = session.scalars(select(Visit)).one()
    assert visit.visitor_name == "Ada Lovelace"
    [job] = jobs(session)
    assert (job.status, job.error, job.printer) == ("failed", "cups_unreachable", "badges")
    done = client.get("/done").text
    assert "Please collect your badge at reception." in done


def test_a_badge_that_cannot_be_drawn_does_not_fail_the_check_in(
    client: FlaskClient, site: Any, session: Session, monkeypatch: pytest.MonkeyPatch
):
    set_backend(session, site, "cups", "badges")

    def broken(_visit: Visit) -> bytes:
        raise RuntimeError("font trouble")

    monkeypatch.setattr(badge_jobs, "visit_badge_pdf", broken)
    check_in(client)
    assert [(job.status, job.error) for job in jobs(session)] == [("failed", "render_failed")]


def test_missing_lp_is_a_failed_print(
    app: Flask, site: Any, session: Session, make_visit: Any, clock: Any, monkeypatch: Any
):
    set_backend(session, site, "cups", "badges")
    visit = make_visit(site)
    monkeypatch.setattr("kiosk.badges.cups.shutil.which", lambda _name: None)
    with app.test_request_context():
        outcome = print_badge(session, visit, now=clock.now())
    assert (outcome.status, outcome.error, outcome.printing) == ("failed", "cups_missing", False)


def test_badge_is_in_the_visitors_language_and_the_sites_time(
    app: Flask, site: Any, make_visit: Any, session: Session
):
    host = site.hosts[0]
    visit = make_visit(site, visitor_name="Björn", locale="sv", host_id=host.id)
    session.refresh(visit)
    with app.test_request_context():
        content = badge_content(visit)
    # 08:00 UTC is 09:00 in Stockholm in March.
    assert content.when == "4 mars 2026 09:00"
    assert content.band_text == "BESÖKARE"
    assert content.host_line == "Besöker Hanna Host"
    assert content.token == visit.badge_token
    assert content.short_code == visit.short_code


def test_badge_fonts_come_from_the_settings(app_config: dict[str, Any], tmp_path: Path):
    from kiosk import create_app
    from kiosk.badges.fonts import BUNDLED_REGULAR, app_fonts
    from kiosk.db import get_database

    droid = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
    app = create_app(
        {
            **app_config,
            "BADGE_FONT": str(tmp_path / "no-such-font.ttf"),
            "BADGE_FALLBACK_FONTS": droid,  # one file as a plain string is fine too
        }
    )
    try:
        with app.app_context():
            fonts = app_fonts()
        assert fonts.regular.path == BUNDLED_REGULAR  # a missing font is never fatal
        assert [face.path for face in fonts.fallbacks] == ([droid] if Path(droid).is_file() else [])
    finally:
        get_database(app).engine.dispose()


def test_erasing_a_visit_erases_its_print_jobs(client: FlaskClient, site: Any, session: Session):
    check_in(client)
    visit = session.scalars(select(Visit)).one()
    assert len(jobs(session)) == 1
    session.delete(visit)
    session.commit()
    assert jobs(session) == []


def test_site_settings_are_checked(site: Any, session: Session):
    with pytest.raises(BadgeSettingsError, match="unknown preset"):
        configure_badges(site, preset="letter")
    with pytest.raises(BadgeSettingsError, match="band colour"):
        configure_badges(site, band_colour="red")
    with pytest.raises(BadgeSettingsError, match="PNG or JPEG"):
        configure_badges(site, logo=b"<svg onload=alert(1)>")
    with pytest.raises(BadgeSettingsError, match="needs a printer"):
        configure_badges(site, backend="cups")
    with pytest.raises(BadgeSettingsError, match="not a CUPS printer name"):
        configure_badges(site, backend="cups", printer="-o evil")
    session.rollback()

    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (2000, 2000), (10, 20, 30)).save(picture, "JPEG")
    configure_badges(
        site, preset="cr80", band_colour="#f5c400", logo=picture.getvalue(), backend="none"
    )
    session.commit()
    assert (site.badge_preset, site.badge_band_colour, site.print_backend) == (
        "cr80",
        "#F5C400",
        "none",
    )
    with Image.open(io.BytesIO(site.badge_logo)) as stored:
        assert stored.format == "PNG"
        assert max(stored.size) <= 600


# --- dashboard ------------------------------------------------------------------------------


def failed_visit(session: Session, site: Any, make_visit: Any, clock: Any, **fields: Any) -> Visit:
    visit = make_visit(site, **fields)
    session.add(
        PrintJob(
            visit_id=visit.id,
            created_at=clock.now(),
            requested_by=f"kiosk:{site.id}",
            backend="cups",
            status="failed",
            printer="badges",
            error="printer_stopped",
        )
    )
    session.commit()
    return visit


def test_failed_prints_are_listed_per_served_site_and_audited(
    make_site: Any,
    make_visit: Any,
    make_staff: Any,
    login: Any,
    session: Session,
    clock: Any,
):
    mine, other = make_site(name="Mine"), make_site(name="Other")
    failed_visit(session, mine, make_visit, clock, visitor_name="Stuck Person")
    failed_visit(session, other, make_visit, clock, visitor_name="Hidden Person")
    make_visit(mine, visitor_name="Fine Person")
    reprinted = failed_visit(session, mine, make_visit, clock, visitor_name="Reprinted Person")
    session.add(
        PrintJob(
            visit_id=reprinted.id,
            created_at=clock.now(),
            requested_by="staff:1",
            backend="cups",
            status="sent",
        )
    )
    left = failed_visit(session, mine, make_visit, clock, visitor_name="Gone Person")
    left.checked_out_at = clock.now()
    session.commit()

    user = make_staff(sites=(mine,))
    page = login(user).get("/dashboard/prints").text
    assert "Stuck Person" in page
    assert "The printer is stopped or refuses jobs." in page
    for absent in ("Hidden Person", "Fine Person", "Reprinted Person", "Gone Person"):
        assert absent not in page
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "view_failed_prints")
    ).all()
    assert [(e.actor, e.target_type, e.target_id) for e in events] == [
        (f"staff:{user.id}", "site", str(mine.id))
    ]

    on_site = login(user).get("/dashboard/").text
    assert on_site.count("Did not print") == 1  # Stuck only: Reprinted's newest print is fine
    assert on_site.count("Reprint badge") == 3  # Stuck, Fine and Reprinted are on site


def test_reprint_on_a_cups_site_sends_again_and_is_audited(
    app: Flask,
    make_site: Any,
    make_visit: Any,
    make_staff: Any,
    login: Any,
    session: Session,
    clock: Any,
):
    site = make_site()
    set_backend(session, site, "cups", "badges")
    visit = failed_visit(session, site, make_visit, clock)
    user = make_staff(sites=(site,))
    staff = login(user)
    app.config["CUPS_SERVER"] = "127.0.0.1:9"
    response = staff.post(f"/dashboard/visits/{visit.id}/reprint", data={"back": "prints"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/prints"
    assert "The print server does not answer." in staff.get("/dashboard/prints").text
    statuses = [(j.status, j.requested_by) for j in jobs(session)]
    assert statuses[-1] == ("failed", f"staff:{user.id}")
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "reprint_badge")).one()
    assert (audit.target_type, audit.target_id) == ("visit", str(visit.id))


def test_reprint_on_a_browser_site_downloads_the_pdf(
    make_site: Any, make_visit: Any, staff_client: FlaskClient, session: Session, tmp_path: Path
):
    visit = make_visit(make_site())
    # The page offers the PDF (in a new tab: tests/test_print_reports.py); it is the PDF's
    # download that is recorded and audited.
    response = staff_client.post(f"/dashboard/visits/{visit.id}/reprint")
    assert response.status_code == 200
    assert f'href="/dashboard/visits/{visit.id}/badge.pdf"' in response.text
    assert jobs(session) == []
    pdf = staff_client.get(f"/dashboard/visits/{visit.id}/badge.pdf")
    assert pdf.mimetype == "application/pdf"
    assert decode_qr_codes(pdf_to_image(pdf.data, tmp_path)) == [visit.badge_token]
    assert [j.status for j in jobs(session)] == ["download"]
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "download_badge")).one()
    assert audit.target_id == str(visit.id)


@pytest.mark.parametrize("method", ["get", "post"])
def test_badges_of_other_sites_are_not_found(
    method: str, make_site: Any, make_visit: Any, make_staff: Any, login: Any
):
    mine, other = make_site(), make_site()
    visit = make_visit(other)
    staff = login(make_staff(sites=(mine,)))
    path = f"/dashboard/visits/{visit.id}/" + ("badge.pdf" if method == "get" else "reprint")
    assert getattr(staff, method)(path).status_code == 404
    assert getattr(staff, method)("/dashboard/visits/999999/badge.pdf").status_code in (404, 405)


def test_badge_pages_need_a_login(client: FlaskClient):
    for path in ("/dashboard/prints", "/dashboard/evacuation.pdf", "/dashboard/visits/1/badge.pdf"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/dashboard/login")


class TestReprintWithCsrf:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def test_reprint_needs_the_token(
        self, make_site: Any, make_visit: Any, make_staff: Any, app: Flask, session: Session
    ):
        site = make_site()
        visit = make_visit(site)
        make_staff(username="csrf-user", role="admin")
        staff = app.test_client()
        login_page = staff.get("/dashboard/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)
        assert token
        staff.post(
            "/dashboard/login",
            data={
                "username": "csrf-user",
                "password": "correct horse battery",
                "csrf_token": token[1],
            },
        )
        assert staff.post(f"/dashboard/visits/{visit.id}/reprint").status_code == 400
        assert jobs(session) == []
        page = staff.get("/dashboard/").text
        form_token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert form_token
        response = staff.post(
            f"/dashboard/visits/{visit.id}/reprint", data={"csrf_token": form_token[1]}
        )
        assert response.status_code == 200
        assert f"/dashboard/visits/{visit.id}/badge.pdf" in response.text


# --- the badge command ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_badge_sample_writes_a_badge_whose_qr_holds_the_printed_token(
    runner: FlaskCliRunner, tmp_path: Path
):
    output = tmp_path / "sample.pdf"
    result = runner.invoke(
        main, ["badge", "sample", "--preset", "dymo-54x101", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    token = re.search(r"Badge token: (\S+)", result.output)
    assert token
    assert decode_qr_codes(pdf_to_image(output.read_bytes(), tmp_path)) == [token[1]]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "letter", "--output", "x.pdf"], "choose one of"),
        (["--preset", "a4"], "--output"),
        (["--site", "Nowhere", "--output", "x.pdf"], "no site named"),
    ],
)
def test_badge_sample_refusals(runner: FlaskCliRunner, args: list[str], message: str):
    result = runner.invoke(main, ["badge", "sample", *args])
    assert result.exit_code != 0
    assert message in result.output


def test_badge_configure_changes_a_site(
    runner: FlaskCliRunner, site: Any, session: Session, tmp_path: Path
):
    result = runner.invoke(
        main,
        [
            "badge",
            "configure",
            "Head Office",
            "--preset",
            "a4",
            "--backend",
            "cups",
            "--printer",
            "front-desk",
            "--band-colour",
            "#AA0000",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "backend cups, printer front-desk" in result.output
    session.expire_all()
    assert (site.badge_preset, site.print_backend, site.cups_printer) == (
        "a4",
        "cups",
        "front-desk",
    )
    bad = runner.invoke(main, ["badge", "configure", "Head Office", "--band-colour", "blue"])
    assert bad.exit_code == 1
    assert "band colour" in bad.output
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "configure_badges")).one()
    assert event.target_id == str(site.id)
