"""Writers to one SQLite file take turns through a file lock, so a check-in waiting behind the
purge gets in as soon as a batch ends.

SQLite has one write lock, and a writer that finds it taken sleeps and looks again after
growing sleeps (its busy handler: 1, 2, 5, 10, 15, 20, 25, 25, 25, 50 ... ms). The purge left
it free between batches, but a waiting check-in only noticed at its next look: the purge had to
pause half as long as each batch (a third of its time at a million visits), and a check-in that
looked a little late still waited for the next batch too (bench/README.md, "The writers' gate").

So every writer of the app's engines also holds a lock on a file beside the database
(``<database>.writers-lock``, mode 0600, like the purge's ``.purge-lock``) from its first
change until its transaction ends: shared for the app's own writers, which SQLite's lock still
puts one after the other, exclusive for a purge batch. A writer that finds the purge's batch
under way asks again every millisecond, and gets in within one of the batch's end; the purge's
next batch waits for the writers that got in. Only writers take part (readers never wait, as
WAL promises them). A writer waits at most the busy timeout here, then goes on to SQLite's own
waiting, so a process that hangs holding the file lock cannot stop the others. Programs
outside kiosk (the ``sqlite3`` shell) do not take part, and meet SQLite's waiting as before.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from typing import Any

from sqlalchemy import Connection, Engine, event

log = logging.getLogger(__name__)

#: Connection info keys: the open lock file, and the lock held on it (a flock mode, or 0).
_FILE = "kiosk.write_gate.file"
_HELD = "kiosk.write_gate.held"
#: Connection info key: the next write takes the gate exclusively (:func:`hold_exclusively`).
_EXCLUSIVE_NEXT = "kiosk.write_gate.exclusive_next"

#: How often a waiting writer asks again.
POLL_SECONDS = 0.001
#: How long the purge leaves the gate open between batches: a few times POLL_SECONDS, for a
#: writer asking again to see it open even on a busy machine.
HANDOVER_SECONDS = 0.003

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE")


def gate_path(database: str) -> str:
    return f"{database}.writers-lock"


def install(engine: Engine, database: str, wait_seconds: float) -> None:
    """Make every writer of ``engine`` (a SQLite file ``database``) go through the gate."""
    path = gate_path(database)

    @event.listens_for(engine, "connect")
    def _open(dbapi_connection: Any, record: Any) -> None:
        record.info[_FILE] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        record.info[_HELD] = 0

    @event.listens_for(engine, "close")
    def _close(_dbapi_connection: Any, record: Any) -> None:
        descriptor = record.info.pop(_FILE, None)
        if descriptor is not None:
            os.close(descriptor)  # which also lets go of its lock

    @event.listens_for(engine, "before_cursor_execute")
    def _before(connection: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        info = connection.connection.info
        if info.get(_HELD) or not statement.lstrip()[:15].upper().startswith(_WRITES):
            return
        exclusive = info.pop(_EXCLUSIVE_NEXT, False)
        _take(info, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, wait_seconds)

    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    # After the transaction has ended, not before (SQLAlchemy's "commit" event): a purge
    # batch's commit writes its last pages, and a writer let in earlier would only meet
    # SQLite's lock and its sleeps. SQLAlchemy (the pool's reset included) passes the pooled
    # connection, whose ``info`` is its record's.
    def do_commit(connection: Any) -> None:
        try:
            commit(connection)
        finally:
            _let_go(_info_of(connection))

    def do_rollback(connection: Any) -> None:
        try:
            rollback(connection)
        finally:
            _let_go(_info_of(connection))

    dialect.do_commit = do_commit  # type: ignore[method-assign,assignment]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign,assignment]


def hold_exclusively(connection: Connection) -> None:
    """Take the gate exclusively for ``connection``'s next write transaction (a purge batch),
    until it ends."""
    info = connection.connection.info
    if _FILE in info:
        info[_EXCLUSIVE_NEXT] = True


def in_use(connection: Connection) -> bool:
    """Whether ``connection``'s writers go through a gate."""
    return _FILE in connection.connection.info


def _take(info: dict[str, Any], mode: int, wait_seconds: float) -> None:
    descriptor = info.get(_FILE)
    if descriptor is None:
        return
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                # Held too long by a writer that may hang: SQLite's own lock still keeps the
                # writers apart, with its own waiting.
                log.warning("writers' gate held for %.1f s; writing without it", wait_seconds)
                return
            time.sleep(POLL_SECONDS)
            continue
        info[_HELD] = mode
        return


def _info_of(connection: Any) -> dict[str, Any] | None:
    try:
        info: dict[str, Any] = connection.info
    except (AttributeError, NotImplementedError):  # SQLAlchemy's first connection, or a raw one
        return None
    return info


def _let_go(info: dict[str, Any] | None) -> None:
    if info is None:
        return
    info.pop(_EXCLUSIVE_NEXT, None)
    if info.get(_HELD):
        fcntl.flock(info[_FILE], fcntl.LOCK_UN)
        info[_HELD] = 0
