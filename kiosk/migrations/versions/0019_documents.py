"""documents to sign: a site's documents, their versions per language, which visitor types
sign which, the signed copies (PDFs kept for each document's own period), and the purge's
count of signed documents erased

Revision ID: 0019_documents
Revises: 0018_visitor_types
Create Date: 2026-12-04 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_documents"
down_revision: str | None = "0018_visitor_types"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("acceptance", sa.String(length=16), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('nda', 'house_rules', 'safety', 'other')",
            name=op.f("ck_documents_kind_known"),
        ),
        sa.CheckConstraint(
            "acceptance IN ('signature', 'tick')", name=op.f("ck_documents_acceptance_known")
        ),
        sa.CheckConstraint(
            "retention_days BETWEEN 1 AND 3650", name=op.f("ck_documents_retention_days_range")
        ),
        sa.CheckConstraint(
            "valid_days IS NULL OR valid_days BETWEEN 1 AND 3650",
            name=op.f("ck_documents_valid_days_range"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_documents_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index(op.f("ix_documents_site_id"), "documents", ["site_id"], unique=False)
    op.create_table(
        "document_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_versions_document_id_documents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_versions")),
        sa.UniqueConstraint(
            "document_id",
            "locale",
            "version",
            name=op.f("uq_document_versions_document_id_locale_version"),
        ),
    )
    op.create_table(
        "visitor_type_documents",
        sa.Column("visitor_type_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_visitor_type_documents_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_type_id"],
            ["visitor_types.id"],
            name=op.f("fk_visitor_type_documents_visitor_type_id_visitor_types"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "visitor_type_id", "document_id", name=op.f("pk_visitor_type_documents")
        ),
    )
    op.create_table(
        "signed_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("document_version_id", sa.Integer(), nullable=False),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("signer_company", sa.String(length=200), nullable=True),
        sa.Column("signer_email", sa.String(length=254), nullable=True),
        sa.Column("accepted_by", sa.String(length=16), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erase_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_signed_documents_document_id_documents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["document_version_id"],
            ["document_versions.id"],
            name=op.f("fk_signed_documents_document_version_id_document_versions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_signed_documents_site_id_sites"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_signed_documents_visit_id_visits"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signed_documents")),
    )
    op.create_index(
        "ix_signed_documents_erase_after", "signed_documents", ["erase_after"], unique=False
    )
    op.create_index(
        "ix_signed_documents_site_id_document_id",
        "signed_documents",
        ["site_id", "document_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_signed_documents_visit_id"), "signed_documents", ["visit_id"], unique=False
    )
    # A plain ADD COLUMN on both backends: SQLite needs no table copy for a column with a
    # constant default.
    op.add_column(
        "purge_run_sites",
        sa.Column("documents_erased", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("purge_run_sites", schema=None) as batch_op:
        batch_op.drop_column("documents_erased")
    op.drop_index(op.f("ix_signed_documents_visit_id"), table_name="signed_documents")
    op.drop_index("ix_signed_documents_site_id_document_id", table_name="signed_documents")
    op.drop_index("ix_signed_documents_erase_after", table_name="signed_documents")
    op.drop_table("signed_documents")
    op.drop_table("visitor_type_documents")
    op.drop_table("document_versions")
    op.drop_index(op.f("ix_documents_site_id"), table_name="documents")
    op.drop_table("documents")
