"""visitor types: per site, what the kiosk asks, the badge band, host notice, retention;
every existing site gets one "Visitor" type that follows the site's settings

Revision ID: 0018_visitor_types
Revises: 0017_api_tokens
Create Date: 2026-12-04 18:40:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from kiosk.clock import SystemClock

revision: str = "0018_visitor_types"
down_revision: str | None = "0017_api_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIELDS = ("company", "host", "purpose", "email", "phone")


#: The reference from a visit to its type, as SQLAlchemy writes it for the models.
_SQLITE_FK = (
    ", CONSTRAINT fk_visits_visitor_type_id_visitor_types FOREIGN KEY(visitor_type_id) "
    "REFERENCES visitor_types (id) ON DELETE RESTRICT"
)


def _sqlite_set_visits_sql(change: Callable[[str], str]) -> None:
    """Rewrite the stored CREATE TABLE of "visits" (SQLite's documented way to change a
    table's constraints in place), then bump the schema version so every connection
    re-reads it.

    Alembic's batch mode would copy "visits" and drop the original instead; with foreign
    keys on (kiosk.db), dropping it deletes its rows first and cascades to every table that
    refers to visits (name words, print jobs, notifications): the visitors' own data.
    """
    connection = op.get_bind()
    old = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'visits'"
    ).scalar_one()
    version = connection.exec_driver_sql("PRAGMA schema_version").scalar()
    connection.exec_driver_sql("PRAGMA writable_schema=ON")
    connection.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'visits'", (change(old),)
    )
    connection.exec_driver_sql(f"PRAGMA schema_version={int(version or 0) + 1}")
    connection.exec_driver_sql("PRAGMA writable_schema=OFF")


def _sqlite_add_visit_type() -> None:
    # The new column holds only NULLs, so the reference added to it holds from the start.
    op.execute("ALTER TABLE visits ADD COLUMN visitor_type_id INTEGER")
    _sqlite_set_visits_sql(lambda sql: sql.rstrip().removesuffix(")") + _SQLITE_FK + ")")


def _sqlite_drop_visit_type() -> None:
    _sqlite_set_visits_sql(lambda sql: sql.replace(_SQLITE_FK, ""))
    op.execute("ALTER TABLE visits DROP COLUMN visitor_type_id")


def upgrade() -> None:
    op.create_table(
        "visitor_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=True),
        sa.Column("names", sa.JSON(), nullable=True),
        sa.Column("band_labels", sa.JSON(), nullable=True),
        sa.Column("band_colour", sa.String(length=7), nullable=True),
        *(sa.Column(f"field_{field}", sa.String(length=8), nullable=True) for field in _FIELDS),
        sa.Column("notify_host", sa.Boolean(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "retention_days IS NULL OR retention_days BETWEEN 1 AND 3650",
            name=op.f("ck_visitor_types_retention_days_range"),
        ),
        *(
            sa.CheckConstraint(
                f"field_{field} IS NULL OR field_{field} IN ('hidden', 'optional', 'required')",
                name=op.f(f"ck_visitor_types_field_{field}_mode"),
            )
            for field in _FIELDS
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_visitor_types_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitor_types")),
    )
    with op.batch_alter_table("visitor_types", schema=None) as batch_op:
        batch_op.create_index(
            "ix_visitor_types_site_id_position", ["site_id", "position"], unique=False
        )
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_add_visit_type()
    else:
        op.add_column("visits", sa.Column("visitor_type_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_visits_visitor_type_id_visitor_types"),
            "visits",
            "visitor_types",
            ["visitor_type_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    op.create_index(op.f("ix_visits_visitor_type_id"), "visits", ["visitor_type_id"], unique=False)
    # Each existing site: one "Visitor" type with nothing of its own, so it asks, notifies,
    # prints and keeps exactly what the site did. Its visits so far keep no type (None),
    # which the kiosk, the badge and the purge read the same way.
    sites = sa.table("sites", sa.column("id", sa.Integer()))
    types = sa.table(
        "visitor_types",
        sa.column("site_id", sa.Integer()),
        sa.column("position", sa.Integer()),
        sa.column("key", sa.String()),
        sa.column("notify_host", sa.Boolean()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    created = SystemClock().now()
    if connection.dialect.name == "sqlite":
        created = created.replace(tzinfo=None)  # how kiosk.models.UTCDateTime stores it
    site_ids = [row[0] for row in connection.execute(sa.select(sites.c.id))]
    if site_ids:
        connection.execute(
            types.insert(),
            [
                {
                    "site_id": site_id,
                    "position": 0,
                    "key": "visitor",
                    "notify_host": True,
                    "created_at": created,
                }
                for site_id in site_ids
            ],
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_visits_visitor_type_id"), table_name="visits")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_drop_visit_type()
    else:
        op.drop_constraint(
            op.f("fk_visits_visitor_type_id_visitor_types"), "visits", type_="foreignkey"
        )
        op.drop_column("visits", "visitor_type_id")
    with op.batch_alter_table("visitor_types", schema=None) as batch_op:
        batch_op.drop_index("ix_visitor_types_site_id_position")
    op.drop_table("visitor_types")
