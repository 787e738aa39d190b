"""PostgreSQL restarted (crashed, in fact: an immediate stop) in the middle of the load, on a
private cluster of the test's own: `kiosk serve` is not restarted and heals by itself; while the
database is away every kiosk request gets a friendly, translated "try again" page (503), never a
stack trace; and every check-in a kiosk confirmed is still there afterwards."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock, SystemClock
from tests.load import Fleet, add_kiosks, check_visits, write_figures
from tests.servers import PrivateCluster, private_postgres
from tests.support import LEAKS, kiosk_env, run_kiosk, start_server

pytestmark = pytest.mark.slow

CHECK_INS = int(os.environ.get("KIOSK_TEST_PG_RESTART_CHECK_INS", "400"))
KIOSKS = 20
#: How long the database stays down: long enough for every kiosk to run into it.
DOWN_SECONDS = 2.0
#: The 503 page's title in Swedish (the site's language and the kiosks' browsers').
TRY_AGAIN_SV = "Försök igen om en liten stund"


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    with private_postgres() as cluster:
        yield cluster


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def database_url(cluster: PrivateCluster, tmp_path: Path) -> str:
    """A fresh database in the private cluster, migrated by `kiosk db upgrade`."""
    name = f"kiosk_{tmp_path.name.lower().replace('-', '_')[-40:]}"
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = cluster.url(name)
    run_kiosk(["db", "upgrade"], kiosk_env(tmp_path / "cli", url))
    return url


@pytest.fixture
def clock() -> FrozenClock:
    """The served app reads the real clock: so do the test's records (pairing codes)."""
    return FrozenClock(SystemClock().now())


def test_postgres_restart_mid_load_heals_without_restarting_the_app(
    cluster: PrivateCluster,
    database_url: str,
    session: Session,
    clock: FrozenClock,
    make_site: Any,
    make_host: Any,
    tmp_path: Path,
):
    site = make_site(name="Head Office", default_locale="sv")
    hosts = [make_host(site, name=f"Host {n} Hansson", email=f"h{n}@example.com") for n in range(4)]
    kiosks = add_kiosks(session, site, KIOSKS, now=clock.now(), hosts=hosts)
    session.close()  # the test's own connection would not survive the restart either
    env = kiosk_env(tmp_path / "instance", database_url)

    server = start_server(env)
    fleet = Fleet(server.base, kiosks, check_ins=CHECK_INS, language="sv")
    try:
        fleet.start()
        workers = sorted(server.worker_pids())
        fleet.wait_for(CHECK_INS // 3, timeout=300)
        postmaster = cluster.pid
        down_at = time.monotonic()
        cluster.stop("immediate")
        time.sleep(DOWN_SECONDS)
        cluster.start()
        up_at = time.monotonic()
        fleet.join(timeout=600)
        # The same processes served before, during and after: nothing was restarted.
        assert server.process.poll() is None
        assert sorted(server.worker_pids()) == workers
        log = server.log_path.read_text(errors="replace")
    finally:
        fleet.stopping.set()
        server.stop()
    figures = fleet.figures()

    visits = check_visits(session, fleet)
    errors = fleet.tally.server_errors
    assert errors, "no kiosk request met the outage"
    unexpected = [(a.status, a.path, a.excerpt[:200]) for a in errors if a.status != 503]
    assert not unexpected, (unexpected[:3], [line for line in log.splitlines() if "ERROR" in line])
    for answer in errors:
        assert TRY_AGAIN_SV in answer.excerpt
        assert not any(leak in answer.excerpt for leak in LEAKS), answer.excerpt
        # Only while the database was down, or reconnecting just after.
        assert down_at <= answer.at <= up_at + 10
    assert figures["requests_without_answer"] == 0
    assert figures["check_ins_acknowledged"] >= CHECK_INS
    assert fleet.tally.kiosks_confirming_after(up_at) == set(range(1, KIOSKS + 1))
    assert "Traceback" not in log

    figures.update(
        backend="postgresql (private cluster, stopped with pg_ctl -m immediate)",
        postmaster_before_restart=postmaster,
        postmaster_after_restart=cluster.pid,
        seconds_down=round(up_at - down_at, 1),
        responses_503=len(errors),
        first_503_after_stop_seconds=round(min(a.at for a in errors) - down_at, 2),
        last_503_after_start_seconds=round(max(a.at for a in errors) - up_at, 2),
        gunicorn_workers_unchanged=True,
        visits_in_database=visits["found"],
        acknowledged_check_ins_missing=visits["missing"],
        acknowledged_check_ins_twice=visits["twice"],
        acknowledged_check_outs_not_recorded=visits["check_outs_missing"],
        stored_without_confirmation=visits["unacknowledged_but_stored"],
        badge_tokens=visits["tokens"],
        badge_tokens_distinct=visits["tokens_distinct"],
    )
    write_figures("postgres-restart", figures)
