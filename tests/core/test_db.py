"""The database resource: SQLite tuning and one session per request."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text

from kiosk.db import get_database, get_session


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_runs_wal_with_foreign_keys_and_busy_timeout(app: Flask):
    with get_database(app).engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_one_session_per_request_closed_on_teardown(app: Flask):
    with app.test_request_context():
        session = get_session()
        assert get_session() is session
        session.execute(text("SELECT 1"))
        assert session.in_transaction()
    assert not session.in_transaction()
    with app.test_request_context():
        assert get_session() is not session
