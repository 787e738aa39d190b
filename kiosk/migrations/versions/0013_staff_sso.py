"""staff single sign-on: the provider's subject a staff user is linked to

Revision ID: 0013_staff_sso
Revises: 0012_kiosk_keyboard
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_staff_sso"
down_revision: str | None = "0012_kiosk_keyboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_subject", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_staff_users_sso_subject"), ["sso_subject"])


def downgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_staff_users_sso_subject"), type_="unique")
        batch_op.drop_column("sso_subject")
