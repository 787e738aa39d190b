"""kiosk devices, invitations, site field settings

Revision ID: 0002_kiosk
Revises: 0001_initial
Create Date: 2026-11-25 01:31:40.043309
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_kiosk"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kiosk_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("pairing_code_hash", sa.String(length=64), nullable=True),
        sa.Column("pairing_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cookie_nonce", sa.String(length=64), nullable=True),
        sa.Column("paired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_kiosk_devices_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_devices")),
        sa.UniqueConstraint("pairing_code_hash", name=op.f("uq_kiosk_devices_pairing_code_hash")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_kiosk_devices_site_id_name")),
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=True),
        sa.Column("visitor_name", sa.String(length=200), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("expected_on", sa.Date(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["host_id"],
            ["hosts.id"],
            name=op.f("fk_invitations_host_id_hosts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_invitations_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_invitations_visit_id_visits"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("site_id", "code", name=op.f("uq_invitations_site_id_code")),
        sa.UniqueConstraint("token", name=op.f("uq_invitations_token")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_invitations_visit_id")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invitations_site_id_expected_on", ["site_id", "expected_on"], unique=False
        )

    # Existing sites get the defaults: name always, host required, company and purpose
    # optional, email and phone not asked (data minimisation).
    defaults = {
        "company": "optional",
        "host": "required",
        "purpose": "optional",
        "email": "hidden",
        "phone": "hidden",
    }
    with op.batch_alter_table("sites", schema=None) as batch_op:
        for field, default in defaults.items():
            batch_op.add_column(
                sa.Column(
                    f"field_{field}", sa.String(length=8), nullable=False, server_default=default
                )
            )
            batch_op.create_check_constraint(
                op.f(f"ck_sites_field_{field}_mode"),
                f"field_{field} IN ('hidden', 'optional', 'required')",
            )


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        for field in ("phone", "email", "purpose", "host", "company"):
            batch_op.drop_constraint(op.f(f"ck_sites_field_{field}_mode"), type_="check")
            batch_op.drop_column(f"field_{field}")

    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_invitations_site_id_expected_on")

    op.drop_table("invitations")
    op.drop_table("kiosk_devices")
