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
from kiosk.blind_index import name_prefixes
from kiosk.cli import main
from kiosk.db import get_database, make_engine
from kiosk.models import Base, Site, Visit
from kiosk.schema import head_revisions
from tests.support import new_key_store


def new_app(tmp_path: Path, url: str) -> Flask:
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": url,
            **new_key_store(keys),
        }
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


def test_check_constraints_read_the_same_as_the_migrations_wrote_them(
    database_url: str, empty_database_url: str
):
    """Autogenerate does not compare CHECK constraints: the models' own (created directly)
    must read back exactly as the migrated ones, or a changed vocabulary needs a migration."""

    def checks(url: str) -> set[tuple[str, str | None, str]]:
        engine = make_engine(url)
        try:
            inspector = inspect(engine)
            return {
                (table, check["name"], check["sqltext"])
                for table in Base.metadata.tables
                for check in inspector.get_check_constraints(table)
            }
        finally:
            engine.dispose()

    engine = make_engine(empty_database_url)
    try:
        Base.metadata.create_all(engine)
    finally:
        engine.dispose()
    migrated = checks(database_url)
    assert len(migrated) >= 10
    assert checks(empty_database_url) == migrated


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
        assert runner.invoke(main, ["db", "upgrade", "0007_retention"]).exit_code == 0
        # Core inserts: the tables as of 0007 (no ORM event adds the words).
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
        upgraded = runner.invoke(main, ["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        # The words 0010 wrote are gone with 0023; the upgrade wrote the blind index instead.
        with engine.connect() as connection:
            tokens = connection.execute(
                text("SELECT count(*) FROM visit_name_tokens WHERE visit_id = 7")
            ).scalar()
        assert tokens == len(name_prefixes("Åsa Öberg-Lind"))
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


def chain_in_order() -> list[Any]:
    """The migration scripts from the first to the newest, following down_revision."""
    from alembic.script import ScriptDirectory

    from kiosk.schema import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    return list(reversed(list(scripts.walk_revisions())))


def test_file_numbers_increase_along_the_chain():
    """File names and ids are numbered in chain order, so a reader sees the real order."""
    numbers = []
    for script in chain_in_order():
        number = Path(script.path).name.split("_", 1)[0]
        assert script.revision.startswith(number + "_"), (script.path, script.revision)
        numbers.append(int(number))
    assert numbers == list(range(1, len(numbers) + 1)), numbers


def test_upgrade_rewrites_a_revision_id_from_before_the_renumbering(
    tmp_path: Path, empty_database_url: str
):
    """A database made before the renumbering names an old id; upgrade carries on from it."""
    app = new_app(tmp_path, empty_database_url)
    runner = app.test_cli_runner()
    engine = get_database(app).engine
    try:
        assert runner.invoke(main, ["db", "upgrade", "0008_kiosk_printing"]).exit_code == 0
        with engine.begin() as connection:
            # 0007_kiosk_printing is what that schema was called before the renumbering.
            connection.execute(
                text("UPDATE alembic_version SET version_num = '0007_kiosk_printing'")
            )
        result = runner.invoke(main, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_heads() == head_revisions()
            assert "staff_users" in inspect(connection).get_table_names()
            columns = {c["name"] for c in inspect(connection).get_columns("staff_users")}
        assert "session_generation" in columns  # 0009 ran after the rewritten 0008
    finally:
        engine.dispose()
