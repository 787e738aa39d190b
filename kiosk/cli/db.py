"""``kiosk db``: schema migrations (Alembic)."""

from __future__ import annotations

from typing import Any

import click
from alembic import command as alembic_command
from flask.cli import AppGroup

from kiosk.db import get_database
from kiosk.schema import alembic_config, rename_old_revisions


@click.group(cls=AppGroup)
def db() -> None:
    """Database schema migrations."""


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    with get_database().engine.begin() as connection:
        rename_old_revisions(connection)
    _run_alembic(alembic_command.upgrade, revision)
    click.echo("Database is up to date.")
    if revision == "head":
        _index_names()


def _index_names() -> None:
    """The blind index of the visits kept from before migration 0023 (kiosk.services.name_index):
    needs the key store, so it runs after Alembic; counts only, never a name."""
    from kiosk.sealing import NoKeyStore
    from kiosk.services.name_index import index_unindexed_visits

    database = get_database()
    with database.sessionmaker() as session:
        try:
            indexed = index_unindexed_visits(session)
        except NoKeyStore:
            click.echo("The name search index needs the key store: run this again once it is set.")
            return
    if indexed:
        click.echo(f"Name search index written for {indexed} kept visits.")


@db.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    _run_alembic(alembic_command.downgrade, revision)


@db.command()
def current() -> None:
    """Show the migration the database is at."""
    _run_alembic(alembic_command.current)


@db.command()
@click.option("-m", "--message", required=True, help="What the migration changes.")
def revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    _run_alembic(alembic_command.revision, message=message, autogenerate=True)


def _run_alembic(func: Any, *args: Any, **kwargs: Any) -> None:
    config = alembic_config()
    with get_database().engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a constraint by copying the table and dropping the old one; with
            # foreign keys on, the drop first deletes its rows, and ON DELETE CASCADE / SET
            # NULL would empty or cut loose the tables that refer to it. The pragma only takes
            # effect outside a transaction (Alembic's advice for batch migrations).
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                func(config, *args, **kwargs)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise click.ClickException("the migration left rows with broken references")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
