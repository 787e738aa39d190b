"""Is the database at the newest migration? The app will not serve an out-of-date schema."""

from __future__ import annotations

import sys
from functools import cache

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app, request
from sqlalchemy import Connection, Engine, inspect, text

from kiosk.paths import MIGRATIONS_DIR

UPGRADE_COMMAND = "kiosk db upgrade"


class SchemaOutOfDate(Exception):
    """The database is not at the newest migration."""

    def __init__(self, current: tuple[str, ...], head: tuple[str, ...]) -> None:
        super().__init__(
            f"database schema is at {', '.join(current) or 'nothing (empty database)'}, "
            f"the code needs {', '.join(head)}: run `{UPGRADE_COMMAND}`"
        )
        self.current = current
        self.head = head


def alembic_config() -> Config:
    """An Alembic configuration that finds the migrations inside the installed package."""
    # Alembic binds sys.stdout when it is imported; hand it the current one (CLI runners swap it).
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


#: Revision ids before the migrations were renumbered in chain order (old id -> new id). A
#: database made before then still names an old id in ``alembic_version``; ``kiosk db upgrade``
#: rewrites it once (rename_old_revisions) and then upgrades as usual.
RENAMED_REVISIONS: dict[str, str] = {
    "0003_badges": "0004_badges",
    "0004_retention": "0007_retention",
    "0007_kiosk_printing": "0008_kiosk_printing",
    "0008_dashboard_indexes": "0010_dashboard_indexes",
}


def rename_old_revisions(connection: Connection) -> None:
    """Rewrite a pre-renumbering revision id in ``alembic_version`` to its new id."""
    if not inspect(connection).has_table("alembic_version"):
        return
    current = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    for old in current:
        if old in RENAMED_REVISIONS:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
                {"new": RENAMED_REVISIONS[old], "old": old},
            )


@cache
def head_revisions() -> tuple[str, ...]:
    """The newest migration(s) this code ships."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The migration(s) the database is at."""
    with engine.connect() as connection:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaOutOfDate` unless the database is at the newest migration."""
    current = current_revisions(engine)
    head = head_revisions()
    if current != head:
        raise SchemaOutOfDate(current, head)


def require_current_schema() -> None:
    """Before each request until the check passes once: refuse to serve an old schema."""
    if request.endpoint == "static" or current_app.extensions.get("kiosk.schema_ok"):
        return
    from kiosk.db import get_database

    check_schema(get_database().engine)
    current_app.extensions["kiosk.schema_ok"] = True
