"""What the server knows about printed badges, and no more: a badge handed to the kiosk's
browser is "sent", not "printed"; the kiosk reports back when its browser could not print
it (its own visitor's badge only, CSRF-protected, nothing in the URL); a reprint from the
dashboard prints without leaving the page, and says nothing about printing when it cannot.

The browser side (badge-print.js, badge-reprint.js) is tested in tests/browser/."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk import create_app
from kiosk.db import get_database
from kiosk.models import PrintJob
from kiosk.registration.visitor import BADGE_SESSION_KEY
from kiosk.services.kiosks import create_device
from tests.badges.test_kiosk_printing import check_in, job_of, paired

REPORT = "/badge/print-failed"


@pytest.fixture
def site(make_site: Any, make_host: Any) -> Any:
    site = make_site(name="Browser Office", default_locale="en", print_backend="browser")
    make_host(site, name="Hanna Host")
    return site


@pytest.fixture
def reception(site: Any, make_staff: Any, login: Any) -> FlaskClient:
    return login(make_staff(sites=(site,)))


def test_prints_page_does_not_claim_browser_prints_came_out(
    pair: Any, site: Any, session: Session, reception: FlaskClient
):
    kiosk, _device = paired(pair, site, session)
    check_in(kiosk, "Browser Visitor")
    page = reception.get("/dashboard/prints").text
    assert "Every badge printed" not in page
    # What the server does know: no print failed that it heard of, and one badge went to a
    # kiosk's browser, which reports back only when it cannot print.
    assert "No badge print failed that the server knows of." in page
    assert re.search(r"Sent to a kiosk(&#39;|')s browser to print: <span[^>]*>1</span>", page), page


def test_kiosk_reports_its_browser_could_not_print(
    pair: Any, site: Any, session: Session, reception: FlaskClient
):
    kiosk, _device = paired(pair, site, session)
    check_in(kiosk, "Paper Jam")
    kiosk.get("/done")
    response = kiosk.post(REPORT)
    assert response.status_code == 204
    _visit, job = job_of(session, "Paper Jam")
    assert (job.backend, job.status, job.error) == ("browser", "failed", "browser_print")
    # Reception sees it: the mark on the on-site list, the row on the prints page.
    assert "Did not print" in reception.get("/dashboard/").text
    prints = reception.get("/dashboard/prints").text
    assert "Paper Jam" in prints
    assert "The kiosk&#39;s browser could not print it." in prints
    # A second report changes nothing more.
    assert kiosk.post(REPORT).status_code == 204
    assert session.scalar(select(PrintJob.status).where(PrintJob.id == job.id)) == "failed"


def test_a_kiosk_can_report_only_its_own_visitors_fresh_browser_print(
    app: Flask, pair: Any, site: Any, session: Session, clock: Any, make_site: Any
):
    front, _front_device = paired(pair, site, session)
    side, side_device = paired(pair, site, session)
    check_in(front, "Front Visitor")
    visit, job = job_of(session, "Front Visitor")
    # Another kiosk holding the visit's id in its session (a copied cookie or a forged one
    # signed with the key) still cannot mark a visit that was not registered there.
    with side.session_transaction() as state:
        state[BADGE_SESSION_KEY] = visit.id
    assert side.post(REPORT).status_code == 404
    # A browser that is no kiosk, and a kiosk with no badge just printed, are refused.
    assert app.test_client().post(REPORT).status_code == 403
    assert pair(site).post(REPORT).status_code == 404
    # Too late: the badge can no longer be fetched, so a report cannot be about it.
    clock.advance(timedelta(seconds=app.config["BADGE_FETCH_SECONDS"] + 1))
    assert front.post(REPORT).status_code == 404
    session.expire_all()
    assert session.get(PrintJob, job.id).status == "browser"  # type: ignore[union-attr]
    # Only a badge handed to the browser: a CUPS job is the print server's to report.
    side_device.print_backend, side_device.cups_printer = "cups", "side-door"
    session.commit()
    app.config["CUPS_SERVER"] = "127.0.0.1:9"
    check_in(side, "Side Visitor")
    _visit, side_job = job_of(session, "Side Visitor")
    assert side_job.backend == "cups"
    assert side.post(REPORT).status_code == 404


def test_the_report_needs_the_csrf_token(
    app_config: dict[str, Any], session: Session, site: Any, clock: Any
):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    try:
        _device, code = create_device(session, site, "Door", now=clock.now())
        session.commit()
        client = app.test_client()
        token = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/pair").text
        )
        assert token
        assert client.post("/pair", data={"code": code, "csrf_token": token[1]}).status_code == 302
        assert client.post(REPORT).status_code == 400
    finally:
        get_database(app).engine.dispose()


def test_reprint_without_javascript_offers_the_pdf_in_a_new_tab(
    make_visit: Any, site: Any, reception: FlaskClient
):
    visit = make_visit(site, "Vera Visitor")
    response = reception.post(f"/dashboard/visits/{visit.id}/reprint", data={})
    # Not a redirect to the PDF, which would replace the dashboard in this tab.
    assert response.status_code == 200
    page = response.text
    assert "printing" not in page.lower()
    assert "sent to the printer" not in page
    link = re.search(rf'<a [^>]*href="/dashboard/visits/{visit.id}/badge.pdf"[^>]*>', page)
    assert link, page
    assert 'target="_blank"' in link[0]
    assert 'rel="noopener"' in link[0]
    assert "opens in a new tab" in page
    # Only a request that asks for JSON by name gets it.
    for accept in ("*/*", "text/html,application/xhtml+xml,*/*;q=0.8"):
        other = reception.post(f"/dashboard/visits/{visit.id}/reprint", headers={"Accept": accept})
        assert other.mimetype == "text/html"


def test_reprint_with_javascript_gets_the_pdf_to_print_in_the_page(
    make_visit: Any, site: Any, reception: FlaskClient
):
    visit = make_visit(site, "Vera Visitor")
    response = reception.post(
        f"/dashboard/visits/{visit.id}/reprint",
        data={"back": "prints"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.json == {"pdf": f"/dashboard/visits/{visit.id}/badge.pdf"}
    # The page prints it in a hidden frame of its own: the PDF may be framed by the app only.
    pdf = reception.get(f"/dashboard/visits/{visit.id}/badge.pdf")
    assert pdf.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in pdf.headers["Content-Security-Policy"]


def test_reprint_on_a_print_server_with_javascript_reloads_with_the_outcome(
    app: Flask, make_visit: Any, site: Any, session: Session, reception: FlaskClient
):
    site.print_backend, site.cups_printer = "cups", "front-desk"
    session.commit()
    app.config["CUPS_SERVER"] = "127.0.0.1:9"  # nothing listens: the print fails
    visit = make_visit(site, "Vera Visitor")
    response = reception.post(
        f"/dashboard/visits/{visit.id}/reprint",
        data={"back": "prints"},
        headers={"Accept": "application/json"},
    )
    assert response.json == {"location": "/dashboard/prints"}
    assert "The badge could not be printed" in reception.get("/dashboard/prints").text
