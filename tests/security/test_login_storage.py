"""Login throttling when its shared storage (Redis) cannot be reached: logins keep working and
stay throttled, per process, in memory; never a 500 and never a request waiting on Redis."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kiosk import create_app
from kiosk.extensions import limiter
from tests.conftest import STAFF_PASSWORD
from tests.servers import silent_port
from tests.support import free_port

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def _limiter_storage_alive_again() -> Iterator[None]:
    # The limiter is one object per process: later tests' apps must not start "dead".
    yield
    limiter._storage_dead = False


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """The ``app`` fixture's Redis refuses connections: nobody listens on its port."""
    return {**app_config, "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}"}


def fail_login(client: FlaskClient, username: str = "target") -> int:
    response = client.post("/dashboard/login", data={"username": username, "password": "nope!"})
    return response.status_code


def test_redis_refusing_connections_falls_back_to_memory(
    app: Flask, make_staff: Any, caplog: pytest.LogCaptureFixture
):
    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    client = app.test_client()
    make_staff(username="target")
    make_staff(username="other")
    with caplog.at_level(logging.WARNING):
        statuses = [fail_login(client) for _ in range(5)]
    assert statuses == [200] * 5  # the form says "wrong password"; never a 500
    assert any("falling back to in-memory" in record.getMessage() for record in caplog.records)
    # Still throttled, in this process's memory.
    blocked = client.post(
        "/dashboard/login", data={"username": "target", "password": STAFF_PASSWORD}
    )
    assert blocked.status_code == 429
    # And everyone else logs in as usual.
    ok = app.test_client().post(
        "/dashboard/login", data={"username": "other", "password": STAFF_PASSWORD}
    )
    assert ok.status_code == 302


def test_redis_that_never_answers_does_not_hold_up_a_login(app_config: dict[str, Any]):
    with silent_port() as port:
        app_config["RATELIMIT_STORAGE_URI"] = f"redis://127.0.0.1:{port}"
        silent_app = create_app(app_config)
        assert silent_app.config["RATELIMIT_STORAGE_OPTIONS"]["socket_timeout"] == 1.0
        statuses: list[int] = []
        worker = threading.Thread(
            target=lambda: statuses.append(fail_login(silent_app.test_client()))
        )
        worker.start()
        # redis-py's own default is to wait forever; the app gives Redis a second.
        worker.join(timeout=15)
        assert not worker.is_alive(), "the login waited on a Redis that never answers"
    assert statuses == [200]


def test_options_in_the_storage_url_win(app_config: dict[str, Any]):
    app_config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379/0?socket_timeout=3"
    app = create_app(app_config)
    connection = limiter.storage.get_connection()  # type: ignore[attr-defined]
    assert connection.connection_pool.connection_kwargs["socket_timeout"] == 3.0
    assert connection.connection_pool.connection_kwargs["socket_connect_timeout"] == 1.0
    assert app.config["RATELIMIT_KEY_PREFIX"] == "kiosk"


def test_an_app_without_limits_does_not_switch_them_off_for_the_next(
    app_config: dict[str, Any], make_staff: Any
):
    # Flask-Limiter is one object per process; an app that turns limiting off (as the fuzz
    # tests do) must not leave the next app of the process unthrottled.
    create_app({**app_config, "RATELIMIT_ENABLED": False})
    app = create_app({**app_config, "RATELIMIT_STORAGE_URI": "memory://"})
    assert limiter.enabled
    client = app.test_client()
    statuses = [fail_login(client, "nobody") for _ in range(6)]
    assert statuses == [200] * 5 + [429]
