"""Alembic: upgrade from empty on both backends, no drift, and no serving an old schema."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from kiosk import create_app
from kiosk.blind_index import name_prefixes
from kiosk.cli import main
from kiosk.db import get_database, make_engine
from kiosk.models import (
    AuditEvent,
    Base,
    Invitation,
    NameIndexBacklog,
    NameTokenDay,
    PrintJob,
    Site,
    Visit,
    VisitNameToken,
    VisitorType,
)
from kiosk.schema import head_revisions
from kiosk.sealing import sealed_values
from kiosk.services import name_index
from tests.support import bounds_cover_the_index, indexes_name, new_key_store


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


def test_the_index_of_kept_visits_is_written_in_resumable_batches(
    tmp_path: Path, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
):
    """0025 makes the index anew and records the kept visits as a backlog; `kiosk db upgrade`
    indexes them in batches, each committing how far it got: an interrupted run is taken up
    where it stopped, and a visit indexed since (saved again meanwhile) is not indexed twice."""
    app = new_app(tmp_path, empty_database_url)
    runner = app.test_cli_runner()
    database = get_database(app)
    try:
        assert runner.invoke(main, ["db", "upgrade", "0024_token_days"]).exit_code == 0
        with database.sessionmaker() as session:
            session.add(
                Site(
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
            session.commit()
            # Core, not the ORM: a flush would also write to the index tables of today's
            # schema, which this old one does not have yet.
            session.execute(
                insert(Visit),
                [
                    sealed_values(
                        session,
                        Visit,
                        {
                            "id": number,
                            "site_id": 1,
                            "visitor_name": f"Kept Visitor{number}",
                            "badge_token": f"t{number}",
                            "short_code": f"C{number}",
                            "locale": "sv",
                            "checked_in_at": datetime(2026, 1, number, 9, tzinfo=UTC),
                        },
                    )
                    for number in range(1, 4)
                ],
            )
            session.commit()
        # Up to 0026 by name, Alembic alone: the index made anew (0025), empty, and the
        # backlog; no key's bound yet (0026 finds no tokens to take them from).
        assert runner.invoke(main, ["db", "upgrade", "0026_name_token_days"]).exit_code == 0
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM visit_name_tokens")).scalar() == 0
            assert connection.execute(
                text("SELECT indexed_through, until FROM name_index_backlog")
            ).one() == (0, 3)
        real = name_index.visit_token_rows
        calls = []

        def interrupted(session: Any, visit: Any) -> Any:
            calls.append(visit.id)
            if visit.id == 2:
                raise RuntimeError("interrupted")
            return real(session, visit)

        monkeypatch.setattr(name_index, "visit_token_rows", interrupted)
        with database.sessionmaker() as session:
            with pytest.raises(RuntimeError):
                name_index.index_unindexed_visits(session, batch=1)
            session.rollback()
            assert session.scalars(select(NameIndexBacklog.indexed_through)).one() == 1
            # Visit 3 is saved again in the meantime: the app indexes it as it flushes.
            session.get(Visit, 3).visitor_name = "Kept Visitor3"  # type: ignore[union-attr]
            session.commit()
        monkeypatch.setattr(name_index, "visit_token_rows", real)
        upgraded = runner.invoke(main, ["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        assert "Name search index written for 2 kept visits." in upgraded.output
        with database.sessionmaker() as session:
            assert session.scalars(select(NameIndexBacklog)).all() == []
            for number in range(1, 4):
                visit = session.get(Visit, number)
                assert indexes_name(session, visit, f"Kept Visitor{number}"), number
            # Each key's check-in bound is written with the tokens (kiosk.models.NameTokenDay).
            assert bounds_cover_the_index(session)
    finally:
        database.engine.dispose()


def test_the_keys_check_in_bounds_are_taken_from_the_tokens_already_written(
    tmp_path: Path, empty_database_url: str
):
    """0026 records, per site and token day, the newest check-in among the tokens there."""
    app = new_app(tmp_path, empty_database_url)
    runner = app.test_cli_runner()
    database = get_database(app)
    try:
        assert runner.invoke(main, ["db", "upgrade", "0025_token_index_only"]).exit_code == 0
        rows = [
            (b"\x01\x02" + bytes(14), 1, datetime(2026, 3, 1, 9, tzinfo=UTC), 1),
            (b"\x01\x02" + bytes([1] * 14), 1, datetime(2026, 3, 2, 9, tzinfo=UTC), 2),
            (b"\x01\x02" + bytes(14), 2, datetime(2026, 3, 3, 9, tzinfo=UTC), 3),
            (b"\x01\x03" + bytes(14), 1, datetime(2026, 3, 4, 9, tzinfo=UTC), 4),
        ]
        with database.engine.begin() as connection:
            connection.execute(
                insert(VisitNameToken),
                [
                    {"token": token, "site_id": site, "checked_in_at": at, "visit_id": visit}
                    for token, site, at, visit in rows
                ],
            )
        assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
        with database.sessionmaker() as session:
            bounds = {
                (row.site_id, bytes(row.day)): row.checked_in_until
                for row in session.scalars(select(NameTokenDay))
            }
        assert bounds == {
            (1, b"\x01\x02"): datetime(2026, 3, 2, 9, tzinfo=UTC),
            (2, b"\x01\x02"): datetime(2026, 3, 3, 9, tzinfo=UTC),
            (1, b"\x01\x03"): datetime(2026, 3, 4, 9, tzinfo=UTC),
        }
    finally:
        database.engine.dispose()


def insert_site(connection: Any, at: datetime) -> None:
    """Site 1, "North", with the columns every revision since 0027 has, as Core rows."""
    connection.execute(
        insert(Site).values(
            id=1,
            name="North",
            timezone="UTC",
            default_locale="en",
            retention_days=30,
            controller_name="C",
            controller_contact="c@example.com",
            authority_name="A",
            created_at=at,
        )
    )


def test_ids_freed_before_0028_are_not_given_again(tmp_path: Path, empty_database_url: str):
    """0028 marks the erased tables AUTOINCREMENT on SQLite without copying them: the rows
    and the rows that refer to them stay, and each counter starts past the ids kept and the
    ids the audit log names (a visit erased before the upgrade). A downgrade writes the
    tables back as they were."""
    app = new_app(tmp_path, empty_database_url)
    runner = app.test_cli_runner()
    database = get_database(app)
    sqlite = database.engine.dialect.name == "sqlite"

    def tables_sql() -> list[Any]:
        with database.engine.connect() as connection:
            return connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
                " AND name != 'sqlite_sequence' ORDER BY name"
            ).all()

    try:
        assert runner.invoke(main, ["db", "upgrade", "0027_visit_times_index"]).exit_code == 0
        at = datetime(2026, 3, 2, 9, tzinfo=UTC)
        with database.engine.begin() as connection:
            insert_site(connection, at)
            connection.execute(
                insert(Visit),
                [
                    {
                        "site_id": 1,
                        "visitor_name": "",
                        "badge_token": f"t{number}",
                        "short_code": f"C{number}",
                        "locale": "en",
                        "checked_in_at": at,
                    }
                    for number in (1, 2, 3)
                ],
            )
            connection.execute(
                insert(PrintJob),
                [
                    {
                        "visit_id": 3,
                        "created_at": at,
                        "requested_by": "kiosk",
                        "backend": "none",
                        "status": "sent",
                    }
                ],
            )
            # Visit 7 was the newest once, and was erased: the audit log still names it.
            connection.execute(
                insert(AuditEvent),
                [
                    {
                        "occurred_at": at,
                        "actor": "staff:1",
                        "action": "erase_on_request",
                        "target_type": "visit",
                        "target_id": "7",
                    },
                    {
                        "occurred_at": at,
                        "actor": "staff:1",
                        "action": "view_site",
                        "target_type": "site",
                        "target_id": "99",
                    },
                ],
            )
        before = tables_sql() if sqlite else None
        result = runner.invoke(main, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with database.engine.begin() as connection:
            assert connection.execute(select(func.count()).select_from(Visit)).scalar() == 3
            assert connection.execute(select(PrintJob.visit_id)).scalars().all() == [3]
            new = connection.execute(
                insert(Visit).values(
                    site_id=1,
                    visitor_name="",
                    badge_token="t4",
                    short_code="C4",
                    locale="en",
                    checked_in_at=at,
                )
            ).inserted_primary_key[0]
            job = connection.execute(
                insert(PrintJob).values(
                    visit_id=new, created_at=at, requested_by="kiosk", backend="none", status="sent"
                )
            ).inserted_primary_key[0]
        # SQLite's counter starts past the audit log's 7; PostgreSQL's sequence, which never
        # gives an id twice, goes on from 3.
        assert new == (8 if sqlite else 4)
        assert job == 2
        if sqlite:
            result = runner.invoke(main, ["db", "downgrade", "0027_visit_times_index"])
            assert result.exit_code == 0, result.output
            assert tables_sql() == before
    finally:
        database.engine.dispose()


def test_0029_keeps_the_invitations_and_their_kind_of_visit_lets_a_type_go(
    tmp_path: Path, empty_database_url: str
):
    """0029 adds the invitation's visitor type in place: the invitations kept, the reference
    enforced (a type that goes leaves its invitations untyped), and a downgrade keeps them."""
    app = new_app(tmp_path, empty_database_url)
    runner = app.test_cli_runner()
    database = get_database(app)
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    try:
        assert runner.invoke(main, ["db", "upgrade", "0028_ids_never_reused"]).exit_code == 0
        with database.engine.begin() as connection:
            insert_site(connection, at)
            connection.execute(
                insert(VisitorType).values(
                    id=4, site_id=1, position=0, key="delivery", notify_host=True, created_at=at
                )
            )
            connection.execute(
                insert(Invitation).values(
                    id=9,
                    site_id=1,
                    visitor_name="",
                    expected_on=at.date(),
                    token="tok",
                    code="ABC123",
                    locale="en",
                    created_at=at,
                )
            )
        result = runner.invoke(main, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with database.engine.begin() as connection:
            assert connection.execute(select(Invitation.id, Invitation.visitor_type_id)).all() == [
                (9, None)
            ]
            connection.execute(text("UPDATE invitations SET visitor_type_id = 4"))
        with database.engine.begin() as connection:
            with pytest.raises(IntegrityError), connection.begin_nested():
                connection.execute(text("UPDATE invitations SET visitor_type_id = 77"))
            connection.execute(text("DELETE FROM visitor_types WHERE id = 4"))
            assert connection.execute(select(Invitation.id, Invitation.visitor_type_id)).all() == [
                (9, None)
            ]
        result = runner.invoke(main, ["db", "downgrade", "0028_ids_never_reused"])
        assert result.exit_code == 0, result.output
        with database.engine.begin() as connection:
            assert connection.execute(text("SELECT id FROM invitations")).scalars().all() == [9]
            columns = {column["name"] for column in inspect(connection).get_columns("invitations")}
            assert "visitor_type_id" not in columns
    finally:
        database.engine.dispose()
