"""`kiosk purge` from the command line, a purge while kiosk check-ins continue, and two purge
processes at once — on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
import subprocess
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session

from kiosk.cli import main
from kiosk.clock import FrozenClock, SystemClock
from kiosk.db import get_database
from kiosk.models import PurgeRun, Site, SiteDailyStats, Visit
from kiosk.privacy import purge as purge_module
from kiosk.privacy.purge import PurgeSettings, run_purge
from kiosk.sealing import sealed_values
from kiosk.services.visits import VisitorDetails, new_badge_token, new_short_code, register_visit
from tests.support import VENV_BIN, kiosk_env


def add_visits(session: Session, site: Site, count: int, **fields: Any) -> None:
    """Many visits at once, faster than the ORM."""
    # Random codes collide now and then among thousands (31^6 of them): draw until unique.
    codes = set(session.scalars(select(Visit.short_code).where(Visit.site_id == site.id)))
    checked_in_at = fields["checked_in_at"]
    fresh: list[str] = []
    while len(fresh) < count:
        code = new_short_code(checked_in_at)
        if code not in codes:
            codes.add(code)
            fresh.append(code)
    session.execute(
        insert(Visit),
        [
            sealed_values(
                session,
                Visit,
                {
                    "site_id": site.id,
                    "visitor_name": f"Bulk Visitor {number}",
                    "badge_token": new_badge_token(checked_in_at),
                    "short_code": code,
                    "locale": "en",
                    **fields,
                },
            )
            for number, code in enumerate(fresh)
        ],
    )
    session.commit()


def test_cli_purge_prints_per_site_counts(
    runner: FlaskCliRunner, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    north = make_site(name="North", retention_days=1, timezone="Europe/Stockholm")
    south = make_site(name="South", retention_days=10)
    make_visit(north, "North Visitor")
    make_visit(north, "Another North")
    make_visit(south, "South Visitor")
    clock.advance(timedelta(days=2))

    dry = runner.invoke(main, ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "North: would erase 2 visits, 0 invitations, contact details of 0" in dry.output
    assert "(visits that ended by 2026-03-05 09:00 CET)" in dry.output
    assert "South: would erase 0 visits" in dry.output
    assert session.scalar(select(func.count()).select_from(Visit)) == 3
    assert session.scalar(select(func.count()).select_from(PurgeRun)) == 0

    result = runner.invoke(main, ["purge", "--site", "South"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        "South: erased 0 visits, 0 invitations, contact details of 0, 0 signed documents "
        "(visits that ended by 2026-02-24 09:00 CET)"
    ]
    result = runner.invoke(main, ["purge"])
    assert "North: erased 2 visits" in result.output
    assert "South: erased 0 visits" in result.output
    assert "Visitor" not in result.output
    assert session.scalar(select(func.count()).select_from(Visit)) == 1
    assert [run.trigger for run in session.scalars(select(PurgeRun))] == ["cli", "cli"]

    unknown = runner.invoke(main, ["purge", "--site", "Nowhere"])
    assert unknown.exit_code != 0
    assert "no site named 'Nowhere'" in unknown.output


def test_purge_while_check_ins_continue(
    app: Flask,
    session: Session,
    make_site: Any,
    shown_notice: Any,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
):
    site = make_site(retention_days=1)
    notice_id = shown_notice(site)
    add_visits(session, site, 1500, checked_in_at=clock.now())
    clock.advance(timedelta(days=2))
    committed = threading.Event()
    finished = threading.Event()
    checked_in: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def check_ins() -> None:
        kiosk_session = get_database(app).sessionmaker()
        kiosk_site = kiosk_session.get(Site, site.id)
        assert kiosk_site is not None
        number = 0
        # Keep checking in until the purge is over, and a few more after that.
        while (not finished.is_set() or number < 5) and number < 5000:
            try:
                visit = register_visit(
                    kiosk_session,
                    kiosk_site,
                    VisitorDetails(name=f"Live Visitor {number}"),
                    locale="en",
                    notice_id=notice_id,
                    now=clock.now(),
                )
                kiosk_session.commit()
            except Exception as exc:  # noqa: BLE001 - any failure is the test's finding
                errors.append(exc)
                kiosk_session.rollback()
                break
            checked_in.append((visit.id, not finished.is_set()))
            committed.set()
            number += 1
        kiosk_session.close()

    postgresql = session.get_bind().dialect.name == "postgresql"

    def pause(_seconds: float) -> None:
        # SQLite: between batches the purge holds no lock: wait until a check-in got through.
        assert not postgresql, "the purge paused on PostgreSQL"
        committed.clear()
        assert committed.wait(10), "no check-in between two purge batches"

    monkeypatch.setattr("kiosk.privacy.purge.pause", pause)
    if postgresql:
        # PostgreSQL: a check-in commits while a batch's transaction holds its rows.
        erase_visit_rows = purge_module.erase_visit_rows

        def erase_and_wait(*args: Any) -> Any:
            erased = erase_visit_rows(*args)
            committed.clear()
            assert committed.wait(10), "no check-in while a purge batch was open"
            return erased

        monkeypatch.setattr(purge_module, "erase_visit_rows", erase_and_wait)
    thread = threading.Thread(target=check_ins)
    thread.start()
    try:
        run = run_purge(
            session,
            clock=clock,
            trigger="cli",
            settings=PurgeSettings(batch_size=50, pause_seconds=0.001),
        )
    finally:
        finished.set()
        thread.join(30)
    assert not errors, errors
    assert run is not None
    assert run.visits_erased == 1500
    # A check-in landed between every two of the 30 batches (SQLite), or during each
    # (PostgreSQL).
    assert sum(during for _id, during in checked_in) >= 30
    session.expire_all()
    kept = set(session.scalars(select(Visit.id)))
    assert kept == {visit_id for visit_id, _during in checked_in}
    stats = session.get(SiteDailyStats, (site.id, date(2026, 3, 4)))
    assert stats is not None
    assert stats.visits == 1500


@pytest.mark.slow
def test_two_purge_processes_at_once_erase_everything_once(
    app: Flask, session: Session, make_site: Any, tmp_path: Path
):
    site = make_site(retention_days=1, timezone="UTC")
    long_ago = SystemClock().now() - timedelta(days=10)
    add_visits(session, site, 3000, checked_in_at=long_ago)
    env = kiosk_env(tmp_path / "instance", app.config["DATABASE_URL"])
    env["KIOSK_PURGE_BATCH_SIZE"] = "25"
    env["KIOSK_PURGE_PAUSE_MS"] = "2"
    processes = [
        subprocess.Popen(
            [str(VENV_BIN / "kiosk"), "purge"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for process in processes:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output
        outputs.append(output)
    erased = 0
    for output in outputs:
        if "did nothing" in output:
            continue
        (line,) = output.strip().splitlines()
        erased += int(line.split("erased ")[1].split(" visits")[0])
    assert erased == 3000, outputs
    assert session.scalar(select(func.count()).select_from(Visit)) == 0
    total = session.scalar(select(func.sum(SiteDailyStats.visits)))
    assert total == 3000
    runs = session.scalars(select(PurgeRun)).all()
    assert all(run.status == "succeeded" for run in runs)
    assert sum(run.visits_erased for run in runs) == 3000


def test_two_purges_in_threads_never_count_a_visit_twice(
    app: Flask, session: Session, make_site: Any, clock: FrozenClock
):
    site = make_site(retention_days=1)
    add_visits(session, site, 600, checked_in_at=clock.now())
    clock.advance(timedelta(days=2))
    results: list[PurgeRun | None] = []

    def purge_once() -> None:
        own = get_database(app).sessionmaker()
        try:
            results.append(
                run_purge(
                    own,
                    clock=clock,
                    trigger="cli",
                    settings=PurgeSettings(batch_size=20, pause_seconds=0.001),
                )
            )
        finally:
            own.close()

    threads = [threading.Thread(target=purge_once) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ran = [run for run in results if run is not None]
    assert len(results) == 3
    assert sum(run.visits_erased for run in ran) == 600
    assert session.scalar(select(func.sum(SiteDailyStats.visits))) == 600


def test_the_cycle_collector_never_runs_inside_a_batch(
    session: Session, make_site: Any, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
):
    """A full pass of Python's cycle collector took 110-130 ms in a process that has loaded
    the app; falling inside a batch it held SQLite's write lock, and a check-in, that much
    longer. Each batch's transaction (visits and blind-index rows) runs with the collector
    held off, and it is on again after, and after the purge."""
    site = make_site(retention_days=1)
    add_visits(session, site, 30, checked_in_at=clock.now())
    clock.advance(timedelta(days=2))
    during: list[tuple[str, bool]] = []
    erase_visit_rows = purge_module.erase_visit_rows
    delete_passed_tokens = purge_module.delete_passed_tokens
    pause = purge_module.pause

    def erase(*args: Any) -> Any:
        during.append(("visits", gc.isenabled()))
        return erase_visit_rows(*args)

    def delete_tokens(*args: Any, **kwargs: Any) -> Any:
        during.append(("tokens", gc.isenabled()))
        return delete_passed_tokens(*args, **kwargs)

    def between(seconds: float) -> None:
        during.append(("pause", gc.isenabled()))
        pause(seconds)

    monkeypatch.setattr(purge_module, "erase_visit_rows", erase)
    monkeypatch.setattr(purge_module, "delete_passed_tokens", delete_tokens)
    monkeypatch.setattr(purge_module, "pause", between)
    run = run_purge(
        session,
        clock=clock,
        trigger="cli",
        settings=PurgeSettings(batch_size=10, pause_seconds=0.001),
    )
    assert run is not None
    assert run.visits_erased == 30
    assert ("visits", False) in during
    assert ("tokens", False) in during
    assert {enabled for step, enabled in during if step != "pause"} == {False}
    if session.get_bind().dialect.name == "sqlite":  # PostgreSQL's purge does not pause
        assert {enabled for step, enabled in during if step == "pause"} == {True}
    assert gc.isenabled()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("gate", [True, False])
def test_the_pause_after_a_batch_is_the_gates_handover_or_half_the_batch(
    session: Session,
    make_site: Any,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    gate: bool,
):
    """SQLite. Through the writers' gate (kiosk.write_gate) a waiting check-in asks again every
    millisecond: a few milliseconds' pause lets it in, and the next batch waits for it.
    Without the gate (a database named by a URI) a check-in that waited through a batch looks
    again after about half as long (the busy handler's growing sleeps), and a shorter pause
    would end before it looks."""
    from kiosk import write_gate

    site = make_site(retention_days=1)
    add_visits(session, site, 300, checked_in_at=clock.now())
    clock.advance(timedelta(days=2))
    pauses: list[float] = []
    monkeypatch.setattr("kiosk.privacy.purge.pause", pauses.append)
    if not gate:
        monkeypatch.setattr(write_gate, "in_use", lambda _connection: False)
    erase_visit_rows = purge_module.erase_visit_rows

    def slow_erase(*args: Any) -> Any:
        time.sleep(0.08)  # a batch of 80 ms or more
        return erase_visit_rows(*args)

    monkeypatch.setattr(purge_module, "erase_visit_rows", slow_erase)
    run = run_purge(
        session,
        clock=clock,
        trigger="cli",
        settings=PurgeSettings(batch_size=100, pause_seconds=0.001),
    )
    assert run is not None
    assert run.visits_erased == 300
    if gate:
        assert set(pauses) == {write_gate.HANDOVER_SECONDS}
    else:
        assert min(pauses) >= 0.001
        assert len([seconds for seconds in pauses if seconds >= 0.04]) == 3  # a visit batch each


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_index_rows_batches_leave_the_gate_open_between_them_too(
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
):
    from kiosk import write_gate

    site = make_site(retention_days=1)
    for number in range(3):
        make_visit(site, f"Maximiliane Oppenheimer-Sandberg{number} Wittgensteiner")
    clock.advance(timedelta(days=2))
    pauses: list[float] = []
    monkeypatch.setattr("kiosk.privacy.purge.pause", pauses.append)
    run = run_purge(
        session,
        clock=clock,
        trigger="cli",
        settings=PurgeSettings(batch_size=1, pause_seconds=0.001),
    )
    assert run is not None
    assert run.visits_erased == 3
    assert len(pauses) > 3 + 1  # a visit batch each, and more than one of index rows
    assert set(pauses) == {write_gate.HANDOVER_SECONDS}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # SQLite counts its own steps
def test_a_nights_purge_reads_no_further_than_the_last_visit_that_can_be_due(
    session: Session, make_site: Any, clock: FrozenClock
):
    """The purge walks the visits along their primary key, each batch holding SQLite's write
    lock. Its walk ends at the last visit that checked in by the latest cutoff: before, the
    last batch read every visit still kept to find none, so a site that keeps a year of visits
    had check-ins waiting while each night's purge read its year. Measured in SQLite's own
    steps (its progress handler) while the purge reads the visits it erases, and those whose
    email and phone it erases sooner."""
    site = make_site(retention_days=30, contact_retention_days=10)
    engine = session.get_bind()

    def steps_reading_due_visits() -> int:
        counted = [0]

        def count() -> int:
            counted[0] += 1
            return 0  # go on

        def around(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            # The rows are read as the purge iterates them, after this: count until the next.
            reading = statement.startswith("SELECT visits.id, visits.site_id")
            cursor.connection.set_progress_handler(count if reading else None, 100)

        event.listen(engine, "before_cursor_execute", around)
        try:
            run = run_purge(
                session, clock=clock, trigger="cli", settings=PurgeSettings(batch_size=100)
            )
        finally:
            event.remove(engine, "before_cursor_execute", around)
            with engine.connect() as connection:
                connection.connection.dbapi_connection.set_progress_handler(None, 100)
        assert run is not None
        assert run.visits_erased == 10
        return counted[0]

    add_visits(session, site, 10, checked_in_at=clock.now())
    clock.advance(timedelta(days=31))
    alone = steps_reading_due_visits()
    add_visits(session, site, 10, checked_in_at=clock.now())
    # Five days old at the purge: within both periods.
    add_visits(session, site, 3_000, checked_in_at=clock.now() + timedelta(days=26))
    clock.advance(timedelta(days=31))
    before_the_kept = steps_reading_due_visits()
    # Reading 3,000 visits more would be tens of thousands of SQLite steps.
    assert before_the_kept < alone + 100, (alone, before_the_kept)
