"""Nothing leaks: a visitor's name, email and phone never reach a log line, and after the purge
neither the database (every table, every column) nor the instance folder holds them."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, MetaData, func, select, text
from sqlalchemy.orm import Session

from kiosk.cli import main
from kiosk.clock import FrozenClock
from kiosk.db import get_database, make_engine
from kiosk.models import Notification, SignedDocument, Visit, VisitorType
from kiosk.privacy import erasure
from kiosk.services.api_tokens import create_api_token
from kiosk.services.demo import DEMO_HOSTS, DEMO_SITE
from kiosk.services.notices import publish_notice
from tests.support import (
    WebClient,
    demo_pairing_code,
    demo_password,
    kiosk_env,
    run_kiosk,
    running_server,
    use_key_store,
)

NAME = "Zelda Quixotic-Nymark"
EMAIL = "zelda.qn@visitor-mail.example"
PHONE = "+46 70 913 57 24"
#: Every form in which the visitor's data could show up.
# The name's words one by one too: the history search once kept folded words of each name
# (now keyed tokens, kiosk.blind_index).
SECRETS = (
    NAME,
    "Quixotic-Nymark",
    "Quixotic",
    "Nymark",
    "Zelda",
    EMAIL,
    "zelda.qn",
    PHONE,
    "70 913 57 24",
    "709135724",
)


def leaks(text_value: str) -> list[str]:
    folded = text_value.casefold()
    return [secret for secret in SECRETS if secret.casefold() in folded]


def database_leaks(engine: Engine) -> list[str]:
    """Every value of every column of every table, searched for the visitor's data."""
    metadata = MetaData()
    metadata.reflect(engine)
    assert "visits" in metadata.tables
    found = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    if value is not None and leaks(str(value)):
                        found.append(f"{table.name}.{column.name}")
    return found


def folder_leaks(folder: Path) -> list[str]:
    """Every file below ``folder``, read as bytes, searched for the visitor's data."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for secret in SECRETS:
            for encoding in ("utf-8", "utf-16-le"):
                if secret.encode(encoding) in data or secret.lower().encode(encoding) in data:
                    found.append(f"{path.name}: {secret}")
    return found


class Everything(logging.Handler):
    """Keeps every record, formatted the way a log file would show it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    from tests.support import free_port

    # Hosts get an email; the mail server is down, so delivery fails and is logged.
    return {**app_config, "LOG_LEVEL": "DEBUG", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": free_port()}


@pytest.fixture
def every_log_record() -> Any:
    """All records: the app's loggers at DEBUG (its most verbose setting), everything else at
    INFO — SQLAlchemy's statement log too, as an operator hunting a problem would turn it on."""
    handler = Everything()
    root = logging.getLogger()
    sql = logging.getLogger("sqlalchemy.engine")
    saved = root.level, sql.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    sql.setLevel(logging.INFO)
    logging.getLogger("kiosk").setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(saved[0])
    sql.setLevel(saved[1])


def test_a_full_cycle_logs_nothing_personal_and_the_purge_leaves_nothing(
    app: Flask,
    session: Session,
    make_site: Any,
    make_host: Any,
    make_visit: Any,
    make_staff: Any,
    login: Any,
    pair: Any,
    runner: FlaskCliRunner,
    clock: FrozenClock,
    every_log_record: Everything,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
):
    site = make_site(field_email="optional", field_phone="optional")
    host = make_host(site, "Hanna Host")
    publish_notice(session, site, "en", "Notice for {controller_name}", now=clock.now())
    session.commit()
    staff_user = make_staff(role="admin")
    admin: FlaskClient = login(staff_user)
    kiosk: FlaskClient = pair(site)

    # Check-in at the kiosk, with a typo first.
    kiosk.post("/language", data={"locale": "en"})
    kiosk.post("/check-in", data={"name": NAME, "email": "not-an-email", "host_id": host.id})
    kiosk.post(
        "/check-in",
        data={"name": NAME, "email": EMAIL, "phone": PHONE, "host_id": host.id, "company": "Co"},
    )
    kiosk.get("/notice")
    assert kiosk.post("/notice", data={"read": "1"}).headers["Location"] == "/done"
    # Checked in: the database's files hold nothing of what the visitor typed.
    assert database_files_leaks(app) == []
    assert database_leaks(get_database(app).engine) == []
    done = kiosk.get("/done").text
    code = re.search(r'class="badge-code">(\w+)<', done)
    assert code
    # The badge: the kiosk's browser fetches it to print it.
    badge = kiosk.get("/badge.pdf")
    assert badge.status_code == 200
    assert badge.mimetype == "application/pdf"
    # The host's email is queued, and the sender tries the (down) mail server.
    assert session.scalar(select(func.count()).select_from(Notification)) == 1
    tried = runner.invoke(main, ["notify", "run", "--once"])
    assert tried.exit_code == 0, tried.output
    session.expire_all()
    assert session.scalar(select(Notification.attempts)) == 1  # tried, failed, logged
    # Reception sees the visitor; the visitor checks out with the badge code.
    assert NAME in admin.get("/dashboard/").text
    # A facility system reads them through the REST API (with the personal-data scope), and
    # sends the name in a body the API refuses: the refusal does not quote it.
    secret = create_api_token(
        session,
        name="Facility system",
        sites=[site],
        can_write=True,
        personal_data=True,
        created_by=staff_user,
        now=clock.now(),
    ).secret
    session.commit()
    bearer = {"Authorization": f"Bearer {secret}"}
    on_site = admin.get("/api/v1/visits/on-site", headers=bearer)
    assert NAME in on_site.text
    refused = admin.post(
        "/api/v1/invitations",
        headers=bearer,
        json={"site_id": site.id, "visitor_name": NAME, "email": EMAIL + "\u2028", "x": PHONE},
    )
    assert refused.status_code == 422
    assert leaks(refused.text) == []
    assert kiosk.post("/check-out", data={"code": code[1]}).status_code == 302

    # An access request: search, JSON, PDF, a correction.
    visit_id = session.scalar(select(Visit.id))
    assert visit_id is not None
    assert EMAIL in admin.post("/dashboard/requests", data={"name": NAME}).text
    assert (
        admin.post("/dashboard/requests/export.json", data={"visit": visit_id}).status_code == 200
    )
    assert admin.post("/dashboard/requests/export.pdf", data={"visit": visit_id}).status_code == 200
    admin.post(
        f"/dashboard/requests/visits/{visit_id}",
        data={"visitor_name": NAME, "email": EMAIL, "phone": PHONE, "company": "Co Ltd"},
    )
    admin.get("/dashboard/statistics")
    assert database_files_leaks(app) == []

    # A purge whose statistics step fails with the visitor's name in its message...
    class SpoolError(Exception):
        pass

    def failing_statistics(*_args: Any) -> None:
        raise SpoolError(f"could not count the visit of {NAME} <{EMAIL}>")

    clock.advance(timedelta(days=31))
    # A later visitor stays: the erased row shares its database page with a kept one.
    make_visit(site, "Kept Visitor", email="kept@example.com", phone="+46 8 000 00 00")
    count_statistics = erasure.add_to_daily_stats
    monkeypatch.setattr(erasure, "add_to_daily_stats", failing_statistics)
    failed = runner.invoke(main, ["purge"])
    assert failed.exit_code != 0
    assert "SpoolError" in failed.output
    # ...then one that succeeds.
    monkeypatch.setattr(erasure, "add_to_daily_stats", count_statistics)
    purged = runner.invoke(main, ["purge"])
    assert purged.exit_code == 0, purged.output
    assert "erased 1 visits" in purged.output
    admin = login(staff_user)  # a month later the earlier staff session has expired
    assert admin.get("/dashboard/retention").status_code == 200

    lines = every_log_record.lines
    assert any("purge run" in line for line in lines)  # the capture did capture
    assert any(line.startswith("sqlalchemy.engine") for line in lines)
    assert [line for line in lines if leaks(line)] == []
    assert leaks(failed.output + purged.output) == []

    assert database_leaks(get_database(app).engine) == []
    instance = Path(app.instance_path)
    if app.config["DATABASE_URL"].startswith("sqlite"):
        assert (instance / "kiosk.sqlite3").exists()  # the database file is searched too
    assert folder_leaks(instance) == []


@pytest.mark.slow
def test_served_cycle_leaves_no_trace_in_logs_database_or_instance_folder(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
):
    url = None if backend == "sqlite" else request.getfixturevalue("empty_database_url")
    instance = tmp_path / "instance"
    env = kiosk_env(instance, url)
    env["KIOSK_LOG_LEVEL"] = "DEBUG"
    run_kiosk(["db", "upgrade"], env)
    demo = run_kiosk(["demo"], env)
    database_url = url or f"sqlite:///{instance / 'kiosk.sqlite3'}"
    # The app's own engine settings (SQLite: secure_delete), as the server uses them.
    engine = make_engine(database_url)
    use_key_store(env, engine)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE sites SET field_email = 'optional', field_phone = 'optional'")
            )
        with running_server(env, workers=2) as base:
            visitor = WebClient(base, language="en")
            # Opened as the link `kiosk demo` prints: the code is in the query string.
            pairing_code = demo_pairing_code(demo)
            visitor.submit(f"/pair?code={pairing_code}", {"code": pairing_code})
            status, _page = visitor.submit(
                "/check-in",
                {"name": NAME, "email": EMAIL, "phone": PHONE, "host_query": DEMO_HOSTS[0][0]},
            )
            assert status == 200
            status, done = visitor.submit("/notice", {"read": "1"})
            code = re.search(r'class="badge-code">(\w+)<', done)
            assert code, done
            reception = WebClient(base)
            reception.submit(
                "/dashboard/login", {"username": "admin", "password": demo_password(demo)}
            )
            status, found = reception.submit("/dashboard/requests", {"email": EMAIL})
            assert NAME in found
            visit_id = re.search(r'name="visit" value="(\d+)"', found)
            assert visit_id
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', found)
            assert token
            status, _pdf = reception.request(
                "/dashboard/requests/export.json",
                {"csrf_token": token[1], "visit": visit_id[1]},
            )
            assert status == 200
            assert visitor.submit("/check-out", {"code": code[1]})[0] == 200
            # A path that decodes to a line break and a line of the client's own making.
            forged = WebClient(base).request("/x%0D%0A127.0.0.1%20-%20-%20FORGED%1B%5B31m")
            assert forged[0] == 404

        # Forty days pass: moved on the stored times, as the real clock cannot be.
        with Session(engine) as db_session:
            for visit in db_session.scalars(select(Visit)):
                visit.checked_in_at -= timedelta(days=40)
                if visit.checked_out_at is not None:
                    visit.checked_out_at -= timedelta(days=40)
            db_session.commit()
        output = run_kiosk(["purge"], env)
        assert f"{DEMO_SITE}: erased 1 visits" in output
    finally:
        engine.dispose()

    engine = make_engine(database_url)
    try:
        assert database_leaks(engine) == []
    finally:
        engine.dispose()
    serve_log = (instance / "serve.log").read_text()
    assert "POST /dashboard/requests" in serve_log  # the access log was written
    # No query string in the access log: the one-time pairing code of a link, for one.
    assert "GET /pair " in serve_log
    assert pairing_code not in serve_log
    # Each request is one line of the log, whatever its path decodes to.
    assert "GET /x\\r\\n127.0.0.1 - - FORGED\\x1b[31m HTTP/1.1" in serve_log
    assert not [line for line in serve_log.splitlines() if line.startswith("127.0.0.1 - - FORGED")]
    assert "\x1b" not in serve_log
    assert leaks(serve_log + output) == []
    assert folder_leaks(instance) == []


def database_files_leaks(app: Flask) -> list[str]:
    """The SQLite database file and its -wal and -shm files, read as bytes (nothing on
    PostgreSQL, whose files are the server's)."""
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        return []
    instance = Path(app.instance_path)
    files = [instance / f"kiosk.sqlite3{suffix}" for suffix in ("", "-wal", "-shm")]
    found = []
    for path in files:
        data = path.read_bytes() if path.exists() else b""
        found += [f"{path.name}: {secret}" for secret in SECRETS if secret.encode() in data]
    return found


def test_erasure_and_rectification_leave_no_old_value_in_the_write_ahead_log(
    app: Flask, session: Session, make_site: Any, make_visit: Any, make_staff: Any, login: Any
):
    """A data-subject request that erases or corrects a visit leaves no copy of the old values
    in the database's files: neither in free pages of the file (secure_delete) nor in the
    write-ahead log, which keeps every changed page until a checkpoint."""
    site = make_site()
    admin: FlaskClient = login(make_staff(role="admin"))
    make_visit(site, "Kept Visitor", email="kept@example.com")  # shares the database pages
    corrected = make_visit(site, NAME, email=EMAIL, phone=PHONE)
    # Sealed (kiosk.sealing): the files never hold the values as typed, not even before.
    assert database_files_leaks(app) == []
    assert database_leaks(get_database(app).engine) == []

    # Rectification: every personal field of one visit changes.
    response = admin.post(
        f"/dashboard/requests/visits/{corrected.id}",
        data={"visitor_name": "Other Person", "email": "other@example.org", "phone": "+46 8 1"},
    )
    assert response.status_code == 302, response.text
    session.expire_all()
    assert session.get(Visit, corrected.id).visitor_name == "Other Person"  # type: ignore[union-attr]
    session.commit()  # ends the test's own read transaction, as a finished request does
    assert database_leaks(get_database(app).engine) == []
    assert database_files_leaks(app) == []

    # Erasure of another visit of the person.
    erased_id = make_visit(site, NAME, email=EMAIL, phone=PHONE).id
    assert database_files_leaks(app) == []
    response = admin.post(
        "/dashboard/requests/erase",
        data={"visit": erased_id, "reason": "erasure", "confirm": "y", "submit": "1"},
    )
    assert response.status_code == 302, response.text
    assert session.scalar(select(Visit.id).where(Visit.id == erased_id)) is None
    session.commit()  # ends the test's own read transaction, as a finished request does

    assert database_leaks(get_database(app).engine) == []
    assert database_files_leaks(app) == []


def test_the_leak_checks_find_what_is_there(
    app: Flask, make_site: Any, make_visit: Any, tmp_path: Path
):
    """The searches above would see the visitor if anything were left."""
    visit = make_visit(make_site(), NAME, email=EMAIL)
    engine = get_database(app).engine
    assert database_leaks(engine) == []
    # A value written in plain (as before sealing) is found, in the table and in the file.
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE visits SET company = :name, phone = :phone WHERE id = :id"),
            {"name": NAME, "phone": PHONE, "id": visit.id},
        )
    assert database_leaks(engine) == ["visits.company", "visits.phone"]
    if app.config["DATABASE_URL"].startswith("sqlite"):
        assert database_files_leaks(app)  # the database's own files hold it now
        assert folder_leaks(Path(app.instance_path))
    files = tmp_path / "files"
    (files / "deep").mkdir(parents=True)
    (files / "deep" / "export.txt").write_text(f"call {PHONE}")
    (files / "names.txt").write_text(NAME.lower(), encoding="utf-16-le")
    assert folder_leaks(files) == [
        "export.txt: +46 70 913 57 24",
        "export.txt: 70 913 57 24",
        "names.txt: Zelda Quixotic-Nymark",
        "names.txt: Quixotic-Nymark",
        "names.txt: Quixotic",
        "names.txt: Nymark",
        "names.txt: Zelda",
    ]
    assert leaks(f"hello {NAME.upper()}") == [
        NAME,
        "Quixotic-Nymark",
        "Quixotic",
        "Nymark",
        "Zelda",
    ]


def test_a_visitor_type_kept_shorter_leaves_nothing_after_its_own_period(
    app: Flask,
    session: Session,
    make_site: Any,
    make_host: Any,
    pair: Any,
    runner: FlaskCliRunner,
    clock: FrozenClock,
):
    """Issue 15: a type kept 3 days at a site that keeps visits 30: after the type's period
    (and before the site's) nothing of its visitor is left in any table."""
    site = make_site(field_email="optional", field_phone="optional", retention_days=30)
    host = make_host(site, "Hanna Host")
    for position, (key, days) in enumerate((("guest", None), ("delivery", 3))):
        session.add(
            VisitorType(
                site_id=site.id,
                key=key,
                position=position,
                retention_days=days,
                created_at=clock.now(),
            )
        )
    session.commit()
    delivery = session.scalar(select(VisitorType).where(VisitorType.key == "delivery"))
    kiosk: FlaskClient = pair(site)
    kiosk.post("/language", data={"locale": "en"})
    kiosk.post("/check-in/type", data={"visitor_type": str(delivery.id)})
    kiosk.post(
        "/check-in",
        data={"name": NAME, "email": EMAIL, "phone": PHONE, "host_id": host.id, "company": "Co"},
    )
    kiosk.get("/notice")
    assert kiosk.post("/notice", data={"read": "1"}).headers["Location"] == "/done"
    code = re.search(r'class="badge-code">(\w+)<', kiosk.get("/done").text)
    assert code
    assert kiosk.post("/check-out", data={"code": code[1]}).status_code == 302
    assert database_leaks(get_database(app).engine) == []  # sealed while kept
    assert session.scalar(select(func.count()).select_from(Visit)) == 1

    clock.advance(timedelta(days=3) - timedelta(seconds=1))
    assert "erased 0 visits" in runner.invoke(main, ["purge"]).output
    clock.advance(timedelta(seconds=2))
    purged = runner.invoke(main, ["purge"])
    assert "erased 1 visits" in purged.output, purged.output
    assert database_leaks(get_database(app).engine) == []


def test_a_signed_document_kept_longer_than_its_visit_leaves_nothing_after_both(
    app: Flask,
    session: Session,
    make_site: Any,
    make_host: Any,
    pair: Any,
    runner: FlaskCliRunner,
    clock: FrozenClock,
):
    """Issue 15: a contractor's visit kept 3 days, the NDA they signed kept 10: after the
    visit's period the signed copy is all that is left; after its own, nothing."""
    from tests.documents_support import add_document, data_url, signature_png

    site = make_site(field_email="optional", field_phone="optional", retention_days=30)
    host = make_host(site, "Hanna Host")
    contractor = VisitorType(
        site_id=site.id, key="contractor", position=0, retention_days=3, created_at=clock.now()
    )
    session.add(contractor)
    session.commit()
    _nda, version = add_document(
        session, site, clock.now(), title="NDA", retention_days=10, signed_by=(contractor,)
    )
    kiosk: FlaskClient = pair(site)
    kiosk.post("/language", data={"locale": "en"})
    kiosk.post(
        "/check-in",
        data={"name": NAME, "email": EMAIL, "phone": PHONE, "host_id": host.id, "company": "Co"},
    )
    kiosk.get("/notice")
    assert kiosk.post("/notice", data={"read": "1"}).headers["Location"] == "/check-in/sign"
    kiosk.post(
        "/check-in/sign",
        data={"version": version.id, "signature": data_url(signature_png()), "sign": "1"},
    )
    assert kiosk.get("/check-in/sign").headers["Location"] == "/done"
    code = re.search(r'class="badge-code">(\w+)<', kiosk.get("/done").text)
    assert code
    assert kiosk.post("/check-out", data={"code": code[1]}).status_code == 302

    clock.advance(timedelta(days=3) + timedelta(seconds=1))
    purged = runner.invoke(main, ["purge"])
    assert "erased 1 visits" in purged.output, purged.output
    # The visit is gone; the signed NDA is not, yet: kept, readable through the app, and
    # sealed like everything else (its signer's name, email and the PDF that names them).
    session.expire_all()
    [kept] = session.scalars(select(SignedDocument)).all()
    assert (kept.visit_id, kept.signer_name, kept.signer_email) == (None, NAME, EMAIL)
    assert kept.pdf.startswith(b"%PDF-")
    assert database_leaks(get_database(app).engine) == []

    clock.advance(timedelta(days=7) - timedelta(seconds=2))
    assert "0 signed documents" in runner.invoke(main, ["purge"]).output
    clock.advance(timedelta(seconds=2))
    purged = runner.invoke(main, ["purge"])
    assert "1 signed documents" in purged.output, purged.output
    assert database_leaks(get_database(app).engine) == []


def test_a_group_leaves_nothing_after_its_period(
    app: Flask,
    session: Session,
    make_site: Any,
    make_host: Any,
    pair: Any,
    runner: FlaskCliRunner,
    clock: FrozenClock,
):
    """Issue 15, groups: a visitor and a companion (both with the tracked details) check in
    together; after the site's period nothing of either is left, nor their group."""
    site = make_site(field_email="optional", field_phone="optional", retention_days=2)
    host = make_host(site, "Hanna Host")
    kiosk: FlaskClient = pair(site)
    kiosk.post("/language", data={"locale": "en"})
    started = kiosk.post(
        "/check-in",
        data={"name": NAME, "email": EMAIL, "host_id": host.id, "with_others": "1"},
    )
    assert started.headers["Location"] == "/check-in/group"
    added = kiosk.post("/check-in/group/add", data={"name": "Yrsa Nymark", "phone": PHONE})
    assert added.status_code == 302
    kiosk.get("/notice")
    done = kiosk.post("/notice", data={"read": "1"})
    assert done.headers["Location"] == "/check-in/group/done"
    codes = re.findall(r'data-badge-code="(\w+)"', kiosk.get("/check-in/group/done").text)
    assert len(codes) == 2
    for code in codes:
        assert kiosk.post("/check-out", data={"code": code}).status_code == 302
    assert database_leaks(get_database(app).engine) == []  # sealed while kept
    assert session.scalar(text("SELECT count(*) FROM visits")) == 2

    clock.advance(timedelta(days=2, seconds=1))
    purged = runner.invoke(main, ["purge"])
    assert "erased 2 visits" in purged.output, purged.output
    assert database_leaks(get_database(app).engine) == []
    assert session.scalar(text("SELECT count(*) FROM visit_groups")) == 0
