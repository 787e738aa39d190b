"""crypto-shredding: sealed (encrypted) personal fields with their row keys, and the key ids a
purge run destroyed (docs/erasure.md)

The old plaintext columns stay, so that upgrading adds columns only (no table is rebuilt, no
check-in blocked): rows written from now on leave them empty ("" where the column is NOT NULL,
else NULL) and hold their values sealed; rows written before are read from them until their
first update seals them.

Revision ID: 0021_encrypted_fields
Revises: 0020_visit_groups
Create Date: 2026-12-04 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_encrypted_fields"
down_revision: str | None = "0020_visit_groups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALED = {
    "visits": ("visitor_name", "company", "email", "phone", "purpose"),
    "invitations": ("visitor_name", "company", "email"),
    "notifications": ("recipient", "subject", "body"),
    "session_items": ("value",),
}


def upgrade() -> None:
    for table, fields in SEALED.items():
        op.add_column(table, sa.Column("row_key", sa.LargeBinary(16), nullable=True))
        for field in fields:
            op.add_column(table, sa.Column(f"{field}_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("purge_runs", sa.Column("destroyed_keys", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("purge_runs", "destroyed_keys")
    for table, fields in SEALED.items():
        for field in fields:
            op.drop_column(table, f"{field}_sealed")
        op.drop_column(table, "row_key")
