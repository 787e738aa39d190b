"""The brother_ql backend: badges sent straight to a Brother QL label printer over TCP, tested
against a printer listening on 127.0.0.1 (tests/badges/ql_printer.py) that answers status
requests like the real one. What it receives must be QL raster the library's own reader
understands, for the format's label, with the visit's token in a QR code that decodes; and
a printer that is off, empty or holding other labels never loses a check-in."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from brother_ql.reader import BrotherQLReader, chunker
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kiosk import create_app
from kiosk.badges.jobs import print_badge
from kiosk.badges.ql import DEFAULT_PORT, Address, parse_address
from kiosk.badges.settings import BadgeSettingsError, configure_badges
from kiosk.cli import main
from kiosk.db import get_database
from kiosk.models import KioskDevice, PrintJob, Visit
from tests.badges.ql_printer import (
    COVER_OPEN,
    DIE_CUT,
    NO_MEDIA,
    FakeQlPrinter,
    closed_port,
    running,
)
from tests.support import decode_qr_codes

COLLECT = "Please collect your badge at reception."
PRINTING = "Your badge is printing. Please take it from the printer."


@pytest.fixture
def site(make_site: Any, make_host: Any) -> Any:
    site = make_site(name="Label Office", default_locale="en")
    make_host(site, name="Hanna Host")
    return site


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # A printer that does not answer status requests is waited for this long before each job.
    return {**app_config, "BROTHER_QL_STATUS_SECONDS": 0.3, "PRINT_TIMEOUT_SECONDS": 5}


def print_on_ql(session: Session, site: Any, port: int, preset: str = "brother-62x100") -> None:
    site.print_backend, site.ql_printer, site.badge_preset = (
        "brother_ql",
        f"127.0.0.1:{port}",
        preset,
    )
    session.commit()


def check_in(client: FlaskClient, name: str = "Ada Lovelace") -> str:
    """Check a visitor in at the kiosk; return the confirmation page."""
    client.post("/check-in", data={"name": name, "company": "Engines", "ask_reception": "y"})
    client.get("/notice")
    assert client.post("/notice", data={"read": "1"}).headers["Location"] == "/done"
    return client.get("/done").text


def newest(session: Session) -> tuple[Visit, PrintJob]:
    session.expire_all()
    job = session.scalars(select(PrintJob).order_by(PrintJob.id.desc())).first()
    assert job is not None
    return job.visit, job


def read_label(job: bytes, tmp_path: Path) -> tuple[BrotherQLReader, bytes, Path]:
    """The job as brother_ql's reader sees it: the reader, the media instruction's payload and
    the label it draws (a PNG)."""
    # Every byte is a known QL instruction (raise_exception: nothing skipped).
    instructions = chunker(job, raise_exception=True)
    [media] = [item[3:] for item in instructions if item.startswith(b"\x1biz")]
    reader = BrotherQLReader(io.BufferedReader(io.BytesIO(job)))  # type: ignore[arg-type]
    reader.filename_fmt = str(tmp_path / "label{counter}.png")
    reader.analyse()
    return reader, media, tmp_path / "label1.png"


@pytest.mark.parametrize(
    ("preset", "media_type", "length"),
    [("brother-62x100", 0x0A, 0), ("brother-62x100-die-cut", 0x0B, 100)],
)
def test_a_check_in_prints_the_badge_on_the_label_printer(
    pair: Any,
    site: Any,
    session: Session,
    tmp_path: Path,
    preset: str,
    media_type: int,
    length: int,
):
    loaded = FakeQlPrinter(media=(62, length), media_type=media_type)
    with running(loaded) as printer:
        print_on_ql(session, site, printer.port, preset)
        page = check_in(pair(site))
        [job] = printer.wait_for_jobs()

    assert PRINTING in page
    visit, record = newest(session)
    assert (record.backend, record.status, record.error, record.printer) == (
        "brother_ql",
        "sent",
        None,
        f"127.0.0.1:{printer.port}",
    )
    reader, media, label = read_label(job, tmp_path)
    # Media/quality: the kind of label (continuous or die-cut), 62 mm wide, its length.
    assert (media[1], media[2], media[3]) == (media_type, 62, length)
    assert reader.mwidth == 62
    assert reader.cut_at_end
    assert decode_qr_codes(label) == [visit.badge_token]
    # Nothing personal travels in the clear beyond the picture: no name in the bytes.
    assert b"Ada" not in job
    assert b"Lovelace" not in job


def test_a_printer_that_is_off_never_loses_the_check_in(
    pair: Any, site: Any, session: Session, login: Any, make_staff: Any
):
    print_on_ql(session, site, closed_port())
    page = check_in(pair(site))

    assert COLLECT in page
    assert PRINTING not in page
    visit, record = newest(session)
    assert visit.checked_out_at is None
    assert (record.status, record.error) == ("failed", "printer_unreachable")
    staff = login(make_staff(sites=(site,)))
    assert "The label printer does not answer" in staff.get("/dashboard/prints").text


@pytest.mark.parametrize(
    ("printer", "error", "printed"),
    [
        (FakeQlPrinter(media=(0, 0), media_type=0, errors=(NO_MEDIA, 0)), "out_of_labels", False),
        (FakeQlPrinter(runs_out=True), "out_of_labels", True),
        (FakeQlPrinter(media=(29, 0)), "wrong_labels", False),
        (FakeQlPrinter(media=(62, 100), media_type=DIE_CUT), "wrong_labels", False),
        (FakeQlPrinter(errors=(0, COVER_OPEN)), "printer_fault", False),
    ],
    ids=["empty", "runs-out", "29-mm-tape", "die-cut-loaded", "cover-open"],
)
def test_a_printer_that_cannot_print_fails_the_print_not_the_check_in(
    pair: Any, site: Any, session: Session, printer: FakeQlPrinter, error: str, printed: bool
):
    with running(printer):
        print_on_ql(session, site, printer.port)
        page = check_in(pair(site))
        [job] = printer.wait_for_jobs()

    assert COLLECT in page
    visit, record = newest(session)
    assert visit.checked_out_at is None
    assert (record.status, record.error) == ("failed", error)
    # A printer that says at once it cannot print is not sent the badge.
    assert (b"\x1a" in chunker(job)) is printed


def test_a_printer_that_does_not_answer_status_requests_is_sent_the_badge(
    pair: Any, site: Any, session: Session, tmp_path: Path
):
    with running(FakeQlPrinter(answers=False)) as printer:
        print_on_ql(session, site, printer.port)
        check_in(pair(site))
        [job] = printer.wait_for_jobs()

    visit, record = newest(session)
    assert (record.status, record.error) == ("sent", None)
    _reader, _media, label = read_label(job, tmp_path)
    assert decode_qr_codes(label) == [visit.badge_token]


def test_a_kiosk_prints_on_its_own_label_printer_and_reprints_come_out_there(
    pair: Any,
    site: Any,
    session: Session,
    runner: FlaskCliRunner,
    login: Any,
    make_staff: Any,
    tmp_path: Path,
):
    with running(FakeQlPrinter()) as printer:
        client = pair(site)
        device = session.scalars(select(KioskDevice).order_by(KioskDevice.id.desc())).first()
        assert device is not None
        result = runner.invoke(
            main,
            [
                "device",
                "printing",
                str(device.id),
                "--backend",
                "brother_ql",
                "--printer",
                f"127.0.0.1:{printer.port}",
            ],
        )
        assert result.exit_code == 0, result.output
        check_in(client)
        visit, record = newest(session)
        assert (record.backend, record.status) == ("brother_ql", "sent")

        staff = login(make_staff(sites=(site,)))
        response = staff.post(f"/dashboard/visits/{visit.id}/reprint", data={})
        assert response.status_code == 302
        first, again = printer.wait_for_jobs(2)

    _visit, reprint = newest(session)
    assert (reprint.status, reprint.requested_by) == ("sent", f"staff:{staff_id(session)}")
    for number, job in enumerate((first, again)):
        folder = tmp_path / str(number)
        folder.mkdir()
        _reader, _media, label = read_label(job, folder)
        assert decode_qr_codes(label) == [visit.badge_token]


def staff_id(session: Session) -> int:
    from kiosk.models import StaffUser

    user = session.scalars(select(StaffUser).order_by(StaffUser.id.desc())).first()
    assert user is not None
    return user.id


def test_a_sample_badge_prints_on_the_sites_label_printer(
    runner: FlaskCliRunner, site: Any, session: Session, tmp_path: Path
):
    with running(FakeQlPrinter(media=(62, 100), media_type=DIE_CUT)) as printer:
        result = runner.invoke(
            main,
            [
                "badge",
                "configure",
                site.name,
                "--preset",
                "brother-62x100-die-cut",
                "--backend",
                "brother_ql",
                "--printer",
                f"127.0.0.1:{printer.port}",
            ],
        )
        assert result.exit_code == 0, result.output
        assert f"label printer 127.0.0.1:{printer.port}" in result.output
        result = runner.invoke(main, ["badge", "sample", "--site", site.name, "--print"])
        assert result.exit_code == 0, result.output
        [job] = printer.wait_for_jobs()
    token = re.search(r"Badge token: (\S+)", result.output)
    assert token
    _reader, media, label = read_label(job, tmp_path)
    assert media[1] == 0x0B
    assert decode_qr_codes(label) == [token[1]]


def test_print_badge_records_a_failure_without_raising(
    app: Flask, site: Any, session: Session, make_visit: Any
):
    print_on_ql(session, site, closed_port())
    visit = make_visit(site)
    with app.test_request_context():
        outcome = print_badge(session, visit, now=visit.checked_in_at)
    assert (outcome.failed, outcome.error) == (True, "printer_unreachable")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"backend": "brother_ql"}, "needs the printer's address"),
        ({"backend": "brother_ql", "ql_printer": "printer one"}, "not a printer address"),
        ({"backend": "brother_ql", "ql_printer": "10.0.0.5:70000"}, "not a printer address"),
        (
            {"backend": "brother_ql", "ql_printer": "ql.example", "preset": "dymo-54x101"},
            "prints the formats brother-62x100, brother-62x100-die-cut only",
        ),
    ],
)
def test_brother_ql_settings_are_checked(
    site: Any, session: Session, changes: dict[str, Any], message: str
):
    with pytest.raises(BadgeSettingsError, match=message):
        configure_badges(site, **changes)
    session.rollback()


def test_the_admin_chooses_a_label_printer_for_a_site_and_a_kiosk(
    pair: Any, site: Any, session: Session, login: Any, make_staff: Any
):
    pair(site)
    admin = login(make_staff(role="admin"))
    base = {"preset": "dymo-54x101", "band_colour": "#0B5CAD", "print_backend": "brother_ql"}
    page = admin.post(f"/dashboard/admin/sites/{site.id}/badges", data=base).text
    assert "Printing on a Brother QL printer needs its address." in page
    page = admin.post(
        f"/dashboard/admin/sites/{site.id}/badges", data={**base, "ql_printer": "ql.example:9100"}
    ).text
    assert "A Brother QL printer prints these badge formats only" in page
    response = admin.post(
        f"/dashboard/admin/sites/{site.id}/badges",
        data={**base, "preset": "brother-62x100", "ql_printer": "ql.example:9100"},
    )
    assert response.status_code == 302
    session.expire_all()
    assert (site.print_backend, site.ql_printer) == ("brother_ql", "ql.example:9100")

    device = session.scalars(select(KioskDevice)).one()
    url = f"/dashboard/kiosks/{device.id}/printing"
    page = admin.post(url, data={"print_backend": "brother_ql", "ql_printer": "a b"}).text
    assert "That is not a printer address" in page
    response = admin.post(url, data={"print_backend": "brother_ql", "ql_printer": "10.1.2.3"})
    assert response.status_code == 302
    session.expire_all()
    assert (device.print_backend, device.ql_printer) == ("brother_ql", "10.1.2.3")
    assert "(10.1.2.3)" in admin.get("/dashboard/kiosks").text


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("ql.example", Address("ql.example", DEFAULT_PORT)),
        ("192.168.1.20:9101", Address("192.168.1.20", 9101)),
        ("[fd00::20]:9100", Address("fd00::20", 9100)),
        ("[fd00::20]", Address("fd00::20", DEFAULT_PORT)),
        ("ql example", None),
        ("ql.example:0", None),
        ("ql.example:١٢", None),
        ("-ql.example", None),
        ("tcp://ql.example", None),
        ("", None),
    ],
)
def test_printer_addresses(text: str, address: Address | None):
    assert parse_address(text) == address


def test_the_migration_keeps_every_site_and_kiosk(tmp_path: Path, empty_database_url: str):
    # On SQLite the migration copies the sites and kiosk_devices tables to change their CHECK
    # constraints; dropping the old ones must not cascade to the rows that refer to them.
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": empty_database_url,
        }
    )
    runner = app.test_cli_runner()
    engine = get_database(app).engine
    created = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        assert runner.invoke(main, ["db", "upgrade", "0014_site_welcome"]).exit_code == 0
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO sites (id, name, timezone, default_locale, retention_days,"
                    " controller_name, controller_contact, authority_name, created_at,"
                    " field_company, field_host, field_purpose, field_email, field_phone,"
                    " badge_preset, badge_band_colour, print_backend)"
                    " VALUES (1, 'S', 'UTC', 'sv', 30, 'C', 'c@example.com', 'A', :created,"
                    " 'optional', 'required', 'optional', 'hidden', 'hidden',"
                    " 'brother-62x100', '#0B5CAD', 'cups')"
                ),
                {"created": created},
            )
            connection.execute(
                text(
                    "INSERT INTO kiosk_devices (id, site_id, name, created_at, print_backend)"
                    " VALUES (5, 1, 'Lobby', :created, 'none')"
                ),
                {"created": created},
            )
        assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
        with engine.begin() as connection:
            assert connection.execute(text("SELECT id, print_backend FROM sites")).all() == [
                (1, "cups")
            ]
            connection.execute(
                text("UPDATE kiosk_devices SET print_backend = 'brother_ql', ql_printer = 'ql'")
            )
        assert runner.invoke(main, ["db", "downgrade", "0014_site_welcome"]).exit_code == 0
        with engine.connect() as connection:
            # A kiosk printing on a QL printer prints from its browser again.
            assert connection.execute(
                text("SELECT id, print_backend FROM kiosk_devices")
            ).all() == [(5, "browser")]
    finally:
        engine.dispose()
