"""notice sections for the dashboard's structured notice editor

Revision ID: 0006_admin
Revises: 0005_notifications
Create Date: 2026-11-25 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_admin"
down_revision: str | None = "0005_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notice_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sections", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notice_versions", schema=None) as batch_op:
        batch_op.drop_column("sections")
