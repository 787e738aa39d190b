"""for each site and token day, a time no visit indexed under that day's key checked in after:
the history search reads the keys that can hold the newest visits first and stops once it has
enough (docs/erasure.md, "Search: a blind index"; kiosk.blind_index.record_token_days)

Filled here from the tokens already written, one pass over the token index grouped by site
and day (it reads, so check-ins go on); the visits an earlier migration left to ``kiosk db
upgrade`` get theirs as it indexes them.

Revision ID: 0026_name_token_days
Revises: 0025_token_index_only
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_name_token_days"
down_revision: str | None = "0025_token_index_only"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "name_token_days",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.LargeBinary(length=2), nullable=False),
        sa.Column("checked_in_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "day", name=op.f("pk_name_token_days")),
    )
    day = (
        "substring(token from 1 for 2)"
        if op.get_bind().dialect.name == "postgresql"
        else "substr(token, 1, 2)"
    )
    # The greatest check-in time is a bound as good as the app's (the end of that hour).
    op.execute(
        "INSERT INTO name_token_days (site_id, day, checked_in_until)"  # noqa: S608 - no input
        f" SELECT site_id, {day}, max(checked_in_at) FROM visit_name_tokens"
        f" GROUP BY site_id, {day}"
    )


def downgrade() -> None:
    op.drop_table("name_token_days")
