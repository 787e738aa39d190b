"""on SQLite, ids of erased and purged rows are never given again (AUTOINCREMENT)

Without AUTOINCREMENT SQLite gives a new row the id after the largest one left: when the
newest visit was erased by request, the next visitor got its id, and the audit entries,
webhooks and notifications that named the erased visit then named someone else. Each table
whose rows are erased, purged or discarded while their ids live on elsewhere is marked
AUTOINCREMENT, and its counter starts past every id kept and every id the audit log names
for it, so ids freed before this migration are not given again either.

SQLite cannot add AUTOINCREMENT with ALTER TABLE. The stored CREATE TABLE is rewritten in
place instead (as 0018 and 0020 do, and for the same reason: copying "visits" in batch mode
rewrites its foreign keys' text, which later downgrades match): the rows are stored the same
way either way (the id is the rowid), so nothing is copied, at any size. PostgreSQL's
sequences never give an id twice: nothing changes there.

Revision ID: 0028_ids_never_reused
Revises: 0027_visit_times_index
Create Date: 2026-12-07 11:10:00
"""

from collections.abc import Callable, Sequence

from alembic import op

revision: str = "0028_ids_never_reused"
down_revision: str | None = "0027_visit_times_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Each table, and the target type its rows have in the audit log (None: not audited).
TABLES: dict[str, str | None] = {
    "visits": "visit",
    "visit_groups": None,
    "invitations": "invitation",
    "print_jobs": None,
    "notifications": "notification",
    "signed_documents": "signed_document",
    "webhook_subscriptions": "webhook_subscription",
    "notice_versions": None,
    "document_versions": None,
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    # SQLite keeps the counters in sqlite_sequence, which it makes with the first table that
    # has AUTOINCREMENT and which cannot be created directly.
    bind.exec_driver_sql("CREATE TABLE _kiosk_make_sequence (id INTEGER PRIMARY KEY AUTOINCREMENT)")
    bind.exec_driver_sql("DROP TABLE _kiosk_make_sequence")
    _rewrite(lambda table, sql: sql.replace(_table_key(table), "").replace(*_column_key(table)))
    for table, audited_as in TABLES.items():
        highest = bind.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar() or 0  # noqa: S608
        if audited_as is not None:
            named = bind.exec_driver_sql(
                "SELECT max(CAST(target_id AS INTEGER)) FROM audit_events"
                " WHERE target_type = ? AND target_id GLOB '[0-9]*'"
                " AND target_id NOT GLOB '*[^0-9]*' AND length(target_id) < 19",
                (audited_as,),
            ).scalar()
            highest = max(highest, named or 0)
        bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        if highest:
            bind.exec_driver_sql(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, highest)
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    _rewrite(
        lambda table, sql: sql.replace(_column_key(table)[1], _column_key(table)[0]).replace(
            # The table's last line: its key goes back before it, where it was.
            _first_constraint(sql),
            _table_key(table) + _first_constraint(sql),
            1,
        )
    )
    for table in TABLES:
        bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))


def _column_key(table: str) -> tuple[str, str]:
    """The id column without and with its key (and AUTOINCREMENT)."""
    return (
        "\n\tid INTEGER NOT NULL, \n",
        f"\n\tid INTEGER NOT NULL CONSTRAINT pk_{table} PRIMARY KEY AUTOINCREMENT, \n",
    )


def _table_key(table: str) -> str:
    return f"\tCONSTRAINT pk_{table} PRIMARY KEY (id), \n"


def _first_constraint(sql: str) -> str:
    """Where the table's constraints begin: its primary key stood first among them."""
    return sql[sql.index("\n\tCONSTRAINT ") + 1 :].split("\n", 1)[0] + "\n"


def _rewrite(change: Callable[[str, str], str]) -> None:
    """Rewrite each table's stored CREATE TABLE, checking that each change took."""
    connection = op.get_bind()
    version = connection.exec_driver_sql("PRAGMA schema_version").scalar()
    changed = {}
    for table in TABLES:
        old = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).scalar_one()
        new = change(table, old)
        if new == old:
            raise RuntimeError(f"the CREATE TABLE of {table} is not the one this migration knows")
        changed[table] = new
    connection.exec_driver_sql("PRAGMA writable_schema=ON")
    for table, sql in changed.items():
        connection.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table)
        )
    connection.exec_driver_sql(f"PRAGMA schema_version={int(version or 0) + 1}")
    connection.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"the rewritten tables do not check: {problems[:5]}")
