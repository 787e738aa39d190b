"""A database that cannot be reached (restarting, failing over, locked too long) gets a friendly
"try again" page with 503 in the visitor's language, never a stack trace or the driver's
message; the server stays up and serves again once the database is back.
(tests/system/test_postgres_restart.py does this for real, under load.)"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from kiosk import create_app
from kiosk.db import get_database, get_session
from tests.support import LEAKS, free_port

TITLES = {
    "sv": "Försök igen om en liten stund",
    "en": "Please try again in a moment",
    "de": "Bitte versuchen Sie es gleich noch einmal",
}


@pytest.fixture
def unreachable(tmp_path: Path) -> Iterator[Flask]:
    """An app whose PostgreSQL server is not there (nothing listens on its port)."""
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": f"postgresql+psycopg://kiosk@127.0.0.1:{free_port()}/kiosk",
            "SECRET_KEY": "test-secret-key",
            "PROPAGATE_EXCEPTIONS": False,
        }
    )
    yield app
    get_database(app).engine.dispose()


@pytest.mark.parametrize("language", sorted(TITLES))
@pytest.mark.parametrize("path", ["/", "/check-in", "/dashboard/login", "/privacy/1/sv"])
def test_unreachable_database_gets_translated_503(
    unreachable: Flask, path: str, language: str, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.ERROR):
        response = unreachable.test_client().get(path, headers={"Accept-Language": language})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert TITLES[language] in response.text
    assert not any(leak in response.text for leak in LEAKS)
    assert "127.0.0.1" not in response.text
    logged = [record.getMessage() for record in caplog.records]
    assert any(line.startswith("database unavailable on GET ") for line in logged), logged


def test_operational_error_in_a_view_is_a_503_without_its_message(
    app_config: dict[str, Any], caplog: pytest.LogCaptureFixture
):
    app = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False})

    @app.route("/broken")
    def broken() -> str:
        raise OperationalError(
            "UPDATE visits SET visitor_name='Ada Lovelace'", {}, Exception("database is locked")
        )

    try:
        with caplog.at_level(logging.ERROR):
            response = app.test_client().get("/broken", headers={"Accept-Language": "en"})
    finally:
        get_database(app).engine.dispose()
    assert response.status_code == 503
    assert TITLES["en"] in response.text
    for secret in ("Ada", "locked", "UPDATE", "Traceback"):
        assert secret not in response.text
        assert not any(secret in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_connection_lost_after_the_last_statement_keeps_the_answer(
    app: Flask, database_url: str, caplog: pytest.LogCaptureFixture
):
    """The server closes the request's connection after its last query (PostgreSQL restarting):
    the page already made is still sent, and the next request gets a new connection."""
    admin = create_engine(database_url)

    @app.route("/lost")
    def lost() -> str:
        pid = get_session().scalar(text("SELECT pg_backend_pid()"))
        with admin.connect() as connection:  # end this request's own server process
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            connection.commit()
        return "made before the connection was lost"

    client = app.test_client()
    try:
        with caplog.at_level(logging.WARNING):
            response = client.get("/lost")
        again = client.get("/privacy/999/en")
    finally:
        admin.dispose()
    assert response.status_code == 200
    assert response.text == "made before the connection was lost"
    assert again.status_code == 404  # answered from a new connection
    assert any("connection lost" in record.getMessage() for record in caplog.records)
