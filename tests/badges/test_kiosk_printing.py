"""Print backends per kiosk: a kiosk may print its badges its own way (a label printer beside
it), or follow its site; the visit remembers its kiosk, so reprints come out there too."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.cli import main
from kiosk.models import AuditEvent, KioskDevice, PrintJob, Visit
from tests.support import named, require_tool


@pytest.fixture
def site(make_site: Any, make_host: Any) -> Any:
    site = make_site(name="Two Kiosk Office", default_locale="en")
    make_host(site, name="Hanna Host")
    return site


def paired(pair: Any, site: Any, session: Session) -> tuple[FlaskClient, KioskDevice]:
    """A kiosk client of the site and its device row (the newest device)."""
    client = pair(site)
    device = session.scalars(select(KioskDevice).order_by(KioskDevice.id.desc())).first()
    assert device is not None
    return client, device


def check_in(client: FlaskClient, name: str) -> None:
    client.post("/check-in", data={"name": name, "ask_reception": "y"})
    client.get("/notice")
    assert client.post("/notice", data={"read": "1"}).headers["Location"] == "/done"


def job_of(session: Session, name: str) -> tuple[Visit, PrintJob]:
    session.expire_all()
    visit = named(session, Visit, name)
    job = session.scalars(
        select(PrintJob).where(PrintJob.visit_id == visit.id).order_by(PrintJob.id.desc())
    ).first()
    assert job is not None
    return visit, job


def test_each_kiosk_prints_its_own_way(
    app: Flask, pair: Any, site: Any, session: Session, login: Any, make_staff: Any
):
    # The site prints in the kiosk's browser; the side entrance has a CUPS label printer, and
    # its print server is down (nothing listens on port 9), so its prints fail; telling that
    # from "no CUPS client installed" needs the client.
    require_tool("lpstat", "cups-client")
    require_tool("lp", "cups-client")
    app.config["CUPS_SERVER"] = "127.0.0.1:9"
    front, front_device = paired(pair, site, session)
    side, side_device = paired(pair, site, session)
    side_device.print_backend, side_device.cups_printer = "cups", "side-door"
    session.commit()

    check_in(front, "Front Visitor")
    check_in(side, "Side Visitor")

    front_visit, front_job = job_of(session, "Front Visitor")
    assert front_visit.kiosk_device_id == front_device.id
    assert (front_job.backend, front_job.status, front_job.printer) == ("browser", "browser", None)
    assert "badge-print.js" in front.get("/done").text

    side_visit, side_job = job_of(session, "Side Visitor")
    assert side_visit.kiosk_device_id == side_device.id
    assert (side_job.backend, side_job.status, side_job.printer, side_job.error) == (
        "cups",
        "failed",
        "side-door",
        "cups_unreachable",
    )
    assert "Please collect your badge at reception." in side.get("/done").text

    # Reprints follow the kiosk: the side visitor's goes to its CUPS printer again, the
    # front visitor's is a download for reception's own browser.
    staff = login(make_staff(sites=(site,)))
    reprint = staff.post(f"/dashboard/visits/{side_visit.id}/reprint")
    assert reprint.status_code == 302
    _, again = job_of(session, "Side Visitor")
    assert (again.backend, again.printer, again.id != side_job.id) == ("cups", "side-door", True)
    download = staff.post(f"/dashboard/visits/{front_visit.id}/reprint")
    assert f'href="/dashboard/visits/{front_visit.id}/badge.pdf"' in download.text

    # Back to the site's setting: the side kiosk prints in the browser again.
    side_device.print_backend, side_device.cups_printer = None, None
    session.commit()
    check_in(side, "Later Visitor")
    _, later = job_of(session, "Later Visitor")
    assert (later.backend, later.status) == ("browser", "browser")


def test_a_deleted_kiosk_leaves_its_visits_to_the_sites_setting(
    pair: Any, site: Any, session: Session
):
    kiosk, device = paired(pair, site, session)
    device.print_backend = "none"
    session.commit()
    check_in(kiosk, "Kept Visitor")
    session.delete(device)
    session.commit()
    visit, job = job_of(session, "Kept Visitor")
    assert (visit.kiosk_device_id, job.backend) == (None, "none")


def test_admin_chooses_a_kiosks_printing_on_the_dashboard(
    pair: Any, site: Any, session: Session, login: Any, make_staff: Any
):
    _kiosk, device = paired(pair, site, session)
    admin = login(make_staff(role="admin"))
    kiosks = admin.get("/dashboard/kiosks").text
    assert "As the site decides" in kiosks
    assert f"/dashboard/kiosks/{device.id}/printing" in kiosks

    page = admin.get(f"/dashboard/kiosks/{device.id}/printing").text
    assert "As the site decides (now: By the kiosk&#39;s browser)" in page

    missing = admin.post(f"/dashboard/kiosks/{device.id}/printing", data={"print_backend": "cups"})
    assert missing.status_code == 200
    assert "Printing on CUPS needs the printer&#39;s name." in missing.text
    bad = admin.post(
        f"/dashboard/kiosks/{device.id}/printing",
        data={"print_backend": "cups", "cups_printer": "no spaces/allowed"},
    )
    assert "That is not a CUPS printer name." in bad.text
    unknown = admin.post(f"/dashboard/kiosks/{device.id}/printing", data={"print_backend": "fax"})
    assert unknown.status_code == 200
    session.expire_all()
    assert (device.print_backend, device.cups_printer) == (None, None)

    saved = admin.post(
        f"/dashboard/kiosks/{device.id}/printing",
        data={"print_backend": "cups", "cups_printer": "lobby-labels"},
    )
    assert saved.headers["Location"] == "/dashboard/kiosks"
    session.expire_all()
    assert (device.print_backend, device.cups_printer) == ("cups", "lobby-labels")
    listing = admin.get("/dashboard/kiosks").text
    assert "The print settings of the kiosk “Kiosk 1” were saved." in listing
    assert "By the server, on a CUPS printer (lobby-labels)" in listing

    admin.post(
        f"/dashboard/kiosks/{device.id}/printing",
        data={"print_backend": "site", "cups_printer": "lobby-labels"},
    )
    session.expire_all()
    assert (device.print_backend, device.cups_printer) == (None, None)
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "configure_kiosk_printing")
    ).all()
    assert [(e.target_type, e.target_id) for e in events] == [("kiosk_device", str(device.id))] * 2


def test_reception_cannot_change_a_kiosks_printing(
    pair: Any, site: Any, session: Session, login: Any, make_staff: Any
):
    _kiosk, device = paired(pair, site, session)
    reception = login(make_staff(sites=(site,)))
    assert "/printing" not in reception.get("/dashboard/kiosks").text
    denied = reception.post(
        f"/dashboard/kiosks/{device.id}/printing", data={"print_backend": "none"}
    )
    assert denied.status_code == 403
    session.expire_all()
    assert device.print_backend is None


def test_device_printing_command(runner: FlaskCliRunner, pair: Any, site: Any, session: Session):
    _kiosk, device = paired(pair, site, session)
    result = runner.invoke(
        main, ["device", "printing", str(device.id), "--backend", "cups", "--printer", "door-2"]
    )
    assert result.exit_code == 0, result.output
    assert "prints: cups door-2" in runner.invoke(main, ["device", "list"]).output

    refused = runner.invoke(main, ["device", "printing", str(device.id), "--backend", "cups"])
    assert refused.exit_code == 1
    assert "needs a printer name" in refused.output
    assert runner.invoke(main, ["device", "printing", "999", "--backend", "none"]).exit_code == 1

    back = runner.invoke(main, ["device", "printing", str(device.id), "--backend", "site"])
    assert back.exit_code == 0, back.output
    assert "prints: as site" in runner.invoke(main, ["device", "list"]).output
    session.expire_all()
    assert (device.print_backend, device.cups_printer) == (None, None)
