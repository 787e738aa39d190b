"""Writing the blind index (kiosk.blind_index) of visits that have none: the visits kept when
a database was upgraded past migration 0023, whose plain name words could not be turned into
tokens inside the database. ``kiosk db upgrade`` runs it; it is resumable by construction
(each batch commits, and the visits still without tokens are what the next run finds)."""

from __future__ import annotations

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from kiosk.blind_index import visit_token_rows
from kiosk.models import Visit, VisitNameToken

#: Visits indexed per transaction: short transactions, so check-ins never wait long.
BATCH = 500


def index_unindexed_visits(session: Session, *, batch: int = BATCH) -> int:
    """Write the tokens of every visit that has none; returns how many visits were indexed.

    A visit whose name's key is destroyed gets none (nothing can find it, and the purge
    deletes it); it is passed over by id, so the loop ends."""
    indexed = 0
    last = 0
    while True:
        visits = session.scalars(
            select(Visit)
            .where(
                Visit.id > last,
                ~exists().where(VisitNameToken.visit_id == Visit.id),
            )
            .order_by(Visit.id)
            .limit(batch)
        ).all()
        if not visits:
            return indexed
        rows = [row for visit in visits for row in visit_token_rows(session, visit)]
        if rows:
            session.execute(insert(VisitNameToken), rows)
        indexed += len({row["visit_id"] for row in rows})
        last = visits[-1].id
        session.commit()
