"""the blind index is one primary key, token first, with no foreign key to the visit and no
second index by visit: a visit's twenty tokens are written to one B-tree instead of two, and
the purge deletes a passed day's tokens as one stretch of it (docs/erasure.md, "Search: a
blind index"; kiosk.services.name_index.delete_passed_tokens)

The tokens cannot be moved here without rewriting the table, and cannot be made here (the keys
live in the key store): the table is made anew, and ``kiosk db upgrade`` writes the kept
visits' tokens after this migration, in resumable batches (kiosk.services.name_index), from
the backlog this migration records; until it has, a search does not find the visits not yet
indexed.

Revision ID: 0025_token_index_only
Revises: 0024_token_days
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_token_index_only"
down_revision: str | None = "0024_token_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(
        "ix_visit_name_tokens_token_site_id_checked_in_at", table_name="visit_name_tokens"
    )
    op.drop_table("visit_name_tokens")
    op.create_table(
        "visit_name_tokens",
        sa.Column("token", sa.LargeBinary(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("visit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint(
            "token", "site_id", "checked_in_at", "visit_id", name=op.f("pk_visit_name_tokens")
        ),
        sqlite_with_rowid=False,
    )
    backlog = op.create_table(
        "name_index_backlog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indexed_through", sa.Integer(), nullable=False),
        sa.Column("until", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_name_index_backlog")),
    )
    last = op.get_bind().execute(sa.text("SELECT max(id) FROM visits")).scalar()
    if last is not None:
        op.bulk_insert(backlog, [{"id": 1, "indexed_through": 0, "until": last}])


def downgrade() -> None:
    # The earlier layout's tokens are written again by `kiosk db upgrade` of that version.
    op.drop_table("name_index_backlog")
    op.drop_table("visit_name_tokens")
    op.create_table(
        "visit_name_tokens",
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.LargeBinary(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_visit_name_tokens_visit_id_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("visit_id", "token", name=op.f("pk_visit_name_tokens")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_visit_name_tokens_token_site_id_checked_in_at",
        "visit_name_tokens",
        ["token", "site_id", "checked_in_at", "visit_id"],
    )
