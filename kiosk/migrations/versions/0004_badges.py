"""badges: per-site badge and print settings, print jobs

Revision ID: 0004_badges
Revises: 0003_dashboard
Create Date: 2026-11-25 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_badges"
down_revision: str | None = "0003_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "badge_preset",
                sa.String(length=32),
                nullable=False,
                server_default="brother-62x100",
            )
        )
        batch_op.add_column(
            sa.Column(
                "badge_band_colour", sa.String(length=7), nullable=False, server_default="#0B5CAD"
            )
        )
        batch_op.add_column(sa.Column("badge_logo", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "print_backend", sa.String(length=16), nullable=False, server_default="browser"
            )
        )
        batch_op.add_column(sa.Column("cups_printer", sa.String(length=127), nullable=True))
        batch_op.create_check_constraint(
            "print_backend_known", "print_backend IN ('browser', 'cups', 'none')"
        )
    # The server defaults only filled the existing rows; the models set these from now on.
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.alter_column("badge_preset", server_default=None)
        batch_op.alter_column("badge_band_colour", server_default=None)
        batch_op.alter_column("print_backend", server_default=None)

    op.create_table(
        "print_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("printer", sa.String(length=127), nullable=True),
        sa.Column("cups_job", sa.String(length=160), nullable=True),
        sa.Column("error", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "status IN ('sent', 'failed', 'browser', 'download')",
            name=op.f("ck_print_jobs_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_print_jobs_visit_id_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_jobs")),
    )
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_print_jobs_visit_id_id", ["visit_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_print_jobs_visit_id_id")
    op.drop_table("print_jobs")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_constraint("print_backend_known", type_="check")
        batch_op.drop_column("cups_printer")
        batch_op.drop_column("print_backend")
        batch_op.drop_column("badge_logo")
        batch_op.drop_column("badge_band_colour")
        batch_op.drop_column("badge_preset")
