"""The database resource: one engine per app, one session per request, closed on teardown."""

from __future__ import annotations

import functools
import logging
import operator
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Engine,
    ForeignKey,
    Integer,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    create_engine,
    delete,
    event,
    exists,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from kiosk import write_gate

EXTENSION_KEY = "kiosk.db"

#: The largest id any table holds on every supported database: ids are ``Integer`` columns,
#: 32-bit on PostgreSQL (SQLite's reach 64 bits). A larger number can name no row, and binding
#: it fails (PostgreSQL: integer out of range; SQLite beyond 64 bits: OverflowError).
ID_MAX = 2**31 - 1

log = logging.getLogger(__name__)


class IdBatch(tuple[int, ...]):
    """A batch of ids, each checked to be an integer (``operator.index``) once, with the
    text each database's statement writes of them made once however many statements use it.

    A purge's batch of 2,500 visits names its ids in eight statements (the visits, each table
    referring to them, the statistics, the index rows); writing them each time was a tenth of
    the client's time a batch (bench/README.md, "One text a batch")."""

    def __new__(cls, ids: Iterable[int]) -> IdBatch:
        return super().__new__(cls, [operator.index(value) for value in ids])

    @classmethod
    def of(cls, ids: Iterable[int]) -> IdBatch:
        """``ids`` as a batch: itself when it already is one."""
        return ids if isinstance(ids, IdBatch) else cls(ids)

    @functools.cached_property
    def listed(self) -> str:
        """The items of an SQL list, ``1,2,3``."""
        return ",".join(map(str, self))

    @functools.cached_property
    def array(self) -> str:
        """PostgreSQL's text of an integer array, ``{1,2,3}``."""
        return "{" + self.listed + "}"


def id_in(session: Session, column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """``column IN ids`` for a batch of ids (the purge's thousands a statement); an
    :class:`IdBatch` used for several statements is written once.

    An IN list of bound parameters costs the client more than the database: SQLAlchemy makes,
    names and renders a parameter per id for every batch. On PostgreSQL this is ``column =
    ANY(:ids)``, one array parameter, which PostgreSQL plans as it plans an IN list (4 of the
    10 s a purge of 100,000 visits took went to the parameters). On SQLite it is an IN list
    of the ids written into the statement (``_IdList``); its one-parameter form, ``IN (SELECT
    value FROM json_each(:ids))``, hides the list's length from the planner, which then
    scanned the invitations instead of looking each visit up in their index (7-19 ms a batch
    against 1.2)."""
    batch = IdBatch.of(ids)
    if session.get_bind().dialect.name == "postgresql":
        # The array as PostgreSQL writes one, a text the server casts: psycopg's dumping of a
        # list checked each item's text with a regular expression.
        listed: ColumnElement[bool] = column == any_(
            cast(bindparam(None, batch.array, type_=Text), ARRAY(Integer))
        )
        return listed
    return _IdList(column, batch)


class _IdList(ColumnElement[bool]):
    """``column IN (1, 2, 3)``, the ids written into the SQL: each must be an integer
    (:class:`IdBatch`), so nothing but digits reaches the statement.

    A statement holding one is never cached (``inherit_cache = False``): each batch's list is
    new, and thousands of them would push the app's own statements out of SQLAlchemy's cache."""

    inherit_cache = False
    type = Boolean()
    # A comparison, not a boolean column: SQLAlchemy would otherwise write "... = 1" after
    # it on SQLite, which hides the IN from the planner (a scan instead of the primary key).
    _is_implicitly_boolean = True

    def __init__(self, column: Any, ids: Iterable[int]) -> None:
        self.column = column
        self.ids = IdBatch.of(ids)

    @property
    def _from_objects(self) -> list[Any]:
        # The column's table, for a statement that names no other (an EXISTS of it alone).
        return list(self.column._from_objects)


@compiles(_IdList)
def _write_id_list(element: _IdList, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    if not element.ids:
        return f"{column} IN (NULL)"  # matches no row, as SQLAlchemy's empty IN
    return f"{column} IN ({element.ids.listed})"


class RowStillReferred(Exception):
    """Rows to delete are still referred to by a foreign key that restricts their deletion."""


def delete_with_dependents(session: Session, model: Any, ids: Sequence[int]) -> None:
    """Delete these rows of ``model`` (by its one-column primary key) and, on a session in
    :func:`foreign_keys_off`, do to every row that refers to them what its foreign key's ON
    DELETE says, as statements of our own.

    Both databases run each such action for each deleted row, even when no row refers to it:
    SQLite as a trigger (two thirds of the time a purge spent deleting visits), PostgreSQL as
    one query per row and foreign key (four fifths of the time a batch of visits took,
    bench/README.md). The actions come from the same ``ForeignKey`` declarations as the
    schema, so none is forgotten. A reference that restricts deletion (RESTRICT, NO ACTION)
    raises ``RowStillReferred`` before anything is changed. Elsewhere (every other connection,
    and a PostgreSQL role that may not skip the triggers) the database does it all.
    """
    table: Table = model.__table__
    mode = session.info.get(_FOREIGN_KEYS_OFF)
    if mode == "postgresql" and ids:
        connection = session.connection()
        # Transaction-local, and only around these statements: the rest of the purge's
        # transaction (its statistics, its run's rows) keeps its foreign-key checks. (A
        # database error ends the transaction, and the setting with it.)
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        try:
            _delete_with_dependents(session, table, ids)
        except RowStillReferred:
            connection.exec_driver_sql("SET LOCAL session_replication_role = DEFAULT")
            raise
        connection.exec_driver_sql("SET LOCAL session_replication_role = DEFAULT")
    elif mode:
        _delete_with_dependents(session, table, ids)
    elif ids:
        _delete_ids(session, table, ids)


_FOREIGN_KEYS_OFF = "kiosk.foreign_keys_off"


@contextmanager
def foreign_keys_off(session: Session) -> Iterator[None]:
    """Run ``session`` (bound to one connection of its own, between transactions) with the
    database's own foreign-key actions left to :func:`delete_with_dependents`.

    SQLite: ``foreign_keys`` off on the connection, on again before it can go back to the
    pool. PostgreSQL: ``delete_with_dependents`` sets ``session_replication_role`` to
    ``replica`` for its statements alone, which skips the triggers that carry out foreign keys;
    that needs a superuser or (PostgreSQL 15) a role granted ``SET ON PARAMETER
    session_replication_role`` (docs/deploying.md). For a role that may not, nothing changes."""
    connection = session.connection()
    # SQLite ignores the pragma inside a transaction. The connection's own commit: a
    # transaction the connection began itself is one the session would join, not end.
    session.commit()
    dialect = connection.dialect.name
    if dialect == "postgresql" and _may_skip_triggers(connection):
        session.info[_FOREIGN_KEYS_OFF] = "postgresql"
        try:
            yield
        finally:
            session.info.pop(_FOREIGN_KEYS_OFF, None)
        return
    if dialect != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    session.info[_FOREIGN_KEYS_OFF] = "sqlite"
    try:
        yield
    finally:
        session.info.pop(_FOREIGN_KEYS_OFF, None)
        session.rollback()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def _may_skip_triggers(connection: Connection) -> bool:
    """Whether this PostgreSQL role may set ``session_replication_role``."""
    if connection.exec_driver_sql("SHOW is_superuser").scalar() == "on":
        allowed = True
    elif (connection.dialect.server_version_info or (0,)) >= (15,):
        allowed = bool(
            connection.exec_driver_sql(
                "SELECT has_parameter_privilege('session_replication_role', 'SET')"
            ).scalar()
        )
    else:
        allowed = False
    connection.commit()
    return allowed


def _delete_with_dependents(session: Session, table: Table, ids: Sequence[int]) -> None:
    if not ids:
        return
    ids = IdBatch.of(ids)  # written once for the statements below
    connection = session.connection()
    actions = []
    for foreign_key in _referring(table):
        column = foreign_key.parent
        action = (foreign_key.ondelete or "NO ACTION").upper()
        if action in ("CASCADE", "SET NULL"):
            actions.append((action, column))
        elif connection.scalar(select(exists().where(id_in(session, column, ids)))):
            # Before any action, so that nothing is changed when the deletion is refused.
            raise RowStillReferred(f"{column.table.name}.{column.name} refers to {table.name}")
    # The rows themselves first: on PostgreSQL that locks them, so a transaction adding a
    # row that refers to one of them waits, and fails once this one commits, instead of
    # committing a reference the statements below have already passed.
    _delete_ids(session, table, ids)
    for action, column in actions:
        child = column.table
        if action == "SET NULL":
            connection.execute(
                update(child).where(id_in(session, column, ids)).values({column.name: None})
            )
        elif _referring(child):
            (child_key,) = child.primary_key.columns
            child_ids = connection.execute(select(child_key).where(id_in(session, column, ids)))
            _delete_with_dependents(session, child, child_ids.scalars().all())
        else:
            connection.execute(delete(child).where(id_in(session, column, ids)))


def _delete_ids(session: Session, table: Table, ids: Sequence[int]) -> None:
    (key,) = table.primary_key.columns
    session.connection().execute(delete(table).where(id_in(session, key, ids)))


@functools.cache
def _referring(table: Table) -> tuple[ForeignKey, ...]:
    """The foreign keys of the tables of ``table``'s metadata that refer to it."""
    return tuple(
        foreign_key
        for other in table.metadata.sorted_tables
        for foreign_key in other.foreign_keys
        if foreign_key.column.table is table
    )


@dataclass(frozen=True)
class PoolSettings:
    """How a server-database engine keeps its connections (ignored for SQLite, a local file)."""

    #: Connections kept open per process.
    size: int = 5
    #: Extra connections opened under load beyond ``size``, closed again when returned.
    max_overflow: int = 5
    #: Connections older than this many seconds are replaced (-1: never); firewalls and
    #: poolers close idle connections silently, and pre-ping then costs a failed round trip.
    recycle_seconds: int = 1800
    #: How long a request waits for a free pooled connection before it fails.
    timeout_seconds: float = 10.0
    #: How long opening a new connection may take (PostgreSQL ``connect_timeout``).
    connect_timeout_seconds: int = 5

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PoolSettings:
        return cls(
            size=int(config["DATABASE_POOL_SIZE"]),
            max_overflow=int(config["DATABASE_MAX_OVERFLOW"]),
            recycle_seconds=int(config["DATABASE_POOL_RECYCLE_SECONDS"]),
            timeout_seconds=float(config["DATABASE_POOL_TIMEOUT_SECONDS"]),
            connect_timeout_seconds=int(config["DATABASE_CONNECT_TIMEOUT_SECONDS"]),
        )


class Database:
    """The engine and session factory of one app."""

    def __init__(
        self, url: str, *, busy_timeout_ms: int = 5000, pool: PoolSettings | None = None
    ) -> None:
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms, pool=pool)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessionmaker, "after_commit", _checkpoint_if_overwritten)
        event.listen(self.sessionmaker, "after_soft_rollback", _forget_overwritten_mark)


#: Session.info key: the transaction overwrote or deleted personal data (see mark_overwritten).
_OVERWRITTEN = "kiosk.overwritten_personal_data"


def mark_overwritten(session: Session) -> None:
    """Say that the session's transaction erases or corrects personal data.

    On SQLite the old values stay in the write-ahead log (the -wal file) until a checkpoint
    copies the changed pages into the database, where ``secure_delete`` has zeroed them: when
    such a transaction commits, its session checkpoints with TRUNCATE, which also empties the
    log. Every function that erases or rectifies calls this, so every caller gets it.
    """
    session.info[_OVERWRITTEN] = True


def _forget_overwritten_mark(session: Session, _previous: Any) -> None:
    session.info.pop(_OVERWRITTEN, None)


def _checkpoint_if_overwritten(session: Session) -> None:
    if not session.info.pop(_OVERWRITTEN, False):
        return
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return  # PostgreSQL's files are the server's; VACUUM and its WAL recycling are its own
    engine = bind if isinstance(bind, Engine) else bind.engine
    # The session has committed and holds no transaction; a connection of its own runs the
    # checkpoint (no SQL may be sent on the session inside this event).
    with engine.connect() as connection:
        busy, _frames, _copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        connection.commit()
    if busy:
        # A reader still holds an older snapshot: the log is copied and emptied by the next
        # checkpoint (SQLite's own, at 1000 pages, or the nightly purge's TRUNCATE).
        log.warning("write-ahead log not emptied after an erasure: the database was busy")


def make_engine(
    url: str, *, busy_timeout_ms: int = 5000, pool: PoolSettings | None = None
) -> Engine:
    """Create an engine for any SQLAlchemy URL, with SQLite tuned for a many-process server."""
    parsed = make_url(url)
    options: dict[str, Any] = {
        # Bound parameters hold visitor data: keep them out of exception messages and logs.
        "hide_parameters": True,
    }
    backend = parsed.get_backend_name()
    if backend != "sqlite":
        # A database that restarted (or a connection an administrator or a failover ended)
        # leaves dead pooled connections: test each before use, so the next request heals.
        # A SQLite file has no server to lose: its connections never die that way, and a
        # ping per request would be a statement for nothing.
        options["pool_pre_ping"] = True
        pool = pool or PoolSettings()
        options["pool_size"] = pool.size
        options["max_overflow"] = pool.max_overflow
        options["pool_recycle"] = pool.recycle_seconds
        options["pool_timeout"] = pool.timeout_seconds
        if backend == "postgresql" and "connect_timeout" not in parsed.query:
            options["connect_args"] = {"connect_timeout": pool.connect_timeout_seconds}
    if backend == "sqlite":
        _create_private_sqlite_file(parsed.database)
    engine = create_engine(parsed, **options)
    if backend == "sqlite":
        _tune_sqlite(engine, busy_timeout_ms)
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            write_gate.install(engine, database, busy_timeout_ms / 1000)
    return engine


def _create_private_sqlite_file(database: str | None) -> None:
    """Create a new SQLite database file readable by its owner only (0600).

    SQLite would create it with the umask's mode (usually 0644, world-readable), and gives
    its -wal and -shm files the database file's mode: an empty file made first is a valid,
    empty database, and all three stay private.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except (FileExistsError, FileNotFoundError):
        return  # an existing database keeps its mode; a missing folder is SQLite's error
    os.close(fd)


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # WAL lets readers (dashboard) and the writer (kiosk) work at the same time;
            # NORMAL is durable in WAL mode except for the last commits on power loss, and
            # FULL costs about 25% (PERFORMANCE.md).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Erased and corrected visitor data is overwritten with zeros, not left behind in
            # free pages of the database file where a copy of the file would still hold it.
            # (Debian's SQLite has this on by default; python.org and macOS builds do not.)
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        finally:
            cursor.close()


def init_app(app: Flask) -> None:
    """Create the app's engine and close the request's session on teardown."""
    app.extensions[EXTENSION_KEY] = Database(
        app.config["DATABASE_URL"],
        busy_timeout_ms=int(app.config["SQLITE_BUSY_TIMEOUT_MS"]),
        pool=PoolSettings.from_config(app.config),
    )
    app.teardown_appcontext(close_session)


def get_database(app: Flask | None = None) -> Database:
    """Return the app's :class:`Database`."""
    database: Database = (app or current_app).extensions[EXTENSION_KEY]
    return database


def savepoint(session: Session) -> SessionTransaction:
    """``session.begin_nested()`` that also works as the first write of a SQLite transaction.

    Python's sqlite3 driver begins its transaction only before an INSERT, UPDATE or DELETE,
    not before a SAVEPOINT: SQLite then takes the SAVEPOINT as the start of a transaction of
    its own, and its RELEASE commits everything at once, before the caller's commit. So on
    SQLite the driver's transaction is begun first (a deferred BEGIN takes no lock until the
    first write, which is the next statement anyway).
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        if driver is not None and not driver.in_transaction:
            connection.exec_driver_sql("BEGIN")
    return session.begin_nested()


def get_session() -> Session:
    """Return the session of the current request (or CLI command), opening it on first use."""
    if "db_session" not in g:
        g.db_session = get_database().sessionmaker()
    session: Session = g.db_session
    return session


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session; anything not committed is rolled back."""
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.close()
    except DBAPIError as exc:
        # The database went away after the request's last statement (a restart, a failover):
        # the answer is already made and nothing is left to roll back. Failing here would
        # turn it into the WSGI server's bare 500; SQLAlchemy has already discarded the
        # broken connection, and the pool opens a new one for the next request.
        log.warning("database connection lost at the end of a request: %s", type(exc).__name__)


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer now (SQLite: ``BEGIN IMMEDIATE``).

    SQLite's default transaction reads first and asks for the write lock at its first change;
    if another process wrote in between, that upgrade fails at once instead of waiting. Taking
    the lock first makes the batch wait its turn (up to the busy timeout) like any writer.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def read_again_for_change(session: Session, instance: Any, *names: str) -> bool:
    """Read ``names`` of ``instance`` again under the write lock (SQLite) or its row's lock
    (PostgreSQL, which waits for another transaction changing the row): what another request
    committed since the instance was loaded is then what the caller decides on, and nobody
    changes it before the caller commits. False when the row is gone."""
    begin_write(session)
    try:
        session.refresh(instance, list(names), with_for_update=True)
    except InvalidRequestError:  # the row was deleted meanwhile
        return False
    return True


def locked_batches(session: Session, model: Any, *where: Any, size: int) -> Iterator[list[Any]]:
    """The rows of ``model`` matching ``where``, in batches of ``size`` by its primary key,
    each batch for the caller to change and commit before asking for the next.

    Each batch is found without a lock (the search may scan a large table, which would hold
    SQLite's write lock against every check-in), then read again by key under the lock
    (SQLite's write lock, PostgreSQL's row locks), still matching ``where``, with its latest
    values over any the session holds. So a change another worker committed in between (a
    check-out) is what the caller sees and writes on, never overwritten by what the search
    saw."""
    key = getattr(model, model.__mapper__.primary_key[0].key)
    last: Any = None
    while True:
        query = select(key).where(*where).order_by(key).limit(size)
        if last is not None:
            query = query.where(key > last)
        found = list(session.scalars(query))
        session.commit()  # the search's snapshot ends here
        if found:
            begin_write(session)
            yield list(
                session.scalars(
                    select(model)
                    .where(key.in_(found), *where)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            )
        if len(found) < size:
            return
        last = found[-1]
