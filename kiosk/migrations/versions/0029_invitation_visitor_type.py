"""an invitation may say what kind of visit it is (a visitor type of its site), so the kiosk
does not ask an invited visitor what reception already knows

Revision ID: 0029_invitation_visitor_type
Revises: 0028_ids_never_reused
Create Date: 2026-12-07 16:45:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_invitation_visitor_type"
down_revision: str | None = "0028_ids_never_reused"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: The column's reference on SQLite, as SQLAlchemy writes it for the model.
_SQLITE_REFERENCE = (
    ", CONSTRAINT fk_invitations_visitor_type_id_visitor_types FOREIGN KEY(visitor_type_id)"
    " REFERENCES visitor_types (id) ON DELETE SET NULL"
)


def _sqlite_set_invitations_sql(change: Callable[[str], str]) -> None:
    """Rewrite the stored CREATE TABLE of "invitations" (SQLite's documented way to change a
    table's constraints in place, as 0018 does for visits), then bump the schema version so
    every connection reads it again. A batch copy would drop the original table, and with
    foreign keys on, the notifications about invitations would go with it."""
    connection = op.get_bind()
    old = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'invitations'"
    ).scalar_one()
    version = connection.exec_driver_sql("PRAGMA schema_version").scalar()
    connection.exec_driver_sql("PRAGMA writable_schema=ON")
    connection.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'invitations'",
        (change(old),),
    )
    connection.exec_driver_sql(f"PRAGMA schema_version={int(version or 0) + 1}")
    connection.exec_driver_sql("PRAGMA writable_schema=OFF")


def upgrade() -> None:
    op.add_column("invitations", sa.Column("visitor_type_id", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # The new column holds only NULLs, so the reference added to it holds from the start.
        _sqlite_set_invitations_sql(
            lambda sql: sql.rstrip().removesuffix(")") + _SQLITE_REFERENCE + ")"
        )
    else:
        op.create_foreign_key(
            op.f("fk_invitations_visitor_type_id_visitor_types"),
            "invitations",
            "visitor_types",
            ["visitor_type_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops a column only once no constraint names it.
        _sqlite_set_invitations_sql(lambda sql: sql.replace(_SQLITE_REFERENCE, ""))
    else:
        op.drop_constraint(
            op.f("fk_invitations_visitor_type_id_visitor_types"), "invitations", type_="foreignkey"
        )
    op.drop_column("invitations", "visitor_type_id")
