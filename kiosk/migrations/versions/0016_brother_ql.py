"""brother ql: the brother_ql print backend and its printer's address, per site and kiosk

Revision ID: 0016_brother_ql
Revises: 0015_webhook_subscriptions
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_brother_ql"
down_revision: str | None = "0015_webhook_subscriptions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKENDS = "'browser', 'cups', 'none'"
_WITH_QL = "'browser', 'cups', 'none', 'brother_ql'"


def _set_backends(backends: str) -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sites_print_backend_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_sites_print_backend_known"), f"print_backend IN ({backends})"
        )
    with op.batch_alter_table("kiosk_devices", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_kiosk_devices_print_backend_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_kiosk_devices_print_backend_known"),
            f"print_backend IS NULL OR print_backend IN ({backends})",
        )


def upgrade() -> None:
    for table in ("sites", "kiosk_devices"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("ql_printer", sa.String(length=127), nullable=True))
    _set_backends(_WITH_QL)


def downgrade() -> None:
    # A site or kiosk printing on a Brother QL printer prints from the browser again.
    op.execute("UPDATE sites SET print_backend = 'browser' WHERE print_backend = 'brother_ql'")
    op.execute(
        "UPDATE kiosk_devices SET print_backend = 'browser' WHERE print_backend = 'brother_ql'"
    )
    _set_backends(_BACKENDS)
    for table in ("sites", "kiosk_devices"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("ql_printer")
