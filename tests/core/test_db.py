"""The database resource: SQLite tuning and one session per request."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, text

from kiosk.db import ID_MAX, IdBatch, get_database, get_session, id_in
from kiosk.models import Visit


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_runs_wal_with_foreign_keys_and_busy_timeout(app: Flask):
    with get_database(app).engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_one_session_per_request_closed_on_teardown(app: Flask):
    with app.test_request_context():
        session = get_session()
        assert get_session() is session
        session.execute(text("SELECT 1"))
        assert session.in_transaction()
    assert not session.in_transaction()
    with app.test_request_context():
        assert get_session() is not session


def test_id_in_finds_the_ids_listed_with_one_parameter(
    session: Any, make_site: Any, make_visit: Any
) -> None:
    """kiosk.db.id_in: the rows whose id is listed, as many as a purge's batch; on PostgreSQL
    the whole list is one parameter (psycopg parses a statement's parameters anew each time),
    on SQLite none: the ids are written into the statement, which is not cached."""
    site = make_site()
    visits = [make_visit(site, f"Visitor {number}") for number in range(5)]
    ids = [visit.id for visit in visits]
    statements: list[Any] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append(parameters)

    engine = session.get_bind()
    session.scalar(select(Visit.id))  # the connection, and its first statement, cached
    cached = len(engine._compiled_cache)
    event.listen(engine, "before_cursor_execute", record)
    try:
        listed = [ids[0], ids[3], ids[3], ID_MAX, *range(ID_MAX - 20_000, ID_MAX)]
        found = session.scalars(select(Visit.id).where(id_in(session, Visit.id, listed))).all()
        none = session.scalars(select(Visit.id).where(id_in(session, Visit.id, []))).all()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert sorted(found) == [ids[0], ids[3]]
    assert none == []
    if engine.dialect.name == "postgresql":
        # One text, as PostgreSQL writes an array: psycopg's dumping of a Python list checked
        # each item with a regular expression, a fifth of a purge's time (bench/README.md).
        assert [len(parameters) for parameters in statements] == [1, 1]
        assert [type(value) for parameters in statements for value in parameters.values()] == [
            str,
            str,
        ]
    else:
        assert [len(parameters) for parameters in statements] == [0, 0]
        assert len(engine._compiled_cache) == cached


@pytest.mark.parametrize("value", ["1) OR (1=1", "2,3", 2.5, b"7", None])
def test_id_in_writes_nothing_but_integers_into_its_statement_or_parameter(
    session: Any, value: Any
):
    with pytest.raises(TypeError):
        id_in(session, Visit.id, [1, value])


def test_a_batch_of_ids_is_written_once_for_every_statement_that_names_it(
    session: Any, make_site: Any, make_visit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kiosk.db.IdBatch: checked and written once, then each statement given it finds the same
    rows (the purge names a batch's visits in eight statements)."""
    site = make_site()
    ids = [make_visit(site, f"Visitor {number}").id for number in range(3)]
    batch = IdBatch([ids[2], ids[0], ID_MAX])
    assert IdBatch.of(batch) is batch
    assert IdBatch.of((ids[0],)) == (ids[0],)
    first = session.scalars(select(Visit.id).where(id_in(session, Visit.id, batch))).all()
    # Written already: a second statement must not write the ids again.
    monkeypatch.setattr(IdBatch, "__iter__", lambda self: pytest.fail("ids written again"))
    second = session.scalars(select(Visit.id).where(id_in(session, Visit.id, batch))).all()
    assert sorted(first) == sorted(second) == sorted([ids[0], ids[2]])
    assert batch.listed == f"{ids[2]},{ids[0]},{ID_MAX}"
    assert batch.array == "{" + batch.listed + "}"


@pytest.mark.parametrize("value", ["1) OR (1=1", 2.5, None])
def test_a_batch_of_ids_refuses_anything_but_integers(value: Any) -> None:
    with pytest.raises(TypeError):
        IdBatch([1, value])
