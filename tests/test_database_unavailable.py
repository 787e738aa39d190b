"""A database that cannot be reached (restarting, failing over, locked too long) gets a friendly
"try again" page with 503 in the visitor's language, never a stack trace or the driver's
message; the server stays up and serves again once the database is back.
(tests/test_postgres_restart.py does this for real, under load.)"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from kiosk import create_app
from kiosk.db import get_database
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
