"""``kiosk db``: schema migrations (Alembic)."""

from __future__ import annotations

from typing import Any

import click
from alembic import command as alembic_command
from alembic.util.exc import CommandError
from flask.cli import AppGroup

from kiosk.db import get_database
from kiosk.schema import alembic_config, rename_old_revisions


@click.group(cls=AppGroup)
def db() -> None:
    """Database schema migrations."""


def _revision(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """A revision is named (Alembic asserts on an empty one)."""
    if not value.strip():
        raise click.BadParameter("name a revision, such as head or 0027")
    return value


@db.command()
@click.argument("revision", default="head", callback=_revision)
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    with get_database().engine.begin() as connection:
        rename_old_revisions(connection)
    _run_alembic(alembic_command.upgrade, revision)
    click.echo("Database is up to date.")
    if revision == "head":
        _seal_kept_rows()


def _seal_kept_rows() -> None:
    """What Alembic cannot do without the key store, for the rows kept from before it: seal
    their personal fields (kiosk.services.seal_existing), then write the blind index of the
    visits that have none (kiosk.services.name_index). Counts only, never a value."""
    from kiosk.sealing import NoKeyStore
    from kiosk.services.name_index import index_unindexed_visits
    from kiosk.services.seal_existing import seal_existing_rows

    database = get_database()
    with database.sessionmaker() as session:
        try:
            sealed = seal_existing_rows(session)
            indexed = index_unindexed_visits(session)
        except NoKeyStore:
            click.echo(
                "Sealing the kept rows needs the key store: run this again once it is set"
                " (docs/erasure.md)."
            )
            return
    for table, count in sealed.items():
        click.echo(f"Sealed {count} kept rows of {table}.")
    if indexed:
        click.echo(f"Name search index written for {indexed} kept visits.")


@db.command()
@click.argument("revision", callback=_revision)
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
                try:
                    func(config, *args, **kwargs)
                except CommandError as exc:
                    # An unknown revision, a database behind its migrations: Alembic's own
                    # sentence, without a traceback.
                    raise click.ClickException(str(exc)) from exc
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise click.ClickException("the migration left rows with broken references")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
