"""dashboard indexes: visits by check-in time, and the folded words of visitors' names

Revision ID: 0010_dashboard_indexes
Revises: 0009_staff_session
Create Date: 2026-11-25 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kiosk.text import name_words

revision: str = "0010_dashboard_indexes"
down_revision: str | None = "0009_staff_session"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_visits_site_id_checked_in_at", ["site_id", "checked_in_at"], unique=False
        )
    words = op.create_table(
        "visit_name_words",
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column(
            "word",
            sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_visit_name_words_visit_id_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("visit_id", "word", name=op.f("pk_visit_name_words")),
        sqlite_with_rowid=False,
    )
    # The words of the visits already kept, in batches (the same folding the app uses).
    connection = op.get_bind()
    visits = sa.table(
        "visits",
        sa.column("id", sa.Integer),
        sa.column("visitor_name", sa.String),
        sa.column("site_id", sa.Integer),
        sa.column("checked_in_at", sa.DateTime(timezone=True)),
    )
    last = 0
    while True:
        rows = connection.execute(
            sa.select(visits.c.id, visits.c.visitor_name, visits.c.site_id, visits.c.checked_in_at)
            .where(visits.c.id > last)
            .order_by(visits.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            sa.insert(words),
            [
                {"visit_id": visit_id, "word": word, "site_id": site_id, "checked_in_at": at}
                for visit_id, name, site_id, at in rows
                for word in name_words(name)
            ],
        )
        last = rows[-1][0]
    with op.batch_alter_table("visit_name_words", schema=None) as batch_op:
        batch_op.create_index(
            "ix_visit_name_words_word_site_id_checked_in_at",
            ["word", "site_id", "checked_in_at", "visit_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("visit_name_words", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_name_words_word_site_id_checked_in_at")
    op.drop_table("visit_name_words")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_site_id_checked_in_at")
