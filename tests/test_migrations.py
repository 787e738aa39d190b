"""Alembic: upgrade from empty on both backends, no drift, and no serving an old schema."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import insert, inspect, text

from kiosk import create_app
from kiosk.cli import main
from kiosk.db import get_database
from kiosk.models import Base, Site, Visit
from kiosk.schema import head_revisions


def new_app(tmp_path: Path, url: str) -> Flask:
    return create_app(
        {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": url}
    )


def test_upgrade_from_empty_matches_the_models(tmp_path: Path, empty_database_url: str):
    app = new_app(tmp_path, empty_database_url)
    engine = get_database(app).engine
    try:
        result = app.test_cli_runner().invoke(main, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert context.get_current_heads() == head_revisions()
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        engine.dispose()


def test_downgrade_to_empty_and_back(tmp_path: Path, empty_database_url: str):
    app = new_app(tmp_path, empty_database_url)
    runner = app.test_cli_runner()
    engine = get_database(app).engine
    try:
        assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
        result = runner.invoke(main, ["db", "downgrade", "base"])
        assert result.exit_code == 0, result.output
        assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())
        assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
        assert "(head)" in runner.invoke(main, ["db", "current"]).output
    finally:
        engine.dispose()


def test_dashboard_indexes_fold_the_names_already_kept(tmp_path: Path, empty_database_url: str):
    app = new_app(tmp_path, empty_database_url)
    runner = app.test_cli_runner()
    engine = get_database(app).engine
    try:
        assert runner.invoke(main, ["db", "upgrade", "0004_retention"]).exit_code == 0
        # Core inserts: the tables as of 0004 (no ORM event adds the words).
        with engine.begin() as connection:
            connection.execute(
                insert(Site).values(
                    id=1,
                    name="S",
                    timezone="UTC",
                    default_locale="sv",
                    retention_days=30,
                    controller_name="C",
                    controller_contact="c@example.com",
                    authority_name="A",
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )
            connection.execute(
                insert(Visit).values(
                    id=7,
                    site_id=1,
                    visitor_name="Åsa Öberg-Lind",
                    badge_token="t",
                    short_code="C",
                    locale="sv",
                    checked_in_at=datetime(2026, 1, 1, 9, tzinfo=UTC),
                )
            )
        assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT visit_id, word FROM visit_name_words ORDER BY word")
            ).all()
        assert [tuple(row) for row in rows] == [(7, "asa"), (7, "lind"), (7, "oberg")]
    finally:
        engine.dispose()


def test_app_refuses_to_serve_an_old_schema(tmp_path: Path, empty_database_url: str):
    app = new_app(tmp_path, empty_database_url)
    try:
        response = app.test_client().get("/")
        assert response.status_code == 503
        assert "kiosk db upgrade" in response.text
        # Static files still load, so the message page is styled.
        with app.test_client().get("/static/css/kiosk.css") as css:
            assert css.status_code == 200
    finally:
        get_database(app).engine.dispose()


def test_serve_refuses_an_old_schema(tmp_path: Path, empty_database_url: str):
    app = new_app(tmp_path, empty_database_url)
    try:
        result = app.test_cli_runner().invoke(main, ["serve", "--port", "1"])
        assert result.exit_code != 0
        assert "kiosk db upgrade" in result.output
    finally:
        get_database(app).engine.dispose()


def test_current_schema_serves(client: Any):
    assert client.get("/dashboard/login").status_code == 200
