"""staff sessions: a per-user generation that logout and password changes bump

Revision ID: 0009_staff_session
Revises: 0008_kiosk_printing
Create Date: 2026-11-25 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_staff_session"
down_revision: str | None = "0008_kiosk_printing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0")
        )
    # The server default only filled the existing rows; the model sets it from now on.
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.alter_column("session_generation", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
