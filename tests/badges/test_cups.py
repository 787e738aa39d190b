"""The CUPS backend against a real CUPS server with a cups-pdf virtual printer: the job comes
out as a PDF that is the badge, and every kind of printer-down leaves the check-in intact.

.ci/run installs and starts CUPS (localhost only); each test module adds its own queue."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.badges.cups import CupsPrinter, PrintError
from kiosk.cli import main
from kiosk.models import KioskDevice, PrintJob, Visit
from tests.servers import cups_pdf_output_dir, cups_pdf_queue
from tests.support import decode_qr_codes, pdf_text, pdf_to_image, require_tool

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def queue() -> Iterator[str]:
    """A cups-pdf queue of this test module's own, removed afterwards."""
    with cups_pdf_queue() as name:
        yield name


@pytest.fixture
def cups_site(make_site: Any, make_host: Any, session: Session, queue: str) -> Any:
    site = make_site(name="Print Office", default_locale="en", badge_preset="brother-62x100")
    make_host(site, name="Hanna Host")
    site.print_backend = "cups"
    site.cups_printer = queue
    session.commit()
    return site


def wait_for_badge(
    before: set[Path], directory: Path, token: str, tmp_path: Path, timeout: float = 60
) -> bytes:
    """The new PDF cups-pdf writes whose QR code holds ``token`` (other tests print too)."""
    seen = set(before)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (set(directory.glob("*.pdf")) if directory.exists() else set()) - seen:
            data = path.read_bytes()
            # cups-pdf writes the file, then finishes; a complete PDF ends with %%EOF.
            if not data.rstrip().endswith(b"%%EOF"):
                continue
            seen.add(path)
            if decode_qr_codes(pdf_to_image(data, tmp_path, dpi=300)) == [token]:
                return data
        time.sleep(0.2)
    raise AssertionError(f"no PDF with the badge's QR code appeared in {directory} in {timeout} s")


@pytest.fixture
def client(pair: Any, cups_site: Any) -> FlaskClient:
    """The CUPS site's kiosk."""
    return pair(cups_site)


def check_in(client: FlaskClient, **fields: str) -> Any:
    """Details, then the notice; returns the response that registers the visit."""
    client.post("/check-in", data={"ask_reception": "y", **fields})
    client.get("/notice")
    return client.post("/notice", data={"read": "1"})


def job_statuses(session: Session) -> list[tuple[str, str | None]]:
    session.expire_all()
    return [(j.status, j.error) for j in session.scalars(select(PrintJob).order_by(PrintJob.id))]


def test_check_in_prints_the_badge_on_the_cups_printer(
    client: FlaskClient, cups_site: Any, session: Session, queue: str, tmp_path: Path
):
    out = cups_pdf_output_dir()
    before = set(out.glob("*.pdf")) if out.exists() else set()
    response = check_in(client, name="Linnea Åkesson", company="Nordic Labs")
    assert response.status_code == 302
    visit = session.scalars(select(Visit)).one()
    session.expire_all()
    job = session.scalars(select(PrintJob)).one()
    assert (job.status, job.printer, job.error) == ("sent", queue, None)
    assert job.cups_job
    assert job.cups_job.startswith(queue)
    assert "Your badge is printing" in client.get("/done").text

    printed = wait_for_badge(before, out, visit.badge_token, tmp_path)
    # What came out of CUPS is the badge: its text, its size, and a QR holding the token.
    # (cups-pdf re-distils the PDF with Ghostscript, which keeps the glyphs but not always
    # their Unicode names, so the text check sticks to ASCII.)
    text = " ".join(pdf_text(printed, tmp_path).split())
    assert "Linnea" in text
    assert "Nordic Labs" in text
    assert visit.short_code in text
    pdfinfo = require_tool("pdfinfo", "poppler-utils")
    (tmp_path / "printed.pdf").write_bytes(printed)
    info = subprocess.run([pdfinfo, str(tmp_path / "printed.pdf")], capture_output=True, text=True)
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info.stdout)
    assert size
    # 62 x 100 mm = 175.7 x 283.5 pt (the media option went through).
    assert (float(size[1]), float(size[2])) == pytest.approx((175.7, 283.5), abs=2)


@pytest.mark.parametrize(
    ("break_it", "mend_it", "error"),
    [
        (["cupsdisable"], ["cupsenable"], "printer_stopped"),
        (["cupsreject"], ["cupsaccept"], "printer_rejecting"),
    ],
)
def test_printer_down_keeps_the_visit_and_reprint_works_once_mended(
    client: FlaskClient,
    cups_site: Any,
    session: Session,
    queue: str,
    staff_client: FlaskClient,
    break_it: list[str],
    mend_it: list[str],
    error: str,
):
    subprocess.run([*break_it, queue], check=True)
    try:
        response = check_in(client, name="Down Printer")
        assert response.status_code == 302
        visit = session.scalars(select(Visit)).one()
        assert visit.visitor_name == "Down Printer"
        assert job_statuses(session) == [("failed", error)]
        assert "Please collect your badge at reception." in client.get("/done").text
        assert "Down Printer" in staff_client.get("/dashboard/prints").text
    finally:
        subprocess.run([*mend_it, queue], check=True)
    response = staff_client.post(f"/dashboard/visits/{visit.id}/reprint", data={"back": "prints"})
    assert response.status_code == 302
    assert job_statuses(session)[-1] == ("sent", None)
    assert "Down Printer" not in staff_client.get("/dashboard/prints").text


def test_unknown_printer_and_unreachable_server(queue: str):
    with pytest.raises(PrintError) as unknown:
        CupsPrinter().send(b"%PDF-1.4", printer=f"{queue}-missing", media="A4", title="t")
    assert unknown.value.code == "printer_unknown"
    with pytest.raises(PrintError) as down:
        CupsPrinter(server="127.0.0.1:9").send(b"%PDF-1.4", printer=queue, media="A4", title="t")
    assert down.value.code == "cups_unreachable"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_badge_sample_print_sends_to_the_sites_printer(
    app: Flask, runner: FlaskCliRunner, cups_site: Any, queue: str, tmp_path: Path
):
    out = cups_pdf_output_dir()
    before = set(out.glob("*.pdf")) if out.exists() else set()
    result = runner.invoke(main, ["badge", "sample", "--site", cups_site.name, "--print"])
    assert result.exit_code == 0, result.output
    assert f"Sent to CUPS printer {queue}" in result.output
    token = re.search(r"Badge token: (\S+)", result.output)
    assert token
    wait_for_badge(before, out, token[1], tmp_path)

    app.config["CUPS_SERVER"] = "127.0.0.1:9"
    failed = runner.invoke(main, ["badge", "sample", "--site", cups_site.name, "--print"])
    assert failed.exit_code == 1
    assert "cups_unreachable" in failed.output


def test_a_kiosk_with_its_own_cups_printer_prints_there(
    runner: FlaskCliRunner,
    pair: Any,
    make_site: Any,
    make_host: Any,
    session: Session,
    queue: str,
    tmp_path: Path,
):
    # The site prints in the browser; this kiosk has the label printer beside it.
    site = make_site(name="Browser Office", default_locale="en")
    make_host(site, name="Hanna Host")
    kiosk = pair(site)
    device = session.scalars(select(KioskDevice).where(KioskDevice.site_id == site.id)).one()
    device.print_backend, device.cups_printer = "cups", queue
    session.commit()
    out = cups_pdf_output_dir()
    before = set(out.glob("*.pdf")) if out.exists() else set()
    assert check_in(kiosk, name="Kiosk Printer").status_code == 302
    visit = session.scalars(select(Visit)).one()
    assert job_statuses(session) == [("sent", None)]
    wait_for_badge(before, out, visit.badge_token, tmp_path)

    # Setting that printer up: a sample badge on the kiosk's own queue.
    sample = runner.invoke(main, ["badge", "sample", "--kiosk", str(device.id), "--print"])
    assert sample.exit_code == 0, sample.output
    assert f"Sent to CUPS printer {queue}" in sample.output
    token = re.search(r"Badge token: (\S+)", sample.output)
    assert token
    wait_for_badge(before, out, token[1], tmp_path)
    unknown = runner.invoke(main, ["badge", "sample", "--kiosk", "999999", "--print"])
    assert unknown.exit_code == 2
    assert "there is no kiosk device 999999" in unknown.output
