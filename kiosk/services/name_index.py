"""Writing the blind index (kiosk.blind_index) of the visits an upgrade left without one: the
visits kept when a database was upgraded past a migration that could not write their tokens
(the keys live outside the database). Such a migration records the highest visit id then
(:class:`~kiosk.models.NameIndexBacklog`); ``kiosk db upgrade`` runs this after it, and it is
resumable: each batch commits with how far it got, and the next run goes on from there.
Visits made since are indexed as they are saved; a token already there is left as it is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Executable, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kiosk.blind_index import (
    delete_token_days,
    delete_token_rows,
    open_name,
    record_token_days,
    token_rows,
    visit_token_rows,
)
from kiosk.db import id_in
from kiosk.field_cipher import TOKEN_DAY_BYTES, token_day
from kiosk.keystore import KEY_ID_BYTES, KeyMissing, KeyStore
from kiosk.models import NameIndexBacklog, NameTokenDay, Visit, VisitNameToken
from kiosk.sealing import store_for

TOKENS: Any = VisitNameToken.__table__
TOKEN_DAYS: Any = NameTokenDay.__table__

#: Visits indexed per transaction: short transactions, so check-ins never wait long.
BATCH = 500


def index_unindexed_visits(session: Session, *, batch: int = BATCH) -> int:
    """Write the tokens of the visits the backlog names; returns how many visits were indexed.

    A visit whose name's key is destroyed gets none (nothing can find it, and the purge
    deletes it)."""
    indexed = 0
    while True:
        backlog = session.scalars(select(NameIndexBacklog).with_for_update()).first()
        if backlog is None:
            session.rollback()
            return indexed
        visits = session.scalars(
            select(Visit)
            .where(Visit.id > backlog.indexed_through, Visit.id <= backlog.until)
            .order_by(Visit.id)
            .limit(batch)
        ).all()
        if not visits:
            session.delete(backlog)
            session.commit()
            return indexed
        rows = [row for visit in visits for row in visit_token_rows(session, visit)]
        if rows:
            session.execute(_insert_new(session), rows)
            record_token_days(session, TOKEN_DAYS, rows)
        indexed += len({row["visit_id"] for row in rows})
        backlog.indexed_through = visits[-1].id
        session.commit()


def record_every_token_day(connection: Connection) -> None:
    """Record every site's and token day's check-in bound (kiosk.models.NameTokenDay) anew from
    the token index, in one pass over it: for rows written without the ORM (bench/)."""
    day = func.substr(TOKENS.c.token, 1, TOKEN_DAY_BYTES)
    connection.execute(delete(TOKEN_DAYS))
    connection.execute(
        TOKEN_DAYS.insert().from_select(
            ["site_id", "day", "checked_in_until"],
            select(TOKENS.c.site_id, day, func.max(TOKENS.c.checked_in_at)).group_by(
                TOKENS.c.site_id, day
            ),
        )
    )


def _insert_new(session: Session) -> Executable:
    """INSERT of index rows that leaves a row already there (a visit saved, or re-sealed,
    between the migration and this run has its tokens already)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(VisitNameToken).on_conflict_do_nothing()
    return sqlite.insert(VisitNameToken).on_conflict_do_nothing()


def delete_visit_tokens(session: Session, visit_ids: Sequence[int]) -> None:
    """Delete the index rows of these visits, before the visits themselves are deleted.

    The tokens under a live key are made again from the name and deleted by primary key;
    those under a destroyed or lost key are inert (no search is made under such a key) and
    go with their day (:func:`delete_passed_tokens`). A row still holding its name in the
    column from before sealing has none (kiosk.blind_index.previous_token_rows)."""
    if not visit_ids:
        return
    store = store_for(session)
    # The keys first (a batch's visits share a few), then the names under live ones alone: the
    # purge's visits are mostly under keys it has just destroyed.
    key_id = func.substr(Visit.visitor_name_sealed, 2, KEY_ID_BYTES)
    found = [
        bytes(value)
        for value in session.connection()
        .execute(
            select(key_id)
            .where(id_in(session, Visit.id, visit_ids), key_id.is_not(None))
            .distinct()
        )
        .scalars()
    ]
    # The live ones read in one go: a batch of a small site's visits, or one person's, spans
    # many days, and each key read alone opened the key store again while the batch held
    # SQLite's write lock (bench/README.md, "A batch over many days").
    store.load(found)
    live = [value for value in found if _is_live(store, value)]
    if not live:
        return
    sealed_rows = session.connection().execute(
        select(
            Visit.id,
            Visit.site_id,
            Visit.checked_in_at,
            Visit.visitor_name_sealed,
            Visit.row_key,
        ).where(id_in(session, Visit.id, visit_ids), key_id.in_(live))
    )
    rows: list[dict[str, Any]] = []
    for visit_id, site_id, checked_in_at, sealed, row_key in sealed_rows:
        if sealed is None or row_key is None:
            continue
        opened = open_name(store, bytes(sealed), bytes(row_key))
        if opened is not None:
            key, name = opened
            rows.extend(token_rows(visit_id, site_id, checked_in_at, name, key))
    delete_token_rows(session, TOKENS, rows)


def _is_live(store: KeyStore, key_id: bytes) -> bool:
    try:
        return store.key(key_id) is not None
    except KeyMissing:
        return False


def _last_token_of_day(token: bytes) -> bytes:
    """The largest token of ``token``'s day: its day's bytes, then every other byte 0xff."""
    return token[:TOKEN_DAY_BYTES] + b"\xff" * (len(token) - TOKEN_DAY_BYTES)


def delete_passed_tokens(
    session: Session,
    through: date,
    site_ids: Sequence[int] | None,
    *,
    after: bytes | None,
    limit: int,
) -> bytes | None:
    """Delete about ``limit`` index rows made under keys whose erase day is ``through`` or
    earlier, of these sites (all when None), with tokens after ``after``: the next stretch of
    the primary key, whose rows lie one after another. Returns the last token deleted, to
    go on after; None once none is left.

    Called once the keys of those days are destroyed (kiosk.privacy.shredding): the tokens
    are inert by then, and their visits go next."""
    table = TOKENS
    end = table.c.token < token_day(through + timedelta(days=1))
    where = []
    if after is not None:
        where.append(table.c.token > after)
    if site_ids is not None:
        where.append(table.c.site_id.in_(site_ids))
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # All in one statement: PostgreSQL locks the rows it deletes, none of them a
        # check-in's, so it needs no batches, and finding the token ``limit`` rows on read
        # each row once more (a third of the phase, bench/README.md).
        bound = None
    else:
        # The token ``limit`` rows on: every row up to it and with it (a token is shared by
        # the visits of one key whose word starts alike, a few hundred at most) goes in this
        # batch.
        bound = connection.execute(
            select(table.c.token)
            .where(end, *where)
            .order_by(table.c.token)
            .offset(limit - 1)
            .limit(1)
        ).scalar()
    # One upper bound, the nearer: given two, SQLite ranges over the first and filters the
    # rest of the table by the second (every batch read all the rows after it).
    where.append(end if bound is None else table.c.token <= bound)
    deleted = connection.execute(delete(table).where(*where)).rowcount
    if bound is not None and deleted:
        return bytes(bound)
    delete_token_days(session, TOKEN_DAYS, token_day(through), site_ids)
    return None
