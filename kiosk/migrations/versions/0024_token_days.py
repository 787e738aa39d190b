"""blind-index tokens start with their key's erase day, so each day's tokens lie together in
the token index (the purge deletes a day's tokens as one stretch of it instead of 20 random
places per visit; docs/erasure.md, "Search: a blind index")

Tokens of the earlier format cannot be converted here (their keys live in the key store), so
they are deleted, and ``kiosk db upgrade`` writes the kept visits' tokens anew after this
migration (kiosk.services.name_index), in batches; until it has, a search does not find the
visits not yet indexed.

Revision ID: 0024_token_days
Revises: 0023_blind_index
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_token_days"
down_revision: str | None = "0023_blind_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM visit_name_tokens")


def downgrade() -> None:
    # The earlier format's tokens are written again by `kiosk db upgrade` of that version.
    op.execute("DELETE FROM visit_name_tokens")
