"""crypto-shredding for the history search: the folded name words are replaced by keyed
blind-index tokens (docs/erasure.md, "Search: a blind index")

The plain words cannot be turned into tokens here (the keys live in the key store, outside
the database), so they are dropped with their table, and ``kiosk db upgrade`` writes the
tokens of the kept visits after this migration (kiosk.blind_index_rebuild), in batches; until
it has, a search does not find the visits not yet indexed.

Revision ID: 0023_blind_index
Revises: 0022_sealed_documents
Create Date: 2026-12-05 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_blind_index"
down_revision: str | None = "0022_sealed_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
    op.drop_index("ix_visit_name_words_word_site_id_checked_in_at", table_name="visit_name_words")
    op.drop_table("visit_name_words")


def downgrade() -> None:
    # The words come back empty: they can only be made from the names, which are sealed.
    op.create_table(
        "visit_name_words",
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=200), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_visit_name_words_visit_id_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("visit_id", "word", name=op.f("pk_visit_name_words")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_visit_name_words_word_site_id_checked_in_at",
        "visit_name_words",
        ["word", "site_id", "checked_in_at", "visit_id"],
    )
    op.drop_index(
        "ix_visit_name_tokens_token_site_id_checked_in_at", table_name="visit_name_tokens"
    )
    op.drop_table("visit_name_tokens")
