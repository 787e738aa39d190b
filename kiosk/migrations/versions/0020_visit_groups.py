"""visit groups ("I am with others"): the group table, each visit's group, the site's
companion limit, and the purge's evidence per visitor type

Revision ID: 0020_visit_groups
Revises: 0019_documents
Create Date: 2026-12-04 21:40:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_visit_groups"
down_revision: str | None = "0019_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The reference from a visit to its group, as SQLAlchemy writes it for the models.
_SQLITE_FK = (
    ", CONSTRAINT fk_visits_group_id_visit_groups FOREIGN KEY(group_id) "
    "REFERENCES visit_groups (id) ON DELETE SET NULL"
)


def _sqlite_set_visits_sql(change: Callable[[str], str]) -> None:
    """Rewrite the stored CREATE TABLE of "visits" in place (as 0018_visitor_types does, and
    for the same reason: batch mode would copy and drop "visits", cascading the drop to the
    visitors' own data)."""
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


def upgrade() -> None:
    op.create_table(
        "visit_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_visit_groups_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_groups")),
    )
    op.create_index(op.f("ix_visit_groups_site_id"), "visit_groups", ["site_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # The new column holds only NULLs, so the reference added to it holds from the start.
        op.execute("ALTER TABLE visits ADD COLUMN group_id INTEGER")
        _sqlite_set_visits_sql(lambda sql: sql.rstrip().removesuffix(")") + _SQLITE_FK + ")")
    else:
        op.add_column("visits", sa.Column("group_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_visits_group_id_visit_groups"),
            "visits",
            "visit_groups",
            ["group_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(op.f("ix_visits_group_id"), "visits", ["group_id"], unique=False)
    # Every site allows groups of up to ten, the default a new site gets. The server default
    # stays (dropping it would need batch mode on SQLite, which copies and drops "sites").
    op.add_column(
        "sites",
        sa.Column("max_companions", sa.Integer(), nullable=False, server_default="10"),
    )
    op.create_table(
        "purge_run_types",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("visitor_type_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("kept_days", sa.Integer(), nullable=False),
        sa.Column("visit_cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("visits_erased", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["purge_runs.id"],
            name=op.f("fk_purge_run_types_run_id_purge_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_purge_run_types_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_type_id"],
            ["visitor_types.id"],
            name=op.f("fk_purge_run_types_visitor_type_id_visitor_types"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "visitor_type_id", name=op.f("pk_purge_run_types")),
    )


def downgrade() -> None:
    op.drop_table("purge_run_types")
    op.execute("ALTER TABLE sites DROP COLUMN max_companions")
    op.drop_index(op.f("ix_visits_group_id"), table_name="visits")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_set_visits_sql(lambda sql: sql.replace(_SQLITE_FK, ""))
        op.execute("ALTER TABLE visits DROP COLUMN group_id")
    else:
        op.drop_constraint(op.f("fk_visits_group_id_visit_groups"), "visits", type_="foreignkey")
        op.drop_column("visits", "group_id")
    op.drop_index(op.f("ix_visit_groups_site_id"), table_name="visit_groups")
    op.drop_table("visit_groups")
