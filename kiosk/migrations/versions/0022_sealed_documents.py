"""crypto-shredding for signed documents: the signer's name, company, email and the PDF sealed
under the key of the day the signed copy must be gone (docs/erasure.md)

As 0021 did for visits, the old plaintext columns stay (adding columns only); rows written from
now on leave them empty and hold their values sealed.

Revision ID: 0022_sealed_documents
Revises: 0021_encrypted_fields
Create Date: 2026-12-05 01:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_sealed_documents"
down_revision: str | None = "0021_encrypted_fields"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALED = ("signer_name", "signer_company", "signer_email", "pdf")


def upgrade() -> None:
    op.add_column("signed_documents", sa.Column("row_key", sa.LargeBinary(16), nullable=True))
    for field in SEALED:
        op.add_column(
            "signed_documents", sa.Column(f"{field}_sealed", sa.LargeBinary(), nullable=True)
        )


def downgrade() -> None:
    for field in SEALED:
        op.drop_column("signed_documents", f"{field}_sealed")
    op.drop_column("signed_documents", "row_key")
