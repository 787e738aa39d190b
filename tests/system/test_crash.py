"""kill -9 of the production server in the middle of the load, on SQLite and PostgreSQL: the
gunicorn master and its workers die at once, as in a power cut or an out-of-memory kill, while
twenty kiosks are checking visitors in and out. `kiosk serve` is then started again, as a
service manager would, on the same address: every check-in a kiosk confirmed is still there,
SQLite's integrity check passes, and every kiosk carries on without anyone doing anything
(no lock file to delete, no kiosk to pair again)."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock, SystemClock
from tests.load import Fleet, add_kiosks, check_visits, write_figures
from tests.support import kiosk_env, start_server

pytestmark = pytest.mark.slow

#: Check-ins per backend (most are checked out again, so about twice as many operations).
CHECK_INS = int(os.environ.get("KIOSK_TEST_CRASH_CHECK_INS", "250"))
KIOSKS = 20
#: How long the server stays dead: the kiosks keep trying meanwhile.
DOWN_SECONDS = 1.0


@pytest.fixture
def clock() -> FrozenClock:
    """The served app reads the real clock: so do the test's records (pairing codes)."""
    return FrozenClock(SystemClock().now())


def integrity(database_url: str) -> str:
    """SQLite's own check of the whole file ("ok" when sound)."""
    path = make_url(database_url).database
    assert path
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    finally:
        connection.close()
    return "; ".join(str(row[0]) for row in rows)


def test_kill_9_mid_load_then_restart_loses_nothing(
    backend: str,
    database_url: str,
    session: Session,
    clock: FrozenClock,
    make_site: Any,
    make_host: Any,
    tmp_path: Path,
):
    site = make_site(name="Head Office")
    hosts = [make_host(site, name=f"Host {n} Hansson", email=f"h{n}@example.com") for n in range(4)]
    kiosks = add_kiosks(session, site, KIOSKS, now=clock.now(), hosts=hosts)
    instance = tmp_path / "instance"
    env = kiosk_env(instance, database_url)

    server = start_server(env)
    fleet = Fleet(server.base, kiosks, check_ins=CHECK_INS)
    try:
        fleet.start()
        fleet.wait_for(CHECK_INS // 3, timeout=300)
        killed = server.kill_hard()
        killed_at = time.monotonic()
        check_ins_before = fleet.tally.check_ins
        if backend == "sqlite":
            # While nothing runs: the file the killed workers were writing to is sound.
            assert integrity(database_url) == "ok"
        left_behind = sorted(path.name for path in instance.iterdir())
        time.sleep(DOWN_SECONDS)
        # Started again exactly as before: no clean-up in between.
        server = start_server(env, port=server.port)
        restarted_at = time.monotonic()
        fleet.join(timeout=600)
    finally:
        fleet.stopping.set()
        server.stop()
    figures = fleet.figures()

    visits = check_visits(session, fleet)
    assert figures["responses_5xx"] == 0, fleet.tally.server_errors[:3]
    assert figures["check_ins_acknowledged"] >= CHECK_INS
    # The kill hit the load: kiosks had requests cut off or refused while it was down.
    assert figures["requests_without_answer"] > 0
    # Every kiosk is still paired and checks visitors in after the restart.
    assert fleet.tally.kiosks_confirming_after(restarted_at) == set(range(1, KIOSKS + 1))
    if backend == "sqlite":
        assert integrity(database_url) == "ok"

    figures.update(
        backend=backend,
        processes_killed=len(killed),
        check_ins_acknowledged_before_kill=check_ins_before,
        seconds_down=round(restarted_at - killed_at, 1),
        files_left_in_instance_folder=left_behind,
        sqlite_integrity_check="ok" if backend == "sqlite" else None,
        visits_in_database=visits["found"],
        acknowledged_check_ins_missing=visits["missing"],
        acknowledged_check_ins_twice=visits["twice"],
        acknowledged_check_outs_not_recorded=visits["check_outs_missing"],
        stored_without_confirmation=visits["unacknowledged_but_stored"],
        badge_tokens=visits["tokens"],
        badge_tokens_distinct=visits["tokens_distinct"],
    )
    write_figures(f"kill9-{backend}", figures)
