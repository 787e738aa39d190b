"""The served app's purge schedule: daily at PURGE_TIME, once at start-up, exactly once across
workers and machines; the periodic-job thread that ticks it, never in tests' apps or other CLI
commands."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from kiosk.cli import main
from kiosk.clock import FrozenClock
from kiosk.models import PurgeRun, Visit
from kiosk.privacy.schedule import (
    PurgeScheduler,
    last_daily_run,
    next_daily_run,
    next_scheduled_run,
    purge_time,
)
from tests.support import kiosk_env, run_kiosk, running_server

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def runs(session: Session) -> list[tuple[str, str | None]]:
    session.expire_all()
    return [
        (run.trigger, run.slot) for run in session.scalars(select(PurgeRun).order_by(PurgeRun.id))
    ]


def scheduler_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "kiosk-scheduler"]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "PURGE_TIME": "03:30", "PURGE_TIMEZONE": "Europe/Stockholm"}


def test_start_up_run_then_daily_at_the_configured_time(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=1)
    make_visit(site, "Old Visitor", checked_in_at=clock.now() - timedelta(days=3))
    scheduler = PurgeScheduler(app, startup_id="boot1")
    # 09:00 in Stockholm: the start-up run; today's 03:30 is covered by it.
    assert [run.trigger for run in scheduler.tick()] == ["startup"]
    assert session.scalar(select(func.count()).select_from(Visit)) == 0
    assert scheduler.tick() == []

    clock.set(datetime(2026, 3, 5, 2, 29, 59, tzinfo=UTC))  # 03:29:59 CET
    assert scheduler.tick() == []
    clock.set(datetime(2026, 3, 5, 2, 30, 5, tzinfo=UTC))
    assert [run.slot for run in scheduler.tick()] == ["daily:2026-03-05T02:30Z"]
    assert scheduler.tick() == []
    # After the change to summer time, 03:30 in Stockholm is 01:30 UTC.
    clock.set(datetime(2026, 3, 30, 1, 31, tzinfo=UTC))
    assert [run.slot for run in scheduler.tick()] == ["daily:2026-03-30T01:30Z"]
    assert runs(session) == [
        ("startup", "startup:boot1"),
        ("schedule", "daily:2026-03-05T02:30Z"),
        ("schedule", "daily:2026-03-30T01:30Z"),
    ]


def test_every_worker_ticks_but_each_occurrence_runs_once(
    app: Flask, session: Session, make_site: Any, clock: FrozenClock
):
    make_site()
    # Two workers of one server (same start-up id), and a worker of a second machine.
    schedulers = [
        PurgeScheduler(app, startup_id="machine-a"),
        PurgeScheduler(app, startup_id="machine-a"),
        PurgeScheduler(app, startup_id="machine-b"),
    ]

    def tick_all() -> None:
        threads = [threading.Thread(target=scheduler.tick) for scheduler in schedulers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    def tick_until_done() -> None:
        # An occurrence that met another purge running is retried at a later tick.
        for _ in range(20):
            tick_all()
            if not any(scheduler.due for scheduler in schedulers):
                return
        raise AssertionError("occurrences still due after 20 ticks")

    tick_until_done()
    clock.set(datetime(2026, 3, 5, 2, 31, tzinfo=UTC))
    tick_until_done()
    made = runs(session)
    assert sorted(made) == [
        ("schedule", "daily:2026-03-05T02:30Z"),
        ("startup", "startup:machine-a"),
        ("startup", "startup:machine-b"),
    ]


def test_an_occurrence_that_finds_another_purge_running_is_tried_again(
    app: Flask, session: Session, make_site: Any
):
    from kiosk.privacy.lock import purge_lock

    make_site()
    scheduler = PurgeScheduler(app, startup_id="patient")
    with purge_lock(session.get_bind()) as taken:
        assert taken
        assert scheduler.tick() == []
        assert scheduler.due == ["startup:patient"]
    assert [run.slot for run in scheduler.tick()] == ["startup:patient"]
    assert scheduler.due == []
    assert scheduler.tick() == []


def test_without_a_start_up_run_a_missed_daily_run_is_caught_up(
    app: Flask, session: Session, make_site: Any, clock: FrozenClock
):
    app.config["PURGE_ON_START"] = False
    make_site()
    scheduler = PurgeScheduler(app, startup_id="boot")
    # It is 09:00: today's 03:30 run did not happen (the server was down), so it runs now.
    assert [run.slot for run in scheduler.tick()] == ["daily:2026-03-04T02:30Z"]
    # A restarted worker finds it done.
    assert PurgeScheduler(app, startup_id="boot2").tick() == []


def test_no_daily_time_means_start_up_only(app: Flask, session: Session, clock: FrozenClock):
    app.config["PURGE_TIME"] = None
    assert next_scheduled_run(app.config, clock.now()) is None
    scheduler = PurgeScheduler(app, startup_id="only")
    assert [run.trigger for run in scheduler.tick()] == ["startup"]
    clock.advance(timedelta(days=3))
    assert scheduler.tick() == []


def test_daily_times_in_the_configured_zone():
    at = purge_time({"PURGE_TIME": "03:30"})
    assert at is not None
    now = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    assert last_daily_run(now, at, STOCKHOLM) == datetime(2026, 3, 4, 2, 30, tzinfo=UTC)
    assert next_daily_run(now, at, STOCKHOLM) == datetime(2026, 3, 5, 2, 30, tzinfo=UTC)
    early = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)
    assert last_daily_run(early, at, STOCKHOLM) == datetime(2026, 3, 3, 2, 30, tzinfo=UTC)
    assert next_daily_run(early, at, STOCKHOLM) == datetime(2026, 3, 4, 2, 30, tzinfo=UTC)
    # Across the change to summer time the next run is 23 hours away, at 03:30 local again.
    before_change = datetime(2026, 3, 28, 3, 0, tzinfo=UTC)
    assert next_daily_run(before_change, at, STOCKHOLM) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert next_daily_run(now, at, ZoneInfo("UTC")) == datetime(2026, 3, 5, 3, 30, tzinfo=UTC)


@pytest.mark.parametrize("value", ["3.30", "25:00", "noon", "03:30:00:00"])
def test_a_malformed_purge_time_is_refused_at_start(value: str):
    with pytest.raises(ValueError, match="PURGE_TIME"):
        purge_time({"PURGE_TIME": value})


def test_a_toml_time_is_accepted():
    from datetime import time as time_of_day

    assert purge_time({"PURGE_TIME": time_of_day(4, 15)}) == time_of_day(4, 15)
    assert purge_time({"PURGE_TIME": ""}) is None
    assert purge_time({"PURGE_TIME": False}) is None


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_no_scheduler_in_the_app_factory_or_other_commands(
    app: Flask, client: Any, runner: FlaskCliRunner
):
    client.get("/dashboard/login")
    assert runner.invoke(main, ["purge", "--dry-run"]).exit_code == 0
    assert runner.invoke(main, ["db", "current"]).exit_code == 0
    assert scheduler_threads() == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_scheduler_thread_starts_and_stops(app: Flask, session: Session):
    from kiosk.scheduler import start_scheduler

    scheduler = start_scheduler(app, startup_id="thread")
    assert scheduler_threads() != []
    assert scheduler is not None
    try:
        deadline = time.monotonic() + 10
        while not runs(session) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runs(session) == [("startup", "startup:thread")]
    finally:
        scheduler.stop()
    assert scheduler_threads() == []

    # With no purge asked for, the scheduler still runs (the end-of-day check-out) but
    # never purges.
    app.config.update(PURGE_TIME=None, PURGE_ON_START=False)
    made = runs(session)
    quiet = start_scheduler(app, startup_id="off")
    try:
        quiet.tick()
        assert runs(session) == made
    finally:
        quiet.stop()
    assert scheduler_threads() == []


@pytest.mark.slow
def test_served_app_purges_once_at_start_up_across_workers(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
):
    url = None if backend == "sqlite" else request.getfixturevalue("empty_database_url")
    env = kiosk_env(tmp_path / "instance", url)
    run_kiosk(["db", "upgrade"], env)
    run_kiosk(["demo"], env)
    database_url = url or f"sqlite:///{tmp_path / 'instance' / 'kiosk.sqlite3'}"
    engine = create_engine(database_url)
    try:
        with running_server(env, workers=2):
            deadline = time.monotonic() + 20
            count = 0
            while time.monotonic() < deadline:
                with Session(engine) as db_session:
                    count = (
                        db_session.scalar(
                            select(func.count())
                            .select_from(PurgeRun)
                            .where(PurgeRun.status == "succeeded")
                        )
                        or 0
                    )
                if count:
                    break
                time.sleep(0.1)
            # Give the other worker time to (wrongly) run it too.
            time.sleep(2)
        with Session(engine) as db_session:
            made = db_session.scalars(select(PurgeRun)).all()
            assert [(run.trigger, run.status) for run in made] == [("startup", "succeeded")]
            assert made[0].slot is not None
            assert made[0].slot.startswith("startup:")
    finally:
        engine.dispose()
    serve_log = (tmp_path / "instance" / "serve.log").read_text()
    assert "Traceback" not in serve_log


def test_replaced_keys_are_destroyed_once_by_whichever_worker_ticks_first(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """An erasure by request replaced a key: every worker's scheduler ticks the job; while a
    purge holds the lock none touches it, then one of several ticking at once seals the day's
    other rows again and destroys it, and the others find nothing left to do."""
    from kiosk.field_cipher import key_id_of
    from kiosk.privacy.lock import purge_lock
    from kiosk.privacy.requests import erase_person
    from kiosk.privacy.schedule import ReplacedKeyShredder
    from kiosk.privacy.shredding import REPLACED_KEY_SETTLE
    from kiosk.sealing import store_for

    site = make_site(retention_days=30, timezone="UTC")
    erased = make_visit(site, "Erika Erased", checked_out_at=clock.now())
    kept = make_visit(site, "Kalle Kept", checked_out_at=clock.now())
    old_key = key_id_of(bytes(erased.visitor_name_sealed))  # type: ignore[attr-defined]
    erase_person(session, [erased], [], now=clock.now())
    session.commit()
    clock.advance(REPLACED_KEY_SETTLE)
    workers = [ReplacedKeyShredder(app) for _ in range(3)]
    with purge_lock(session.get_bind()) as taken:
        assert taken
        assert [worker.tick() for worker in workers] == [0, 0, 0]
    assert store_for(session).key(old_key) is not None

    destroyed: list[int] = []
    threads = [
        threading.Thread(target=lambda worker=worker: destroyed.append(worker.tick()))
        for worker in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(destroyed) == [0, 0, 1]
    assert store_for(session).key(old_key) is None
    session.expire_all()
    assert session.get(Visit, kept.id).visitor_name == "Kalle Kept"  # type: ignore[union-attr]
