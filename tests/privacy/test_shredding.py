"""Crypto-shredding end to end (docs/erasure.md): personal fields stored sealed, re-sealed at
check-out, the purge destroying the keys of passed days before it deletes rows, copies of the
database taken before the purge unreadable after it, and no visitor lost to a key before their
retention ends, even when the process is killed at the worst moments."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kiosk import sealing
from kiosk.clock import FrozenClock
from kiosk.db import get_database, make_engine
from kiosk.field_cipher import key_id_of
from kiosk.models import Invitation, PurgeRun, Visit, VisitorType
from kiosk.privacy.purge import PurgeSettings, run_purge
from kiosk.services.visits import check_out_visit
from tests.conftest import STAFF_PASSWORD, START
from tests.support import kiosk_env, require_tool

NAME = "Sigrid Shredwell"
EMAIL = "sigrid.shredwell@example.org"


def store(app: Flask) -> Any:
    return app.extensions["kiosk.key_store"]


def key_day(app: Flask, sealed: bytes) -> Any:
    return store(app).key(key_id_of(sealed)).erase_day


def raw_visit(session: Session, visit_id: int) -> Any:
    return session.execute(
        text(
            "SELECT visitor_name, email, visitor_name_sealed, email_sealed"
            " FROM visits WHERE id = :i"
        ),
        {"i": visit_id},
    ).one()


def purge(session: Session, clock: FrozenClock) -> PurgeRun:
    run = run_purge(session, clock=clock, trigger="cli", settings=PurgeSettings(batch_size=50))
    assert run is not None
    return run


def test_personal_fields_are_stored_sealed_and_read_plain(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=30, contact_retention_days=7, timezone="UTC")
    visit = make_visit(site, NAME, email=EMAIL)
    session.expire_all()
    row = raw_visit(session, visit.id)
    assert row.visitor_name == ""
    assert row.email is None
    assert NAME.encode() not in bytes(row.visitor_name_sealed)
    assert EMAIL.encode() not in bytes(row.email_sealed)
    # The visit is sealed under check-in day + retention, its contact under its own sooner day.
    today = clock.now().date()
    assert key_day(app, bytes(row.visitor_name_sealed)) == today + timedelta(days=30)
    assert key_day(app, bytes(row.email_sealed)) == today + timedelta(days=7)
    fresh = session.get(Visit, visit.id)
    assert fresh is not None
    assert (fresh.visitor_name, fresh.email) == (NAME, EMAIL)


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(
    session: Session, make_site: Any, make_visit: Any
):
    site = make_site()
    first = make_visit(site, NAME)
    second = make_visit(site, "Other Person")
    session.execute(
        text("UPDATE visits SET visitor_name_sealed = :s WHERE id = :i"),
        {"s": bytes(raw_visit(session, first.id).visitor_name_sealed), "i": second.id},
    )
    session.commit()
    session.expire_all()
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):
        _ = session.get(Visit, second.id).visitor_name  # type: ignore[union-attr]


def test_check_out_seals_again_under_the_check_out_day(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=30, timezone="UTC")
    visit = make_visit(site, NAME)
    before = bytes(raw_visit(session, visit.id).visitor_name_sealed)
    clock.advance(timedelta(days=3))
    assert check_out_visit(visit, now=clock.now())
    session.commit()
    after = bytes(raw_visit(session, visit.id).visitor_name_sealed)
    assert key_day(app, after) == clock.now().date() + timedelta(days=30)
    assert key_day(app, before) == clock.now().date() + timedelta(days=27)
    session.expire_all()
    assert session.get(Visit, visit.id).visitor_name == NAME  # type: ignore[union-attr]


def test_a_visit_checked_out_after_its_key_went_stays_erased(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """Check-out seals a visit's fields again under the check-out day. A visit whose key is
    already destroyed (restored from an older copy as still on site, or a crash between the
    purge's two steps) read its fields as the empty erased stand-in, and sealed that under
    a live key: the erased name became a kept blank one, shown and served as given empty."""
    site = make_site(retention_days=30, timezone="UTC")
    visit = make_visit(site, NAME, email=EMAIL)
    before = bytes(raw_visit(session, visit.id).visitor_name_sealed)
    store(app).destroy(site.id, through=clock.now().date() + timedelta(days=30), now=clock.now())
    session.expire_all()
    visit = session.get(Visit, visit.id)
    assert visit is not None
    clock.advance(timedelta(days=3))
    assert check_out_visit(visit, now=clock.now())
    session.commit()
    row = raw_visit(session, visit.id)
    assert bytes(row.visitor_name_sealed) == before  # not sealed again
    session.expire_all()
    again = session.get(Visit, visit.id)
    assert again is not None
    assert isinstance(again.visitor_name, sealing.ErasedText)
    assert isinstance(again.email, sealing.ErasedText)
    assert again.checked_out_at is not None


def test_an_erased_visits_badge_is_not_printed_blank(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    staff_client: Any,
    clock: FrozenClock,
):
    """Reception's reprint of a visit whose key is gone printed a badge with a blank name; the
    download answered 200 with it. Now the download is gone (410) and the reprint says why, in
    the reader's language, and records no print."""
    from kiosk.models import PrintJob

    site = make_site(retention_days=30, timezone="UTC", default_locale="sv")
    visit = make_visit(site, NAME)
    store(app).destroy(site.id, through=clock.now().date() + timedelta(days=30), now=clock.now())
    assert staff_client.get(f"/dashboard/visits/{visit.id}/badge.pdf").status_code == 410
    response = staff_client.post(
        f"/dashboard/visits/{visit.id}/reprint", headers={"Accept-Language": "sv"}
    )
    assert response.status_code == 302
    page = staff_client.get("/dashboard/", headers={"Accept-Language": "sv"}).text
    assert "det finns ingen bricka att skriva ut" in page
    assert session.scalars(select(PrintJob)).all() == []


def test_the_purge_destroys_the_passed_days_keys_and_records_them(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=30, timezone="UTC")
    old_id = make_visit(site, "Old Visitor", email=EMAIL).id
    old_key = key_id_of(bytes(raw_visit(session, old_id).visitor_name_sealed))
    clock.advance(timedelta(days=20))
    kept = make_visit(site, "Kept Visitor")
    clock.advance(timedelta(days=12))
    run = purge(session, clock)
    assert old_key.hex() in (run.destroyed_keys or [])
    assert store(app).key(old_key) is None  # destroyed, and known to be
    assert session.get(Visit, old_id) is None
    session.expire_all()
    assert session.get(Visit, kept.id).visitor_name == "Kept Visitor"  # type: ignore[union-attr]


@pytest.mark.parametrize("only", [(), ("--site", "North")], ids=["every-site", "one-site"])
def test_kiosk_purge_destroys_the_passed_keys_of_unfinished_check_ins(
    app: Flask,
    session: Session,
    runner: Any,
    make_site: Any,
    clock: FrozenClock,
    only: tuple[str, ...],
):
    """What a visitor typed before checking in is sealed under the keys of no site (one a UTC
    day, kiosk.sealing.NO_SITE). `kiosk purge`, which cron runs where the served app's own
    purge is off, deleted such rows and left their keys: a copy of the database taken before
    kept them readable for good. Every purge destroys the passed ones, with or without
    --site (the rows go in every run)."""
    from kiosk.cli import main
    from kiosk.models import SessionItem
    from kiosk.sealing import NO_SITE

    make_site(name="North", retention_days=30, timezone="UTC")
    session.add(
        SessionItem(
            token="u" * 32, name="pending_visit", value={"name": NAME}, updated_at=clock.now()
        )
    )
    session.commit()
    pending_keys = store(app).key_ids_through(NO_SITE, clock.now().date() + timedelta(days=30))
    assert len(pending_keys) == 1
    clock.advance(timedelta(days=2))
    result = runner.invoke(main, ["purge", *only])
    assert result.exit_code == 0, result.output
    assert session.scalar(select(SessionItem.token)) is None
    assert store(app).key(pending_keys[0]) is None  # destroyed, and known to be
    run = session.scalars(select(PurgeRun)).one()
    assert pending_keys[0].hex() in (run.destroyed_keys or [])


def test_a_row_kept_longer_is_sealed_again_before_its_key_goes(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=5, timezone="UTC")
    visit = make_visit(site, NAME)
    first_key = key_id_of(bytes(raw_visit(session, visit.id).visitor_name_sealed))
    site.retention_days = 60  # lengthened: the visit must now be kept 60 days
    session.commit()
    clock.advance(timedelta(days=10))
    run = purge(session, clock)
    assert first_key.hex() in (run.destroyed_keys or [])
    session.expire_all()
    assert session.get(Visit, visit.id).visitor_name == NAME  # type: ignore[union-attr]


def test_a_row_kept_longer_is_kept_when_the_purge_skips_the_rows_it_deletes(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """The purge does not read the rows it is about to delete to see whether they must be
    kept; a visit of no type, at a site with a type kept shorter (its condition is NULL for
    such a visit, not false), is still read, and kept."""
    site = make_site(retention_days=5, timezone="UTC")
    session.add(
        VisitorType(
            site_id=site.id, key="delivery", position=1, retention_days=1, created_at=clock.now()
        )
    )
    gone = make_visit(site, "Gone Visitor", checked_out_at=clock.now())
    kept = make_visit(site, NAME, checked_out_at=clock.now())
    gone_id, kept_id = gone.id, kept.id
    clock.advance(timedelta(days=6))  # Gone's retention has ended
    kept_key = key_id_of(bytes(raw_visit(session, kept_id).visitor_name_sealed))
    session.execute(
        text("UPDATE visits SET checked_out_at = :t WHERE id = :i"),
        {"t": clock.now() - timedelta(hours=1), "i": kept_id},
    )
    session.commit()  # the check-out corrected to an hour ago, in SQL: its key not moved
    session.expire_all()
    clock.advance(timedelta(days=1))
    run = purge(session, clock)
    assert kept_key.hex() in (run.destroyed_keys or [])
    session.expire_all()
    assert session.get(Visit, gone_id) is None
    assert session.get(Visit, kept_id).visitor_name == NAME  # type: ignore[union-attr]


def test_a_used_invitation_keeps_its_visits_day(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    make_invitation: Any,
    clock: FrozenClock,
):
    site = make_site(retention_days=10, timezone="UTC")
    invitation = make_invitation(site, NAME, expected_on=clock.now().date())
    visit = make_visit(site, NAME)
    invitation.visit_id = visit.id
    session.commit()
    clock.advance(timedelta(days=5))
    check_out_visit(visit, now=clock.now())
    session.commit()
    clock.advance(timedelta(days=8))  # the invitation's own day has passed, its visit's not
    purge(session, clock)
    session.expire_all()
    assert session.get(Invitation, invitation.id).visitor_name == NAME  # type: ignore[union-attr]


def _values_readable(url: str, app: Flask) -> dict[str, str]:
    """Every visitor name a copy of the database yields with the keys that remain."""
    engine = make_engine(url)
    sealing.register(engine, store(app))
    try:
        with Session(engine) as copy:
            return {str(v.id): v.visitor_name for v in copy.scalars(select(Visit))}
    finally:
        sealing.unregister(engine)
        engine.dispose()


def test_a_copy_taken_before_the_purge_yields_nothing_of_the_erased_after_it(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
):
    site = make_site(retention_days=30, timezone="UTC")
    make_visit(site, NAME, email=EMAIL)
    clock.advance(timedelta(days=20))
    make_visit(site, "Kept Visitor")
    clock.advance(timedelta(days=12))
    copy_url = _copy_of_database(app, backend, tmp_path, request)
    assert sorted(_values_readable(copy_url, app).values()) == ["Kept Visitor", NAME]

    purge(session, clock)

    # The copy still has the row; its name no longer decrypts (the key is gone), the kept one does.
    readable = sorted(_values_readable(copy_url, app).values())
    assert readable == ["", "Kept Visitor"]
    # And the copy's bytes hold no plaintext at all.
    if backend == "sqlite":
        data = (tmp_path / "copy.sqlite3").read_bytes()
        assert NAME.encode() not in data
        assert EMAIL.encode() not in data


def _copy_of_database(
    app: Flask, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> str:
    """A backup of the database as it is now (the SQLite file, or a pg_dump restored into a
    schema of its own); returns its URL."""
    if backend == "sqlite":
        source = Path(get_database(app).engine.url.database or "")
        with get_database(app).engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(source, tmp_path / "copy.sqlite3")
        return f"sqlite:///{tmp_path / 'copy.sqlite3'}"
    return _pg_dump_copy(app, tmp_path, request.getfixturevalue("postgres_schemas"))


def _pg_dump_copy(app: Flask, tmp_path: Path, schemas: Any) -> str:
    """pg_dump of the test's schema, restored into a schema of its own: a backup, dropped
    with the test run's other schemas (``schemas``: conftest's PostgresSchemas)."""
    url = app.config["DATABASE_URL"]
    schema = url.rsplit("search_path%3D", 1)[1]
    base = url.split("?", 1)[0].replace("postgresql+psycopg://", "postgresql://")
    dump = tmp_path / "dump.sql"
    pg_dump = require_tool("pg_dump", "postgresql-client")
    subprocess.run(
        [pg_dump, "--no-owner", "--schema", schema, "--file", str(dump), base],
        check=True,
        timeout=120,
    )
    copy_schema = schema + "_copy"
    schemas.adopt(copy_schema)
    sql = dump.read_text().replace(schema, copy_schema)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{copy_schema}" CASCADE')
    engine.dispose()
    subprocess.run(
        ["psql", "--quiet", "--set", "ON_ERROR_STOP=1", base],
        input=sql,
        text=True,
        check=True,
        timeout=120,
        capture_output=True,
    )
    return url.replace(f"search_path%3D{schema}", f"search_path%3D{copy_schema}")


KILL_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from kiosk import create_app
    from kiosk.db import get_session
    from kiosk.privacy import shredding
    from kiosk.privacy.purge import PurgeSettings, run_purge
    from kiosk.clock import FrozenClock
    from datetime import datetime

    marker = Path(sys.argv[2])
    clock = FrozenClock(datetime.fromisoformat(sys.argv[3]))
    app = create_app({"CLOCK": clock})

    def stop_here():
        marker.write_text("here")
        time.sleep(600)  # killed here by the test

    if sys.argv[1] == "purge":
        shredding.after_keys_destroyed = stop_here
        with app.app_context():
            run_purge(get_session(), clock=clock, trigger="cli", settings=PurgeSettings())
    else:
        from kiosk import sealing
        from kiosk.models import Site, Visit
        from kiosk.services.visits import new_badge_token, new_short_code
        original = sealing._key_for

        def key_then_stop(*args):
            key = original(*args)
            stop_here()
            return key

        sealing._key_for = key_then_stop
        with app.app_context():
            session = get_session()
            site = session.get(Site, int(sys.argv[4]))
            at = clock.now()
            session.add(Visit(site=site, visitor_name="Never Saved",
                              badge_token=new_badge_token(at), short_code=new_short_code(at),
                              locale="en", checked_in_at=at))
            session.commit()
    """
)


def _run_until_killed(args: list[str], env: dict[str, str], marker: Path) -> None:
    """Run KILL_SCRIPT until it reaches its kill point, then kill it there by its PID."""
    output = marker.with_suffix(".log")
    with output.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", KILL_SCRIPT, *args], env=env, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if process.poll() is not None:
                pytest.fail(f"exited before the kill point: {output.read_text()}")
            assert time.monotonic() < deadline, "never reached the kill point"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def test_killed_between_key_destruction_and_row_deletion_loses_nothing_kept(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    tmp_path: Path,
):
    site = make_site(retention_days=30, timezone="UTC")
    old_id = make_visit(site, "Expired Visitor").id
    clock.advance(timedelta(days=20))
    kept = make_visit(site, "Kept Visitor", email=EMAIL)
    clock.advance(timedelta(days=12))
    env = kiosk_env(tmp_path / "instance", app.config["DATABASE_URL"])
    marker = tmp_path / "killed-at"
    _run_until_killed(["purge", str(marker), clock.now().isoformat()], env, marker)

    store(app).forget_cache()
    session.expire_all()
    # The expired visit's key is gone but its row is still there: unreadable, past its date.
    assert session.get(Visit, old_id).visitor_name == sealing.ERASED  # type: ignore[union-attr]
    kept_visit = session.get(Visit, kept.id)
    assert kept_visit is not None
    assert (kept_visit.visitor_name, kept_visit.email) == ("Kept Visitor", EMAIL)
    # The next purge finishes the work.
    purge(session, clock)
    assert session.get(Visit, old_id) is None
    session.expire_all()
    assert session.get(Visit, kept.id).visitor_name == "Kept Visitor"  # type: ignore[union-attr]


def test_killed_between_key_creation_and_first_use_loses_nothing(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    tmp_path: Path,
):
    site = make_site(retention_days=30, timezone="UTC")
    earlier = make_visit(site, "Earlier Visitor")
    clock.advance(timedelta(days=1))  # a new day: the check-in below makes a new key
    live_before, _ = store(app).counts()
    env = kiosk_env(tmp_path / "instance", app.config["DATABASE_URL"])
    marker = tmp_path / "killed-at"
    _run_until_killed(["check-in", str(marker), clock.now().isoformat(), str(site.id)], env, marker)
    store(app).forget_cache()
    live_after, _ = store(app).counts()
    assert live_after == live_before + 1  # the key was made; the visit never committed
    session.expire_all()
    assert session.get(Visit, earlier.id).visitor_name == "Earlier Visitor"  # type: ignore[union-attr]
    # The next check-in of that day uses the key left behind, and reads back.
    later = make_visit(site, "Later Visitor")
    assert store(app).counts()[0] == live_after
    session.expire_all()
    assert session.get(Visit, later.id).visitor_name == "Later Visitor"  # type: ignore[union-attr]


def test_the_app_refuses_a_missing_store_or_a_wrong_master_key(
    app_config: dict[str, Any], tmp_path: Path
):
    from kiosk import create_app
    from kiosk.keystore import MasterKey

    if not app_config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("the instance key store is for SQLite only")
    # No KEY_STORE: the instance key store, made on first start (0600, in a 0700 folder).
    config = {**app_config, "KEY_STORE": None, "MASTER_KEY_FILE": None}
    first = create_app(config)
    keys = Path(first.instance_path) / "keys"
    assert first.extensions["kiosk.key_store_error"] is None
    assert (keys / "keys.sqlite3").stat().st_mode & 0o077 == 0
    with first.app_context():
        from kiosk.db import get_session
        from kiosk.models import SessionItem

        session = get_session()
        session.add(
            SessionItem(
                token="t" * 32, name="pending_visit", value={"name": NAME}, updated_at=START
            )
        )
        session.commit()
    get_database(first).engine.dispose()

    # The store is lost while the database holds sealed values: refused, never made anew.
    shutil.move(keys, tmp_path / "moved-keys")
    lost = create_app(config)
    assert lost.extensions["kiosk.key_store_error"] == "key_store_missing"
    assert lost.test_client().get("/").status_code == 503
    assert not (keys / "keys.sqlite3").exists()
    get_database(lost).engine.dispose()

    # A configured store with the wrong master key: refused.
    wrong = create_app(
        {**app_config, "MASTER_KEY_FILE": None, "MASTER_KEY": MasterKey.generate_text()}
    )
    assert wrong.extensions["kiosk.key_store_error"] == "wrong_master_key"
    get_database(wrong).engine.dispose()


def test_a_value_whose_key_is_gone_shows_as_erased_never_blank_or_an_error(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    staff_client: Any,
    clock: FrozenClock,
):
    """A crash between a key's destruction and its rows' deletion (or a database restored
    from an old copy) leaves rows nobody can read: staff see "(erased)", the signed copy's PDF
    is gone (410), the exports and the API answer without it; nothing is a 500."""
    from tests.documents_support import add_document

    site = make_site(retention_days=30, timezone="UTC", default_locale="en")
    visit = make_visit(site, NAME, email=EMAIL, company="Shred AB")
    _nda, version = add_document(session, site, clock.now(), title="NDA", retention_days=30)
    from kiosk.enums import DocumentAcceptance
    from kiosk.models import SignedDocument

    signed = SignedDocument(
        site_id=site.id,
        visit_id=visit.id,
        document_id=version.document_id,
        document_version_id=version.id,
        signer_name=NAME,
        accepted_by=DocumentAcceptance.TICK,
        signed_at=clock.now(),
        erase_after=clock.now() + timedelta(days=30),
        pdf=b"%PDF-1.4 signed",
    )
    session.add(signed)
    session.commit()
    store(app).destroy(site.id, through=clock.now().date() + timedelta(days=30), now=clock.now())
    session.expire_all()

    staff_client.post("/dashboard/history", data={"date_from": "2026-03-04", "host": 0})
    for url in ("/dashboard/", f"/dashboard/visits/{visit.id}", "/dashboard/history?page=1"):
        page = staff_client.get(url)
        assert page.status_code == 200, url
        assert "(erased)" in page.text, url
        assert NAME not in page.text
    assert staff_client.get(f"/dashboard/signed-documents/{signed.id}.pdf").status_code == 410
    swedish = staff_client.get(f"/dashboard/visits/{visit.id}", headers={"Accept-Language": "sv"})
    assert swedish.status_code == 200
    for export in ("/dashboard/evacuation.pdf", "/dashboard/evacuation.csv"):
        assert staff_client.get(export).status_code == 200, export
    # The CSV export is streamed: its rows are written after the view has returned, and the
    # word for an unreadable field is looked up then (it broke off after the header line).
    csv = staff_client.post(
        "/dashboard/export",
        data={"site": site.id, "date_from": "2026-03-01", "date_to": "2026-03-31"},
        headers={"Accept-Language": "sv"},
    )
    assert csv.status_code == 200
    rows = csv.get_data(as_text=True).splitlines()
    assert len(rows) == 2
    assert "(raderad)" in rows[1]
    assert visit.short_code in rows[1]
    erased = session.get(Visit, visit.id)
    assert erased is not None
    assert (erased.visitor_name, erased.company) == ("", "")  # false to the code


def test_rows_kept_from_before_sealing_are_sealed_in_resumable_batches(
    app: Flask, session: Session, make_site: Any, make_visit: Any, monkeypatch: pytest.MonkeyPatch
):
    """An upgraded database's kept rows (their fields still in the old columns) are sealed by
    ``kiosk db upgrade`` in batches; a run that dies half-way is finished by the next."""
    from kiosk.services import seal_existing

    site = make_site(timezone="UTC")
    ids = [make_visit(site, f"{NAME} {number}", email=EMAIL).id for number in range(5)]
    # As rows written before migration 0021: plain old columns, no ciphertext.
    session.execute(
        text(
            "UPDATE visits SET visitor_name = 'Plain ' || id, email = :email,"
            " visitor_name_sealed = NULL, email_sealed = NULL, company_sealed = NULL,"
            " phone_sealed = NULL, purpose_sealed = NULL"
        ),
        {"email": EMAIL},
    )
    session.commit()
    commits = 0
    real_commit = Session.commit

    def dies_after_two_batches(self: Session) -> None:
        nonlocal commits
        if self.dirty:  # a batch sealed (each batch's search commits too, with nothing)
            commits += 1
        if commits == 3:
            raise RuntimeError("killed")
        real_commit(self)

    monkeypatch.setattr(Session, "commit", dies_after_two_batches)
    with pytest.raises(RuntimeError, match="killed"):
        seal_existing.seal_existing_rows(session, batch=2)
    monkeypatch.setattr(Session, "commit", real_commit)
    session.rollback()
    left = session.scalar(text("SELECT count(*) FROM visits WHERE visitor_name <> ''"))
    assert left == 1  # two batches of two sealed, the third lost with the process
    assert seal_existing.seal_existing_rows(session, batch=2) == {"visits": 1}
    assert seal_existing.seal_existing_rows(session, batch=2) == {}
    rows = session.execute(text("SELECT visitor_name, email, email_sealed FROM visits")).all()
    assert all(row.visitor_name == "" and row.email is None for row in rows)
    assert all(EMAIL.encode() not in bytes(row.email_sealed) for row in rows)
    session.expire_all()
    names = sorted(visit.visitor_name for visit in session.scalars(select(Visit)))
    assert names == sorted(f"Plain {visit_id}" for visit_id in ids)


def test_a_key_store_replaced_by_an_older_copy_is_noticed_at_start(
    app: Flask,
    app_config: dict[str, Any],
    session: Session,
    make_site: Any,
    make_visit: Any,
    make_staff: Any,
    clock: FrozenClock,
    tmp_path: Path,
):
    """A key store restored from an older copy lacks the keys made since: the data sealed
    under them cannot be read. The app says so at start (a log line, the Retention page in
    red) and ``kiosk keys check`` fails, instead of it surfacing as "(erased)" one by one."""
    import sqlite3

    from kiosk import create_app
    from kiosk.cli import main
    from kiosk.key_setup import lost_key_ids

    site = make_site(retention_days=30, timezone="UTC")
    make_visit(site, NAME)
    store_file = Path(app_config["KEY_STORE"].removeprefix("sqlite:///"))
    older = tmp_path / "older-keys.sqlite3"
    with sqlite3.connect(store_file) as source, sqlite3.connect(older) as copy:
        source.backup(copy)
    assert lost_key_ids(get_database(app).engine, store(app)) == 0
    clock.advance(timedelta(days=3))
    newer = make_visit(site, "Newer Visitor")  # under a key the older copy never had
    # The server restarted on the older copy of its store (as if restored from a backup).
    restarted = create_app({**app_config, "KEY_STORE": f"sqlite:///{older}"})
    try:
        assert restarted.extensions["kiosk.keys_lost"] == 1
        staff = make_staff(role="admin")
        client = restarted.test_client()
        client.post(
            "/dashboard/login",
            data={"username": staff.username, "password": STAFF_PASSWORD},
        )
        page = client.get("/dashboard/retention").text
        assert "The key store lacks 1 key that recent visitor data is encrypted with" in page
        assert 'class="warning critical"' in page
        # Every other page tells an admin too, pointing to the Retention page; reception
        # staff, who cannot act on it, are not told.
        banner = "Some visitor data cannot be read: the key store lacks keys"
        # The page still serves: the visitor under the missing key reads "(unreadable)", the
        # one under a key the copy has reads in full.
        home = client.get("/dashboard/")
        assert home.status_code == 200
        assert banner in home.text
        assert "(unreadable)" in home.text
        assert NAME in home.text
        # Checked out meanwhile (its fields move to a later day's key): the name read without
        # its key is not sealed again as the empty stand-in, so the right store still reads it.
        session.expire_all()
        sealed_name = bytes(newer.visitor_name_sealed)
        assert newer.visitor_name == ""
        check_out_visit(newer, now=clock.now() + timedelta(days=1))
        session.commit()
        assert bytes(newer.visitor_name_sealed) == sealed_name
        assert newer.checked_out_at is not None
        reception = make_staff(role="reception")
        other = restarted.test_client()
        other.post(
            "/dashboard/login",
            data={"username": reception.username, "password": STAFF_PASSWORD},
        )
        assert other.get("/dashboard/").status_code == 200
        assert banner not in other.get("/dashboard/").text
        checked = restarted.test_cli_runner().invoke(main, ["keys", "check"])
        assert checked.exit_code != 0
        assert "1 key ids named by recent rows are missing" in checked.output
    finally:
        get_database(restarted).engine.dispose()
        restarted.extensions["kiosk.key_store"].close()
        sealing.register(get_database(app).engine, store(app))  # the fixture's app again
    session.expire_all()
    assert newer.visitor_name == "Newer Visitor"


def test_a_shortened_retention_reaches_old_copies_at_once(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    staff_client: Any,
    clock: FrozenClock,
):
    """Retention shortened from 30 days to 2 on the site's page: the site's rows are sealed
    again under the earlier day's key and the keys no row uses any more are destroyed, so a
    copy of the database taken before the change can no longer read them; the live rows still
    read. Lengthening again changes nothing at once."""
    from tests.privacy.test_first_layer import site_form

    site = make_site(retention_days=30, timezone="UTC")
    visit = make_visit(site, NAME, email=EMAIL, checked_out_at=clock.now())
    old_copy = raw_visit(session, visit.id)  # what a backup taken now holds
    old_key = key_id_of(bytes(old_copy.visitor_name_sealed))
    assert key_day(app, bytes(old_copy.visitor_name_sealed)) == clock.now().date() + timedelta(30)

    url = f"/dashboard/admin/sites/{site.id}"
    assert staff_client.post(url, data=site_form(site, retention_days=2)).status_code == 302
    session.expire_all()
    # The old copy's key is gone; the live row is under the day two days on, and reads.
    assert store(app).key(old_key) is None
    live = raw_visit(session, visit.id)
    live_key = key_id_of(bytes(live.visitor_name_sealed))
    assert key_day(app, bytes(live.visitor_name_sealed)) == clock.now().date() + timedelta(2)
    fresh = session.get(Visit, visit.id)
    assert fresh is not None
    assert (fresh.visitor_name, fresh.email) == (NAME, EMAIL)

    # Lengthened again: nothing moves at once (the purge moves rows before their key goes).
    assert staff_client.post(url, data=site_form(site, retention_days=30)).status_code == 302
    session.expire_all()
    assert key_id_of(bytes(raw_visit(session, visit.id).visitor_name_sealed)) == live_key


def test_a_visitor_type_kept_shorter_reaches_old_copies_at_once(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    staff_client: Any,
    clock: FrozenClock,
):
    from kiosk.models import VisitorType

    site = make_site(retention_days=30, timezone="UTC")
    staff_client.post(f"/dashboard/admin/sites/{site.id}/types/new", data={"name_en": "Courier"})
    courier = session.scalars(select(VisitorType).where(VisitorType.site_id == site.id)).one()
    visit = make_visit(site, NAME, visitor_type_id=courier.id, checked_out_at=clock.now())
    old_key = key_id_of(bytes(raw_visit(session, visit.id).visitor_name_sealed))
    saved = staff_client.post(
        f"/dashboard/admin/types/{courier.id}",
        data={"name_en": "Courier", "field_host": "", "retention_days": "3"},
    )
    assert saved.status_code == 302, saved.text
    # The row moves to the earlier day's key at once. Its old key stays: the site's other
    # visitors of today are still sealed under it (keys are per site and day), so old copies
    # forget this one when the site's own period for today ends (docs/erasure.md).
    assert store(app).key(old_key) is not None
    session.expire_all()
    live = raw_visit(session, visit.id)
    assert key_day(app, bytes(live.visitor_name_sealed)) == clock.now().date() + timedelta(3)
    assert session.get(Visit, visit.id).visitor_name == NAME  # type: ignore[union-attr]


def test_a_restored_copy_brings_back_nobody_erased_by_request(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """An erasure by request puts the rows' random row keys (never names) on the key store's
    erasure list, so rows that a database restored from an older copy brings back are erased
    again by the next purge; the list forgets each entry once its rows' keys are gone."""
    from sqlalchemy import insert

    from kiosk.models import Visit as VisitModel
    from kiosk.privacy.requests import erase_person

    site = make_site(retention_days=30, timezone="UTC")
    visit = make_visit(site, NAME, email=EMAIL, checked_out_at=clock.now())
    kept_id = make_visit(site, "Kept Visitor", checked_out_at=clock.now()).id
    visit_id = visit.id
    table = VisitModel.__table__
    backup = dict(session.execute(select(table).where(table.c.id == visit_id)).one()._mapping)
    erase_person(session, [visit], [], now=clock.now())
    session.commit()
    assert store(app).erased_row_keys() == {bytes(backup["row_key"])}
    assert "Kept" not in str(store(app).erased_row_keys())

    # The database restored from the copy: the erased visit is back, readable.
    session.execute(insert(table).values(**backup))
    session.commit()
    assert session.get(VisitModel, visit_id).visitor_name == NAME  # type: ignore[union-attr]
    run = purge(session, clock)
    assert run.visits_erased == 0  # nothing expired: the list did it
    session.expire_all()
    assert session.get(VisitModel, visit_id) is None
    assert session.get(VisitModel, kept_id) is not None
    # Past the rows' erase day (their key destroyed): the entry is forgotten.
    clock.advance(timedelta(days=40))
    purge(session, clock)
    assert store(app).erased_row_keys() == set()


@pytest.mark.parametrize("way", ["erasure", "correction"])
def test_a_request_reaches_copies_taken_before_it_within_minutes(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    way: str,
):
    """An erasure or a correction by request replaces the keys the person's values were sealed
    under; once every worker has stopped sealing under them, the scheduler's job seals the
    day's other rows again under the new keys and destroys the old: a backup taken before the
    request yields nothing of that day any more, while the live rows all read and are found."""
    from kiosk.privacy.requests import erase_person, rectify_visit
    from kiosk.privacy.schedule import ReplacedKeyShredder
    from kiosk.privacy.shredding import REPLACED_KEY_SETTLE
    from kiosk.services.daily import HistoryQuery, search_history

    site = make_site(retention_days=30, timezone="UTC")
    visit = make_visit(site, NAME, email=EMAIL, checked_out_at=clock.now())
    kept = make_visit(site, "Kept Visitor", email="kept@example.org", checked_out_at=clock.now())
    old_key = key_id_of(bytes(raw_visit(session, visit.id).visitor_name_sealed))
    assert key_id_of(bytes(raw_visit(session, kept.id).visitor_name_sealed)) == old_key
    copy_url = _copy_of_database(app, backend, tmp_path, request)

    if way == "erasure":
        erase_person(session, [visit], [], now=clock.now())
        expected = {"Kept Visitor", "New Visitor"}
    else:
        rectify_visit(visit, {"visitor_name": "Sigrid Corrected"}, now=clock.now())
        expected = {"Kept Visitor", "New Visitor", "Sigrid Corrected"}
    session.commit()
    newcomer = make_visit(site, "New Visitor", checked_out_at=clock.now())
    new_key = key_id_of(bytes(raw_visit(session, newcomer.id).visitor_name_sealed))
    assert new_key != old_key  # the day's values are sealed under its new key from now

    # Another worker may still seal under the old key for CACHE_SECONDS: it is kept till then.
    shredder = ReplacedKeyShredder(app)
    clock.advance(REPLACED_KEY_SETTLE - timedelta(seconds=1))
    assert shredder.tick() == 0
    assert NAME in _values_readable(copy_url, app).values()
    clock.advance(timedelta(seconds=1))
    assert shredder.tick() == 1
    assert store(app).key(old_key) is None
    assert shredder.tick() == 0

    assert set(_values_readable(copy_url, app).values()) == {""}
    session.expire_all()
    assert {row.visitor_name for row in session.scalars(select(Visit))} == expected
    assert session.get(Visit, kept.id).email == "kept@example.org"  # type: ignore[union-attr]
    for row in session.scalars(select(Visit)):
        assert key_id_of(bytes(raw_visit(session, row.id).visitor_name_sealed)) == new_key
    page = search_history(session, HistoryQuery(site_ids=(site.id,), name="kept"))
    assert [row.visitor_name for row in page.visits] == ["Kept Visitor"]
    if backend == "sqlite":
        data = (tmp_path / "copy.sqlite3").read_bytes()
        assert NAME.encode() not in data
        assert EMAIL.encode() not in data


def test_the_daily_purge_destroys_replaced_keys_and_records_them(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """The purge does the scheduler job's work too (a server whose jobs did not run), and
    records the replaced keys it destroyed with the passed days'."""
    from kiosk.privacy.requests import erase_person
    from kiosk.privacy.shredding import REPLACED_KEY_SETTLE

    site = make_site(retention_days=30, timezone="UTC")
    visit = make_visit(site, NAME, email=EMAIL, checked_out_at=clock.now())
    kept = make_visit(site, "Kept Visitor", checked_out_at=clock.now())
    old_key = key_id_of(bytes(raw_visit(session, visit.id).visitor_name_sealed))
    erase_person(session, [visit], [], now=clock.now())
    session.commit()
    assert purge(session, clock).destroyed_keys in (None, [])  # not settled yet
    assert store(app).key(old_key) is not None
    clock.advance(REPLACED_KEY_SETTLE)
    run = purge(session, clock)
    assert run.destroyed_keys == [old_key.hex()]
    assert store(app).key(old_key) is None
    session.expire_all()
    assert session.get(Visit, kept.id).visitor_name == "Kept Visitor"  # type: ignore[union-attr]


def test_a_column_unsealed_in_one_pass_reads_as_each_value_alone(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """``unseal_many`` (reception's lists) gives for each row what ``unseal_column`` and the
    attribute give: the value, the old plaintext column of a row from before sealing, None,
    "(erased)" once the key is gone, and the "unreadable" stand-in for a key the store never
    had; a key shared by many rows is looked up once."""
    from kiosk.field_cipher import HEADER_BYTES, KEY_ID_BYTES

    kept, erased_site = make_site(name="Kept", timezone="UTC"), make_site(name="Gone")
    sealed = make_visit(kept, NAME, company="Shred AB")
    no_company = make_visit(kept, "Nils Nocompany")
    legacy = make_visit(kept, "Lars Legacy", company="Old AB")
    lost = make_visit(kept, "Lotta Lostkey", company="Lost AB")
    erased = make_visit(erased_site, "Erik Erased", company="Erased AB")
    session.execute(
        text(
            "UPDATE visits SET visitor_name_sealed = NULL, company_sealed = NULL,"
            " visitor_name = 'Lars Legacy', company = 'Old AB' WHERE id = :i"
        ),
        {"i": legacy.id},
    )
    lost_value = bytes(raw_visit(session, lost.id).visitor_name_sealed)
    unknown_key = lost_value[:1] + os.urandom(KEY_ID_BYTES) + lost_value[1 + KEY_ID_BYTES :]
    assert len(unknown_key) > HEADER_BYTES
    session.execute(
        text("UPDATE visits SET visitor_name_sealed = :s WHERE id = :i"),
        {"s": unknown_key, "i": lost.id},
    )
    session.commit()
    store(app).destroy(
        erased_site.id, through=clock.now().date() + timedelta(days=400), now=clock.now()
    )
    ids = [sealed.id, no_company.id, legacy.id, lost.id, erased.id]
    rows = session.execute(
        select(
            Visit.row_key,
            Visit.visitor_name_sealed,
            Visit.legacy_visitor_name,
            Visit.company_sealed,
            Visit.legacy_company,
        )
        .where(Visit.id.in_(ids))
        .order_by(Visit.id)
    ).all()
    key_store = store(app)
    lookups = []
    key = key_store.key
    key_store.key = lambda key_id: lookups.append(key_id) or key(key_id)
    try:
        names = Visit.visitor_name.unseal_many(key_store, [(r[1], r[0], r[2]) for r in rows])
        companies = Visit.company.unseal_many(key_store, [(r[3], r[0], r[4]) for r in rows])
    finally:
        del key_store.key
    assert names == [Visit.visitor_name.unseal_column(key_store, r[1], r[0], r[2]) for r in rows]
    assert companies == [Visit.company.unseal_column(key_store, r[3], r[0], r[4]) for r in rows]
    assert names == [NAME, "Nils Nocompany", "Lars Legacy", sealing.UNREADABLE, sealing.ERASED]
    assert companies == ["Shred AB", None, "Old AB", "Lost AB", sealing.ERASED]
    assert isinstance(names[4], sealing.ErasedText)
    # Each column looks each key up once: the names the kept site's key (three rows), the
    # unknown one and the erased site's; the companies the kept site's and the erased site's.
    assert len(lookups) == 3 + 2
    assert len(set(lookups)) == 3
    session.expire_all()
    read = [session.get(Visit, visit_id) for visit_id in ids]
    assert [visit.visitor_name for visit in read if visit] == names


def check_out_after_first_search(
    app: Flask, session: Session, visit_id: int, clock: FrozenClock
) -> list[bool]:
    """Check the visit out from another session (reception's button in another worker) right
    after ``session``'s first search of visits has run; returns a list that says it did."""
    from sqlalchemy import event

    fired: list[bool] = []

    @event.listens_for(session, "do_orm_execute")
    def check_out_meanwhile(state: Any) -> Any:
        if fired or not state.is_select or state.all_mappers[:1] != [Visit.__mapper__]:
            return None
        fired.append(True)
        result = state.invoke_statement()  # the rows, found
        other = get_database(app).sessionmaker()
        if other.get_bind().dialect.name == "postgresql":
            # Fail fast, not wait for good, on a lock this thread holds (fired too late).
            other.execute(text("SET LOCAL lock_timeout = '5s'"))
        visit = other.get(Visit, visit_id)
        assert visit is not None
        check_out_visit(visit, now=clock.now())
        other.commit()
        other.close()
        return result

    return fired


def test_a_check_out_while_the_job_seals_a_replaced_keys_rows_keeps_its_later_day(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """The job finds the rows under a replaced key without a lock, and a visitor of that day
    checks out on a later day in between (reception's button, another worker): the job reads
    the row again under the lock, so the name stays under the check-out's later day, not
    sealed back under the check-in's (which the purge would destroy a day early)."""

    from kiosk.privacy.requests import erase_person
    from kiosk.privacy.shredding import REPLACED_KEY_SETTLE, shred_replaced_keys

    site = make_site(retention_days=30, timezone="UTC")
    erased = make_visit(site, NAME, email=EMAIL, checked_out_at=clock.now())
    on_site = make_visit(site, "Otto Onsite")
    checked_in_day = clock.now().date()
    erase_person(session, [erased], [], now=clock.now())
    session.commit()
    clock.advance(timedelta(days=1))
    job = get_database(app).sessionmaker()
    fired = check_out_after_first_search(app, job, on_site.id, clock)

    try:
        shred_replaced_keys(job, now=clock.now() + REPLACED_KEY_SETTLE)
        job.commit()
    finally:
        job.close()
    assert fired
    session.expire_all()
    row = raw_visit(session, on_site.id)
    assert key_day(app, bytes(row.visitor_name_sealed)) == checked_in_day + timedelta(days=31)
    assert session.get(Visit, on_site.id).visitor_name == "Otto Onsite"  # type: ignore[union-attr]


def test_a_check_out_while_a_shortened_retention_moves_the_rows_keeps_its_later_day(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """As above, for the rows a shortened retention seals again under earlier days."""

    from kiosk.models import Site
    from kiosk.privacy.shredding import reseal_site_after_shortening

    site = make_site(retention_days=30, timezone="UTC")
    on_site = make_visit(site, "Otto Onsite")
    checked_in_day = clock.now().date()
    clock.advance(timedelta(days=1))
    site.retention_days = 2
    session.commit()
    saving = get_database(app).sessionmaker()
    fired = check_out_after_first_search(app, saving, on_site.id, clock)

    try:
        shortened = saving.get(Site, site.id)
        assert shortened is not None
        reseal_site_after_shortening(saving, shortened, now=clock.now())
    finally:
        saving.close()
    assert fired
    session.expire_all()
    row = raw_visit(session, on_site.id)
    # Checked out a day after check-in, kept two days: three days after the check-in's day.
    assert key_day(app, bytes(row.visitor_name_sealed)) == checked_in_day + timedelta(days=3)
    assert session.get(Visit, on_site.id).visitor_name == "Otto Onsite"  # type: ignore[union-attr]


def test_the_purge_reads_the_keys_it_destroys_no_more(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """A batch of a small site's visits spans many days. The purge destroys their keys first
    and then deletes the rows, asking about each row's key: known destroyed, not read from the
    key store again, one connection each, while the batch held SQLite's write lock (a batch
    over 360 days held it 0.5 s; bench/README.md, "A batch over many days")."""
    from sqlalchemy import event

    site = make_site(retention_days=30, timezone="UTC")
    days = 40
    visit_ids = []
    for day in range(days):
        visit_ids.append(make_visit(site, f"Daily Visitor {day}").id)
        clock.advance(timedelta(days=1))
    clock.advance(timedelta(days=40))
    opened: list[int] = []
    event.listen(store(app).engine, "connect", lambda *_args: opened.append(1))
    run = purge(session, clock)
    assert len(run.destroyed_keys or []) == days
    assert all(session.get(Visit, visit_id) is None for visit_id in visit_ids)
    assert len(opened) < 10


def test_an_erasure_over_many_days_reads_their_keys_at_once(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """One person's visits over forty days, erased by request in a worker that has not read
    those days' keys: read in one go to make the index rows to delete, not one by one."""
    from sqlalchemy import event

    from kiosk.privacy.erasure import erase_visits

    site = make_site(retention_days=400, timezone="UTC")
    visit_ids = []
    for _day in range(40):
        visit_ids.append(make_visit(site, "Frequent Visitor").id)
        clock.advance(timedelta(days=1))
    store(app).forget_cache()
    opened: list[int] = []
    event.listen(store(app).engine, "connect", lambda *_args: opened.append(1))
    erased = erase_visits(session, visit_ids)
    session.commit()
    assert sum(erased.visits.values()) == 40
    assert len(opened) < 5
    left = session.scalar(text("SELECT count(*) FROM visit_name_tokens"))
    assert left == 0
