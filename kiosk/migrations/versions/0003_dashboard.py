"""end of day, webhook, host language

Revision ID: 0003_dashboard
Revises: 0002_kiosk
Create Date: 2026-11-25 01:49:25.900538
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_dashboard"
down_revision: str | None = "0002_kiosk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=8), nullable=True))

    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_of_day", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("webhook_url", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("webhook_url")
        batch_op.drop_column("end_of_day")

    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.drop_column("locale")
