"""Several `kiosk serve` processes on one PostgreSQL, as behind a load balancer: sessions, CSRF
tokens and kiosk pairings are valid on any of them, login throttling is shared through Redis (or
per process without it), and the purge does its work once across all of them.

PostgreSQL only: SQLite is a file on one machine, so a second machine cannot share it.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from kiosk.models import PurgeRun, PurgeRunSite, Site, SiteDailyStats, Visit
from kiosk.services.demo import DEMO_HOSTS, seed_demo
from kiosk.services.visits import new_badge_token, new_short_code
from tests.conftest import migrate
from tests.support import (
    WebClient,
    kiosk_env,
    named,
    require_redis,
    running_server,
    use_key_store,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

#: Failed logins per username the servers allow in these tests (the default is 5).
USERNAME_LIMIT = 3


class Deployment:
    """One PostgreSQL schema, migrated and seeded with the demo data, and the servers on it."""

    def __init__(self, database_url: str, root: Path) -> None:
        self.database_url = database_url
        self.root = root
        #: Shared by every server, as a real deployment must.
        self.secret_key = secrets.token_hex(32)
        # In this process, which is quicker than `kiosk db upgrade` and `kiosk demo`.
        migrate(database_url)
        self.engine: Engine = create_engine(database_url)
        # The key store every server shares (kiosk_env makes it beside their instance folders),
        # for this process's sessions too.
        use_key_store(self.env("setup"), self.engine)
        with Session(self.engine) as session:
            demo = seed_demo(session, now=datetime.now(UTC))
            session.commit()
        assert demo.admin_password
        assert demo.pairing_code
        self.password = demo.admin_password
        self.pairing_code = demo.pairing_code

    def env(self, name: str, **settings: str) -> dict[str, str]:
        """A server's environment: its own instance folder, the shared database and key."""
        instance = self.root / name
        instance.mkdir(exist_ok=True)
        env = kiosk_env(instance, self.database_url)
        env["KIOSK_SECRET_KEY"] = self.secret_key
        env["KIOSK_LOG_LEVEL"] = "INFO"  # the purge says what it did, or why it skipped
        env["KIOSK_NOTIFY_IN_SERVER"] = "false"
        env["KIOSK_LOGIN_LIMIT_PER_USERNAME"] = f"{USERNAME_LIMIT} per 10 minutes"
        env.update({f"KIOSK_{key}": value for key, value in settings.items()})
        return env

    def add_expired_visits(self, count: int) -> None:
        """Visits long past the demo site's retention period (30 days)."""
        with Session(self.engine) as session:
            site = session.scalars(select(Site)).one()
            long_ago = datetime.now(UTC) - timedelta(days=90)
            for number in range(count):
                session.add(
                    Visit(
                        site_id=site.id,
                        visitor_name=f"Expired Visitor {number}",
                        badge_token=new_badge_token(long_ago),
                        short_code=new_short_code(long_ago),
                        locale="en",
                        checked_in_at=long_ago,
                        checked_out_at=long_ago + timedelta(hours=2),
                    )
                )
            session.commit()

    def expired_visits(self) -> int:
        cutoff = datetime.now(UTC) - timedelta(days=31)
        with Session(self.engine) as session:
            return (
                session.scalar(
                    select(func.count()).select_from(Visit).where(Visit.checked_in_at < cutoff)
                )
                or 0
            )

    def runs(self) -> list[tuple[str, str | None, str, int]]:
        """Every purge run: trigger, slot, status and visits erased, oldest first."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(
                    PurgeRun.trigger,
                    PurgeRun.slot,
                    PurgeRun.status,
                    func.coalesce(func.sum(PurgeRunSite.visits_erased), 0),
                )
                .outerjoin(PurgeRunSite)
                .group_by(PurgeRun.id)
                .order_by(PurgeRun.id)
            ).all()
        return [(row[0], row[1], row[2], int(row[3])) for row in rows]

    def counted_visits(self) -> int:
        """Visits in the daily statistics; an erased visit counted twice would show here."""
        with Session(self.engine) as session:
            return session.scalar(select(func.coalesce(func.sum(SiteDailyStats.visits), 0))) or 0

    def wait_for_runs(
        self, count: int, timeout: float = 20
    ) -> list[tuple[str, str | None, str, int]]:
        """Wait until ``count`` purge runs have finished."""
        return wait_for(
            lambda: (
                (runs := self.runs())
                and len([r for r in runs if r[2] != "running"]) >= count
                and runs
            ),
            timeout,
            f"{count} finished purge runs",
        )


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def server_log(env: dict[str, str]) -> str:
    return (Path(env["KIOSK_INSTANCE_PATH"]) / "serve.log").read_text(errors="replace")


def csrf_token(page: str) -> str:
    # Whatever order the input's attributes come in (WTForms' or a template's own).
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, page
    return match[1]


@pytest.fixture
def deployment(empty_database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment(empty_database_url, tmp_path)
    yield deployment
    deployment.engine.dispose()


@pytest.fixture
def redis_prefix() -> Iterator[tuple[str, str]]:
    """The local Redis and a key prefix of this test's own, whose keys are deleted afterwards."""
    url = require_redis()
    prefix = f"kiosk-test-{uuid.uuid4().hex[:12]}"
    yield url, prefix
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def test_two_servers_share_sessions_csrf_kiosks_throttling_and_one_purge(
    deployment: Deployment, redis_prefix: tuple[str, str]
):
    redis_url, prefix = redis_prefix
    deployment.add_expired_visits(7)
    shared = {"RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": prefix}
    env_a = deployment.env("server-a", **shared)
    env_b = deployment.env("server-b", **shared)

    with ExitStack() as servers:
        base_a = servers.enter_context(running_server(env_a, workers=1))
        # (d) Both servers purge at start-up (PURGE_ON_START): the first erases what expired.
        first = deployment.wait_for_runs(1)
        base_b = servers.enter_context(running_server(env_b, workers=1))

        # (a) A kiosk paired on A checks a visitor in across both servers: the form on A,
        # the privacy notice (with A's CSRF token) on B.
        kiosk = WebClient(base_a)
        assert kiosk.submit("/pair", {"code": deployment.pairing_code})[0] == 200
        status, _page = kiosk.submit(
            "/check-in", {"name": "Linnea Larsson", "host_query": DEMO_HOSTS[1][0]}
        )
        assert status == 200
        status, notice = kiosk.request("/notice")
        assert status == 200
        kiosk.base = base_b
        status, done = kiosk.request("/notice", {"csrf_token": csrf_token(notice), "read": "1"})
        assert status == 200
        assert "Linnea" in done

        # Staff log in on A; the session and a CSRF token from A's page work on B.
        reception = WebClient(base_a)
        status, on_site = reception.submit(
            "/dashboard/login", {"username": "admin", "password": deployment.password}
        )
        assert status == 200
        assert "Linnea Larsson" in on_site
        check_out = re.search(r'formaction="([^"]*/check-out)"', on_site)
        assert check_out, on_site
        reception.base = base_b
        # A forged token is refused on B, so what follows proves the token, not a lax server.
        assert reception.request(check_out[1], {"csrf_token": "forged"})[0] == 400
        status, after = reception.request(check_out[1], {"csrf_token": csrf_token(on_site)})
        assert status == 200
        assert "Linnea Larsson" not in after
        with Session(deployment.engine) as session:
            visit = named(session, Visit, "Linnea Larsson")
            assert visit.checked_out_at is not None

        # (b) Failed logins for one username, split across A and B, hit one shared limit.
        attempts = [base_a, base_b, base_a]
        assert len(attempts) == USERNAME_LIMIT
        for base in attempts:
            status, _page = WebClient(base).submit(
                "/dashboard/login", {"username": "admin", "password": "wrong password"}
            )
            assert status == 200
        for base in (base_b, base_a):
            status, page = WebClient(base).submit(
                "/dashboard/login", {"username": "admin", "password": deployment.password}
            )
            assert status == 429, page
        store = redis.Redis.from_url(redis_url)
        try:
            keys = [key.decode() for key in store.scan_iter(match=f"*{prefix}*")]
        finally:
            store.close()
        assert keys, "the counters are not in Redis"
        assert not [key for key in keys if "admin" in key]  # usernames are hashed

        # (d) B's own start-up purge ran too, and found nothing left to erase.
        runs = deployment.wait_for_runs(2)

    # A's start-up run had erased everything before B started.
    assert [(trigger, status, erased) for trigger, _slot, status, erased in first] == [
        ("startup", "succeeded", 7)
    ]
    assert [(trigger, status) for trigger, _slot, status, _n in runs] == [
        ("startup", "succeeded"),
        ("startup", "succeeded"),
    ]
    assert runs[0][1] != runs[1][1]  # one occurrence per start of a server
    assert [erased for *_rest, erased in runs] == [7, 0]
    assert deployment.expired_visits() == 0
    assert deployment.counted_visits() == 7  # each erased visit counted once
    log_a, log_b = server_log(env_a), server_log(env_b)
    assert re.search(r"purge run \d+ \(startup\) erased 7 visits", log_a), log_a
    assert re.search(r"purge run \d+ \(startup\) erased 0 visits", log_b), log_b
    for log in (log_a, log_b):
        assert "Traceback" not in log
        assert "Linnea" not in log


def test_without_shared_storage_limits_are_per_server_and_the_daily_purge_runs_once(
    deployment: Deployment,
):
    # The multi-server set-up README recommends: no purge per start, a daily time; a server
    # starting after that time catches up on the day's run, which only one server does.
    deployment.add_expired_visits(4)
    settings = {"PURGE_ON_START": "false", "PURGE_TIME": '"00:00"', "PURGE_TIMEZONE": "UTC"}
    env_a = deployment.env("server-a", **settings)
    env_b = deployment.env("server-b", **settings)
    today = datetime.now(UTC).strftime("%Y-%m-%d")

    with ExitStack() as servers:
        base_a = servers.enter_context(running_server(env_a, workers=1))
        base_b = servers.enter_context(running_server(env_b, workers=1))
        runs = deployment.wait_for_runs(1)
        slot = f"daily:{today}T00:00Z"
        skipped = re.compile(rf"purge {slot} skipped: (it already ran|another purge is running)")
        # Whichever server came second was told the occurrence was (being) done elsewhere.
        wait_for(
            lambda: skipped.search(server_log(env_a)) or skipped.search(server_log(env_b)),
            10,
            "the other server's skip",
        )

        # (c) RATELIMIT_STORAGE_URI is memory:// by default: each server counts on its own.
        for _ in range(USERNAME_LIMIT):
            status, _page = WebClient(base_a).submit(
                "/dashboard/login", {"username": "admin", "password": "wrong password"}
            )
            assert status == 200
        assert (
            WebClient(base_a).submit(
                "/dashboard/login", {"username": "admin", "password": deployment.password}
            )[0]
            == 429
        )
        status, page = WebClient(base_b).submit(
            "/dashboard/login", {"username": "admin", "password": deployment.password}
        )
        assert status == 200
        assert "Demo Office" in page or "Log out" in page

    assert deployment.runs() == [("schedule", slot, "succeeded", 4)]
    assert runs == [("schedule", slot, "succeeded", 4)]
    assert deployment.expired_visits() == 0
    assert deployment.counted_visits() == 4
    for env in (env_a, env_b):
        assert "Traceback" not in server_log(env)
