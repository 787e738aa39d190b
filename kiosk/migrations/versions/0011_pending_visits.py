"""pending visits server-side: session items (kiosk details, history search terms); notices
generated from the first layer

Revision ID: 0011_pending_visits
Revises: 0010_dashboard_indexes
Create Date: 2026-12-04 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_pending_visits"
down_revision: str | None = "0010_dashboard_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_items",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", "name", name=op.f("pk_session_items")),
    )
    with op.batch_alter_table("session_items", schema=None) as batch_op:
        batch_op.create_index("ix_session_items_updated_at", ["updated_at"], unique=False)
    with op.batch_alter_table("notice_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("generated", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("notice_versions", schema=None) as batch_op:
        batch_op.alter_column("generated", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("notice_versions", schema=None) as batch_op:
        batch_op.drop_column("generated")
    with op.batch_alter_table("session_items", schema=None) as batch_op:
        batch_op.drop_index("ix_session_items_updated_at")
    op.drop_table("session_items")
