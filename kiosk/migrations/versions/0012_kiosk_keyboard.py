"""kiosk keyboard: whether a kiosk device shows its own on-screen keyboard (on by default)

Revision ID: 0012_kiosk_keyboard
Revises: 0011_pending_visits
Create Date: 2026-12-04 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_kiosk_keyboard"
down_revision: str | None = "0011_pending_visits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Kiosks paired before this get the keyboard too: it is what a touchscreen needs.
    with op.batch_alter_table("kiosk_devices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("on_screen_keyboard", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("kiosk_devices", schema=None) as batch_op:
        batch_op.drop_column("on_screen_keyboard")
