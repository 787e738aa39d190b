"""Connection pooling on PostgreSQL: the settings reach the engine, and a connection the database
ended underneath the app (a restart, a failover, an administrator) heals on the next request."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, text

from kiosk.db import get_database
from tests.conftest import PG_URL

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

APP_NAME = f"kiosk-pool-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # An application name of this test's own, so it terminates only the app's connections.
    url = f"{app_config['DATABASE_URL']}&application_name={APP_NAME}"
    return {
        **app_config,
        "DATABASE_URL": url,
        "DATABASE_POOL_SIZE": 3,
        "DATABASE_MAX_OVERFLOW": 2,
        "DATABASE_POOL_RECYCLE_SECONDS": 600,
        "DATABASE_POOL_TIMEOUT_SECONDS": 4,
        "DATABASE_CONNECT_TIMEOUT_SECONDS": 3,
    }


@pytest.fixture
def admin() -> Iterator[Engine]:
    """A connection of the test's own to the same server, outside the app's pool."""
    assert PG_URL
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def app_backends(admin: Engine) -> list[int]:
    with admin.connect() as connection:
        return list(
            connection.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": APP_NAME},
            )
        )


def test_pool_settings_reach_the_engine(app: Flask):
    engine = get_database(app).engine
    pool: Any = engine.pool
    assert pool.size() == 3
    assert pool._max_overflow == 2
    assert pool._recycle == 600
    assert pool._timeout == 4
    assert pool._pre_ping is True
    with engine.connect() as connection:
        info = connection.connection.dbapi_connection.info  # type: ignore[union-attr]
        assert info.get_parameters()["connect_timeout"] == "3"
        assert connection.scalar(text("SHOW application_name")) == APP_NAME


def test_a_connection_killed_underneath_heals_on_the_next_request(
    app: Flask, staff_client: FlaskClient, admin: Engine, caplog: pytest.LogCaptureFixture
):
    assert staff_client.get("/dashboard/").status_code == 200
    before = app_backends(admin)
    assert before, "the app keeps no pooled connection"

    # One pid at a time, each one read from pg_stat_activity as the app's: a filter and
    # pg_terminate_backend in one WHERE clause may run in any order and end other clients.
    with admin.connect() as connection:
        for pid in before:
            assert connection.scalar(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid = :pid AND application_name = :name"
                ),
                {"pid": pid, "name": APP_NAME},
            )
    deadline = time.monotonic() + 10
    while app_backends(admin):  # the server ends them in a moment
        assert time.monotonic() < deadline, "pg_terminate_backend did not end the connections"
        time.sleep(0.05)

    started = time.perf_counter()
    response = staff_client.get("/dashboard/")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    after = app_backends(admin)
    assert after
    assert not set(after) & set(before)
    # The heal is silent: no error page, nothing logged as an error.
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []
    print(f"healed in {elapsed * 1000:.0f} ms")
