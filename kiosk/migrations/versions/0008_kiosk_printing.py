"""kiosk printing: a print backend per kiosk device, and the kiosk each visit registered at

Revision ID: 0008_kiosk_printing
Revises: 0007_retention
Create Date: 2026-11-25 04:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_kiosk_printing"
down_revision: str | None = "0007_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kiosk_devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("print_backend", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("cups_printer", sa.String(length=127), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_kiosk_devices_print_backend_known"),
            "print_backend IS NULL OR print_backend IN ('browser', 'cups', 'none')",
        )

    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kiosk_device_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_visits_kiosk_device_id_kiosk_devices"),
            "kiosk_devices",
            ["kiosk_device_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_visits_kiosk_device_id_kiosk_devices"), type_="foreignkey"
        )
        batch_op.drop_column("kiosk_device_id")

    with op.batch_alter_table("kiosk_devices", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_kiosk_devices_print_backend_known"), type_="check")
        batch_op.drop_column("cups_printer")
        batch_op.drop_column("print_backend")
