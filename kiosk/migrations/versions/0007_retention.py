"""retention: purge runs, daily statistics, contact-field retention, the privacy role

Revision ID: 0007_retention
Revises: 0006_admin
Create Date: 2026-11-25 01:55:18.272725
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_retention"
down_revision: str | None = "0006_admin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES_BEFORE = "role IN ('reception', 'admin')"
_ROLES_AFTER = "role IN ('reception', 'admin', 'privacy')"


def upgrade() -> None:
    op.create_table(
        "purge_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("slot", sa.String(length=80), nullable=True),
        sa.Column("error", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed')",
            name=op.f("ck_purge_runs_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purge_runs")),
        sa.UniqueConstraint("slot", name=op.f("uq_purge_runs_slot")),
    )
    with op.batch_alter_table("purge_runs", schema=None) as batch_op:
        batch_op.create_index("ix_purge_runs_started_at", ["started_at"], unique=False)

    op.create_table(
        "purge_run_sites",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("visit_cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contact_cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invitation_cutoff", sa.Date(), nullable=False),
        sa.Column("visits_erased", sa.Integer(), nullable=False),
        sa.Column("invitations_erased", sa.Integer(), nullable=False),
        sa.Column("contacts_erased", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["purge_runs.id"],
            name=op.f("fk_purge_run_sites_run_id_purge_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_purge_run_sites_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "site_id", name=op.f("pk_purge_run_sites")),
    )
    op.create_table(
        "site_daily_stats",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("checked_out", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_site_daily_stats_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", "day", name=op.f("pk_site_daily_stats")),
    )
    op.create_table(
        "host_daily_stats",
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("checked_out", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_id"],
            ["hosts.id"],
            name=op.f("fk_host_daily_stats_host_id_hosts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_host_daily_stats_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("host_id", "day", name=op.f("pk_host_daily_stats")),
    )
    with op.batch_alter_table("host_daily_stats", schema=None) as batch_op:
        batch_op.create_index("ix_host_daily_stats_site_id_day", ["site_id", "day"], unique=False)

    # Autogenerate misses CHECK constraints: they are written here by hand. On SQLite, batch
    # mode copies the table and keeps its other (named) constraints.
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_retention_days", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_sites_contact_retention_days_range"),
            "contact_retention_days IS NULL OR contact_retention_days BETWEEN 1 AND 3650",
        )
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_users_role_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_staff_users_role_known"), _ROLES_AFTER)


def downgrade() -> None:
    # Privacy officers cannot exist under the old constraint; their accounts go with it.
    op.execute("DELETE FROM staff_users WHERE role = 'privacy'")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_users_role_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_staff_users_role_known"), _ROLES_BEFORE)
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sites_contact_retention_days_range"), type_="check")
        batch_op.drop_column("contact_retention_days")

    with op.batch_alter_table("host_daily_stats", schema=None) as batch_op:
        batch_op.drop_index("ix_host_daily_stats_site_id_day")

    op.drop_table("host_daily_stats")
    op.drop_table("site_daily_stats")
    op.drop_table("purge_run_sites")
    with op.batch_alter_table("purge_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_purge_runs_started_at")

    op.drop_table("purge_runs")
