"""webhook subscriptions: several signed webhooks per site, and outbox rows for them

Revision ID: 0015_webhook_subscriptions
Revises: 0014_site_welcome
Create Date: 2026-12-04 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_webhook_subscriptions"
down_revision: str | None = "0014_site_welcome"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "kind IN ('host_email', 'host_webhook', 'invitation_email')"
NEW_KINDS = "kind IN ('host_email', 'host_webhook', 'invitation_email', 'event_webhook')"
OLD_SUBJECT = "visit_id IS NOT NULL OR invitation_id IS NOT NULL"
NEW_SUBJECT = "visit_id IS NOT NULL OR invitation_id IS NOT NULL OR subscription_id IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("events", sa.String(length=200), nullable=False),
        sa.Column("personal", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "format IN ('standard', 'teams', 'slack')",
            name=op.f("ck_webhook_subscriptions_format_known"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_webhook_subscriptions_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_subscriptions_site_id"), ["site_id"], unique=False
        )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subscription_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_notifications_subscription_id"), ["subscription_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_subscription_id_webhook_subscriptions"),
            "webhook_subscriptions",
            ["subscription_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint(op.f("ck_notifications_kind_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notifications_kind_known"), NEW_KINDS)
        batch_op.drop_constraint(op.f("ck_notifications_visit_or_invitation"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_notifications_visit_invitation_or_subscription"), NEW_SUBJECT
        )


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE subscription_id IS NOT NULL")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_notifications_visit_invitation_or_subscription"), type_="check"
        )
        batch_op.create_check_constraint(op.f("ck_notifications_visit_or_invitation"), OLD_SUBJECT)
        batch_op.drop_constraint(op.f("ck_notifications_kind_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notifications_kind_known"), OLD_KINDS)
        batch_op.drop_constraint(
            batch_op.f("fk_notifications_subscription_id_webhook_subscriptions"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_notifications_subscription_id"))
        batch_op.drop_column("subscription_id")
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_subscriptions_site_id"))
    op.drop_table("webhook_subscriptions")
