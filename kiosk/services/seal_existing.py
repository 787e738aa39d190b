"""Sealing the rows written before crypto-shredding (docs/erasure.md, "Migrating an existing
database").

Migrations 0021 and 0022 only add the ciphertext columns, so upgrading blocks nothing; the
rows already kept hold their personal fields in the old plaintext columns until they are
sealed. ``kiosk db upgrade`` runs :func:`seal_existing_rows` after Alembic (it needs the key
store): every row of every sealed model whose ciphertext columns are all empty is sealed under
its erase day's key, and its old columns emptied in the same UPDATE, in batches of
:data:`BATCH` rows, each its own short transaction, so check-ins go on meanwhile. It is
resumable by construction: an interrupted run leaves the rows it had not reached unsealed,
and the next run finds them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_
from sqlalchemy.orm import Session

from kiosk.db import locked_batches
from kiosk.sealing import force_reseal, holds_plain, sealed_fields, sealed_models

#: Rows sealed per transaction.
BATCH = 500


def _unsealed(model: type[Any]) -> Any:
    """Rows with no ciphertext at all: written before sealing (or with every field empty)."""
    return and_(
        *(getattr(model, field.sealed_attr).is_(None) for field in sealed_fields(model).values())
    )


def seal_existing_rows(session: Session, *, batch: int = BATCH) -> dict[str, int]:
    """Seal every row still holding its personal fields in plain; how many, per table."""
    sealed: dict[str, int] = {}
    model: Any
    for model in sealed_models():
        table = model.__table__.name
        # Each batch read again under the lock: a row a check-out sealed meanwhile is left as
        # it is, not written over with what the search saw (kiosk.db.locked_batches).
        for rows in locked_batches(session, model, _unsealed(model), size=batch):
            plain = [row for row in rows if holds_plain(row)]
            for row in plain:
                # Read from the old columns, sealed under the row's erase day at the flush.
                force_reseal(row, not_before=date.min)
            session.commit()
            if plain:
                sealed[table] = sealed.get(table, 0) + len(plain)
    return sealed
