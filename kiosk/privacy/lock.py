"""The purge lock: one purge at a time per database, across processes and machines.

- PostgreSQL: a session-level advisory lock, held on a connection of its own for the whole
  run (the purge commits every batch, which would end a transaction-level lock). The key is
  derived from the schema, so instances sharing a server in separate schemas do not block
  each other. A crashed holder's connection closes and the lock goes with it.
- SQLite: the database is a local file, so every purge runs on this machine: an exclusive
  ``flock`` on a file beside it, released by the kernel when the holder exits.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

LOCK_SUFFIX = ".purge-lock"


@contextmanager
def purge_lock(bind: object) -> Iterator[bool]:
    """Try to take the purge lock without waiting; yields whether it was taken."""
    if not isinstance(bind, Engine):
        raise TypeError("the purge lock needs the session's engine")
    backend = bind.dialect.name
    if backend == "postgresql":
        with _advisory_lock(bind) as taken:
            yield taken
    elif backend == "sqlite":
        with _file_lock(bind.url.database) as taken:
            yield taken
    else:
        raise NotImplementedError(f"no purge lock for {backend}")


def advisory_key(schema: str) -> int:
    """The signed 64-bit advisory lock key of the purge in one schema."""
    digest = hashlib.sha256(f"kiosk.purge:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[bool]:
    with engine.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()")) or "public"
        key = advisory_key(str(schema))
        taken = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        connection.commit()
        try:
            yield taken
        finally:
            if taken:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()


@contextmanager
def _file_lock(database: str | None) -> Iterator[bool]:
    if not database or database == ":memory:":
        yield True  # a private in-memory database: no other process can reach it
        return
    path = Path(database).with_name(Path(database).name + LOCK_SUFFIX)
    # The file stays (removing a lock file races with the next taker); it is always empty.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
