"""The key store: data keys per site and erase day, kept outside the visitor database.

Crypto-shredding (docs/erasure.md): a value that must be gone by a given day is encrypted under
that day's key; destroying the key makes every copy of the value unreadable at once, the live
database and its backups, WAL archives and replicas alike. So the keys cannot live in the visitor
database (its copies are what must forget) and must be destroyable for good:

- **One server**: a SQLite file of its own (``KEY_STORE = "sqlite:////var/lib/kiosk-keys/keys.sqlite3"``),
  with ``secure_delete`` so a destroyed key's bytes are overwritten in the file, and the
  write-ahead log checkpointed and truncated after each destruction.
- **Several servers**: a PostgreSQL database of its own, never the visitor database; a
  destruction is a DELETE followed by a VACUUM of the one small table, which removes the tuple
  from its pages at once.

Data keys are stored wrapped (AES key wrap, RFC 3394) under the master key, which comes from
configuration and is never stored here or in the database. A canary wrapped under the master key
is checked when the store opens: a wrong master key is refused there, instead of silently
making every value unreadable later.

A destroyed key leaves a record (its id, site, day and when), so the store can tell a key that
was destroyed on purpose from one that is missing because the store was lost or replaced by an
old copy (:meth:`KeyStore.missing`); nothing is written under a destroyed day's key again.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

KEY_BYTES = 32
KEY_ID_BYTES = 16
#: How long a worker keeps an unwrapped key in memory: a key destroyed by another server is
#: unusable everywhere within this time.
CACHE_SECONDS = 600.0

#: Key ids read per statement by :meth:`KeyStore.load` (SQLite allows 32,766 parameters).
LOAD_BATCH = 500

metadata = MetaData()

#: Facts about the store itself: the canary, and the store's format version.
store_facts = Table(
    "key_store_facts",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", LargeBinary(64), nullable=False),
)

# Times are ISO 8601 text: the store shares no types (or imports) with the visitor database.

#: Live data keys, one per site and erase day, wrapped under the master key.
data_keys = Table(
    "data_keys",
    metadata,
    Column("key_id", LargeBinary(KEY_ID_BYTES), primary_key=True),
    Column("site_id", Integer, nullable=False),
    Column("erase_day", Date, nullable=False),
    Column("wrapped", LargeBinary(KEY_BYTES + 8), nullable=False),
    Column("created_at", String(40), nullable=False),
    UniqueConstraint("site_id", "erase_day", name="uq_data_keys_site_day"),
)

#: What was destroyed and when: the evidence, and how a destroyed key is told from a lost one.
destroyed_keys = Table(
    "destroyed_keys",
    metadata,
    Column("key_id", LargeBinary(KEY_ID_BYTES), primary_key=True),
    Column("site_id", Integer, nullable=False),
    Column("erase_day", Date, nullable=False),
    Column("destroyed_at", String(40), nullable=False),
    UniqueConstraint("site_id", "erase_day", name="uq_destroyed_keys_site_day"),
)

#: Rows erased by a data-subject request, by their random row key (never a name): a database
#: restored from a copy taken before the request brings them back, and the next purge erases
#: them again. Kept until the rows' own erase day has passed (their keys are destroyed then,
#: so a restored copy cannot read them anyway).
erasures = Table(
    "erasures",
    metadata,
    Column("row_key", LargeBinary(16), primary_key=True),
    Column("until_day", Date, nullable=False),
    Column("erased_at", String(40), nullable=False),
)

#: Keys taken out of use before their day (docs/erasure.md, "One person's erasure"): an erasure
#: or a correction by request replaces the day's key, so that copies of the database taken
#: before it lose the person's values at once, not when the day ends. A replaced key still
#: decrypts the day's other rows until they are sealed again under the day's new key; then it
#: is destroyed, its wrapped bytes set to NULL and the row kept as the evidence (a table of its
#: own: ``data_keys`` and ``destroyed_keys`` hold one key per site and day).
replaced_keys = Table(
    "replaced_keys",
    metadata,
    Column("key_id", LargeBinary(KEY_ID_BYTES), primary_key=True),
    Column("site_id", Integer, nullable=False),
    Column("erase_day", Date, nullable=False),
    Column("wrapped", LargeBinary(KEY_BYTES + 8), nullable=True),
    Column("replaced_at", String(40), nullable=False),
    Column("destroyed_at", String(40), nullable=True),
)

_CANARY = "canary"
#: A random value every key creation and destruction replaces, in the same transaction: a
#: worker that read the same value before knows the live keys are still those it read.
_GENERATION = "generation"
#: A worker reads the live keys again after this long even when the generation is unchanged:
#: a server of a release before the generation (during a rolling upgrade) does not change it.
LIVE_IDS_SECONDS = 60.0


class KeyStoreError(Exception):
    """The key store cannot be used as it is; ``reason`` is a code for logs and pages."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WrongMasterKey(KeyStoreError):
    def __init__(self) -> None:
        super().__init__("wrong_master_key")


class KeyDestroyed(KeyStoreError):
    """Asked for a key to write under a day whose key is destroyed: that data must be gone."""

    def __init__(self) -> None:
        super().__init__("key_destroyed")


class KeyMissing(KeyStoreError):
    """A key id that is neither live nor recorded as destroyed: the store lost it."""

    def __init__(self) -> None:
        super().__init__("key_missing")


class MasterKey:
    """The key that wraps every data key. Its bytes never leave this object."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise KeyStoreError("master_key_length")
        self._key = key

    @classmethod
    def from_text(cls, value: str) -> MasterKey:
        """A master key written as base64 (``kiosk keys new-master-key`` prints one)."""
        try:
            return cls(base64.b64decode(value.strip(), validate=True))
        except (binascii.Error, ValueError):
            raise KeyStoreError("master_key_format") from None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MasterKey:
        """From ``MASTER_KEY`` (base64) or the file named by ``MASTER_KEY_FILE``."""
        if config.get("MASTER_KEY"):
            return cls.from_text(str(config["MASTER_KEY"]))
        if config.get("MASTER_KEY_FILE"):
            path = Path(str(config["MASTER_KEY_FILE"]))
            if not path.is_file():
                raise KeyStoreError("master_key_file_missing")
            return cls.from_text(path.read_text(encoding="ascii"))
        raise KeyStoreError("master_key_not_configured")

    @staticmethod
    def generate_text() -> str:
        return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")

    def wrap(self, key: bytes) -> bytes:
        return aes_key_wrap(self._key, key)

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return aes_key_unwrap(self._key, wrapped)
        except InvalidUnwrap:
            raise WrongMasterKey() from None

    def __repr__(self) -> str:
        return "MasterKey(...)"


@dataclass(frozen=True)
class DataKey:
    """One unwrapped data key. ``key`` is secret: never log or store it."""

    key_id: bytes
    site_id: int
    erase_day: date
    key: bytes
    #: AES-GCM with this key, made once: a page of 400 visitors decrypts ~1,900 fields, and
    #: making the cipher object for each cost 1.7 µs a field against 0.7 µs for a decryption.
    cipher: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cipher", AESGCM(self.key))

    def __repr__(self) -> str:
        return f"DataKey(key_id={self.key_id.hex()}, site_id={self.site_id}, {self.erase_day})"


@dataclass(frozen=True)
class Destroyed:
    key_id: bytes
    site_id: int
    erase_day: date


def _exists(engine: Engine) -> bool:
    return inspect(engine).has_table(store_facts.name)


def make_store_engine(url: str) -> Engine:
    """An engine for the key store: durable writes and overwriting deletes on SQLite."""
    if url.startswith("sqlite"):
        # No pool: the store is read once per key and worker (keys are cached), so an open
        # connection per engine would only hold file descriptors, and every app that opens
        # the store and is never closed (a test, a CLI command) would keep three of them.
        engine = create_engine(url, connect_args={"timeout": 30}, poolclass=NullPool)

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # Durable: a key that was handed out and used must survive a power cut.
            cursor.execute("PRAGMA synchronous=FULL")
            # A deleted key's bytes are overwritten in the file, not left in a free page.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


#: Destroyed key ids remembered per process before the set starts again.
_DESTROYED_KEPT = 100_000


_generation_query = select(store_facts.c.value).where(store_facts.c.name == _GENERATION)


def _new_generation(connection: Connection) -> None:
    connection.execute(
        update(store_facts).where(store_facts.c.name == _GENERATION).values(value=os.urandom(16))
    )


def _move_out_of_data_keys(
    connection: Connection, target: Table, entries: Sequence[Mapping[str, Any]]
) -> None:
    """Move these keys (rows of ``data_keys`` with the target's own columns added) out of the
    keys that seal: into ``target``, deleted from ``data_keys``, a new generation."""
    connection.execute(insert(target), list(entries))
    connection.execute(
        delete(data_keys).where(data_keys.c.key_id.in_([entry["key_id"] for entry in entries]))
    )
    _new_generation(connection)


class KeyStore:
    """Data keys per (site, erase day), shared safely by every worker and server using ``url``."""

    def __init__(
        self, engine: Engine, master: MasterKey, *, cache_seconds: float = CACHE_SECONDS
    ) -> None:
        self.engine = engine
        self.master = master
        self.cache_seconds = cache_seconds
        self._cache: dict[bytes, tuple[DataKey, float]] = {}
        self._by_day: dict[tuple[int, date], bytes] = {}
        #: Ids known destroyed: for good, so remembered without expiry (the purge asks about
        #: the keys it has just destroyed once per batch of visits).
        self._destroyed: set[bytes] = set()
        #: (generation, read until, key ids by site) of the live keys, as last read.
        self._live_ids: tuple[bytes, float, dict[int, list[bytes]]] | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        url: str,
        master: MasterKey,
        *,
        create: bool = False,
        cache_seconds: float = CACHE_SECONDS,
    ) -> KeyStore:
        """Open the store at ``url`` and check the master key against it.

        Only with ``create`` is a missing or empty store made: a store that is gone (a lost
        disk, a wrong path) must stop the server, not be silently replaced by an empty one,
        which would make every value still within its retention unreadable.
        """
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            path = Path(url.removeprefix("sqlite:///"))
            if create:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            elif not path.is_file():
                # SQLite would make an empty file here: that is the loss to refuse.
                raise KeyStoreError("key_store_missing")
        store = cls(make_store_engine(url), master, cache_seconds=cache_seconds)
        try:
            if create:
                metadata.create_all(store.engine)
            elif not _exists(store.engine):
                raise KeyStoreError("key_store_missing")
            else:  # a store made before the erasure list or key replacement gains the tables
                erasures.create(store.engine, checkfirst=True)
                replaced_keys.create(store.engine, checkfirst=True)
            store._check_canary(create=create)
            store._ensure_generation()
        except OperationalError:
            store.close()
            raise KeyStoreError("key_store_unreachable") from None
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    def _check_canary(self, *, create: bool) -> None:
        canary = select(store_facts.c.value).where(store_facts.c.name == _CANARY)
        with self.engine.connect() as connection:
            stored = connection.scalar(canary)
        if stored is None and not create:
            raise KeyStoreError("key_store_missing")
        if stored is None:  # a new store: this master key's canary goes in
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        insert(store_facts).values(
                            name=_CANARY, value=self.master.wrap(os.urandom(KEY_BYTES))
                        )
                    )
                return
            except IntegrityError:  # another server made it first: check theirs
                with self.engine.connect() as connection:
                    stored = connection.scalar(canary)
        if stored is None:
            raise KeyStoreError("canary_missing")
        self.master.unwrap(bytes(stored))  # raises WrongMasterKey

    def _ensure_generation(self) -> None:
        """A store made before the generation gains it (another server may add it first)."""
        with self.engine.connect() as connection:
            if connection.scalar(_generation_query) is not None:
                return
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(store_facts).values(name=_GENERATION, value=os.urandom(16))
                )
        except IntegrityError:
            pass

    def _remember(self, key: DataKey, *, seals: bool = True) -> DataKey:
        """Cache ``key``; a key that ``seals`` is also the one :meth:`key_for` hands out for
        its site and day (a replaced key only decrypts)."""
        day = (key.site_id, key.erase_day)
        with self._lock:
            self._cache[key.key_id] = (key, time.monotonic() + self.cache_seconds)
            if seals:
                self._by_day[day] = key.key_id
            elif self._by_day.get(day) == key.key_id:
                # Cached as the day's key before it was replaced: read again to decrypt, it
                # must not become the sealing key again for another CACHE_SECONDS.
                del self._by_day[day]
        return key

    def _cached(self, key_id: bytes) -> DataKey | None:
        with self._lock:
            found = self._cache.get(key_id)
            if found is None:
                return None
            if found[1] <= time.monotonic():
                del self._cache[key_id]
                return None
            return found[0]

    def _remember_destroyed(self, key_ids: Iterable[bytes]) -> None:
        with self._lock:
            for key_id in key_ids:
                if len(self._destroyed) >= _DESTROYED_KEPT:
                    self._destroyed.clear()
                self._destroyed.add(key_id)

    def forget_cache(self) -> None:
        with self._lock:
            self._cache.clear()
            self._by_day.clear()
            self._destroyed.clear()
            self._live_ids = None

    def key_for(self, site_id: int, erase_day: date, *, now: datetime) -> DataKey:
        """The key to encrypt a value of ``site_id`` that must be gone by ``erase_day``.

        Made on first use; two servers asking at once get the same key (the unique constraint
        decides). Refused with :class:`KeyDestroyed` when that day's key is already destroyed.
        """
        with self._lock:
            key_id = self._by_day.get((site_id, erase_day))
        if key_id is not None:
            cached = self._cached(key_id)
            if cached is not None:
                return cached
        for _attempt in range(2):
            found = self._live_key(site_id, erase_day)
            if found is not None:
                return self._remember(found)
            with self.engine.begin() as connection:
                if connection.scalar(
                    select(destroyed_keys.c.key_id).where(
                        destroyed_keys.c.site_id == site_id,
                        destroyed_keys.c.erase_day == erase_day,
                    )
                ):
                    raise KeyDestroyed()
                key = DataKey(os.urandom(KEY_ID_BYTES), site_id, erase_day, os.urandom(KEY_BYTES))
                try:
                    connection.execute(
                        insert(data_keys).values(
                            key_id=key.key_id,
                            site_id=site_id,
                            erase_day=erase_day,
                            wrapped=self.master.wrap(key.key),
                            created_at=now.isoformat(),
                        )
                    )
                    _new_generation(connection)
                except IntegrityError:
                    continue  # made by another worker or server in between: use theirs
            return self._remember(key)
        raise KeyStoreError("key_race")  # pragma: no cover - a unique row that keeps vanishing

    def _live_key(self, site_id: int, erase_day: date) -> DataKey | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(data_keys.c.key_id, data_keys.c.wrapped).where(
                    data_keys.c.site_id == site_id, data_keys.c.erase_day == erase_day
                )
            ).first()
        if row is None:
            return None
        return DataKey(
            bytes(row.key_id), site_id, erase_day, self.master.unwrap(bytes(row.wrapped))
        )

    def key(self, key_id: bytes) -> DataKey | None:
        """The key with this id to decrypt with; None when it was destroyed (the data is gone).

        Raises :class:`KeyMissing` for an id the store never heard of or lost.
        """
        cached = self._cached(key_id)
        if cached is not None:
            return cached
        if key_id in self._destroyed:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(
                select(data_keys.c.site_id, data_keys.c.erase_day, data_keys.c.wrapped).where(
                    data_keys.c.key_id == key_id
                )
            ).first()
            if row is None:
                replaced = connection.execute(
                    select(
                        replaced_keys.c.site_id, replaced_keys.c.erase_day, replaced_keys.c.wrapped
                    ).where(replaced_keys.c.key_id == key_id)
                ).first()
                if replaced is not None and replaced.wrapped is not None:
                    key = DataKey(
                        key_id,
                        replaced.site_id,
                        replaced.erase_day,
                        self.master.unwrap(bytes(replaced.wrapped)),
                    )
                    return self._remember(key, seals=False)
                if replaced is not None or connection.scalar(
                    select(destroyed_keys.c.key_id).where(destroyed_keys.c.key_id == key_id)
                ):
                    self._remember_destroyed([key_id])
                    return None
                raise KeyMissing()
        return self._remember(
            DataKey(key_id, row.site_id, row.erase_day, self.master.unwrap(bytes(row.wrapped)))
        )

    def load(self, key_ids: Iterable[bytes]) -> None:
        """Read the live keys of these ids that are not cached, into the cache: one connection
        and a statement per LOAD_BATCH ids, for a caller about to use many keys.

        A search's first use of every key of ten sites keeping 400 days (3,884) took 2.1 s
        in a new worker when each key was read on its own connection, as :meth:`key` reads
        one. An id not among the live keys (replaced, destroyed, or unknown) is left for
        :meth:`key` to answer."""
        wanted = [
            key_id
            for key_id in dict.fromkeys(key_ids)
            if key_id not in self._destroyed and self._cached(key_id) is None
        ]
        if not wanted:
            return
        columns = (data_keys.c.key_id, data_keys.c.site_id, data_keys.c.erase_day)
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), LOAD_BATCH):
                batch = wanted[start : start + LOAD_BATCH]
                for row in connection.execute(
                    select(*columns, data_keys.c.wrapped).where(data_keys.c.key_id.in_(batch))
                ):
                    self._remember(
                        DataKey(
                            bytes(row.key_id),
                            row.site_id,
                            row.erase_day,
                            self.master.unwrap(bytes(row.wrapped)),
                        )
                    )

    def live_key_ids(self, *site_ids: int) -> list[bytes]:
        """The ids of every live key of these sites (what a blind-index search tries).

        Read again only when the store's generation has changed (a key made or destroyed,
        by any server) or LIVE_IDS_SECONDS have passed: one row to read per search instead
        of a row per key (about 4,000 for ten sites keeping a year, 4-6 ms)."""
        with self.engine.connect() as connection:
            read = connection.scalar(_generation_query)
            generation = None if read is None else bytes(read)
            known = self._live_ids
            if (
                known is None
                or generation is None
                or known[0] != generation
                or known[1] <= time.monotonic()
            ):
                # The generation is read first: a key made in between is in the rows read
                # and labelled with the older generation, so it is read again next time.
                by_site: dict[int, list[bytes]] = {}
                # A replaced key's rows keep their blind-index tokens until sealed again.
                for site_id, key_id in connection.execute(
                    select(data_keys.c.site_id, data_keys.c.key_id).union_all(
                        select(replaced_keys.c.site_id, replaced_keys.c.key_id).where(
                            replaced_keys.c.wrapped.is_not(None)
                        )
                    )
                ):
                    by_site.setdefault(site_id, []).append(bytes(key_id))
                known = (generation or b"", time.monotonic() + LIVE_IDS_SECONDS, by_site)
                with self._lock:
                    self._live_ids = known
        return [key_id for site_id in site_ids for key_id in known[2].get(site_id, ())]

    def key_ids_through(self, site_id: int, through: date) -> list[bytes]:
        """The ids of the live keys of ``site_id`` whose erase day is ``through`` or earlier,
        replaced keys not yet destroyed included."""
        with self.engine.connect() as connection:
            return [
                bytes(value)
                for value in connection.scalars(
                    select(data_keys.c.key_id)
                    .where(data_keys.c.site_id == site_id, data_keys.c.erase_day <= through)
                    .union_all(
                        select(replaced_keys.c.key_id).where(
                            replaced_keys.c.site_id == site_id,
                            replaced_keys.c.erase_day <= through,
                            replaced_keys.c.wrapped.is_not(None),
                        )
                    )
                )
            ]

    def destroy(self, site_id: int, *, through: date, now: datetime) -> list[Destroyed]:
        """Destroy every key of ``site_id`` whose erase day is ``through`` or earlier, for good.

        Returns what was destroyed (for the purge run's evidence).
        """
        replaced = self._destroy_replaced(
            (replaced_keys.c.site_id == site_id, replaced_keys.c.erase_day <= through), now
        )
        return replaced + self._destroy(
            (data_keys.c.site_id == site_id, data_keys.c.erase_day <= through), now
        )

    def replace(self, key_ids: Iterable[bytes], *, now: datetime) -> list[bytes]:
        """Take these keys out of sealing: the next value of their site and day gets a new
        key, and these only decrypt until :meth:`destroy_replaced`. Ids that are not live
        keys (destroyed, replaced already, or never known) are left alone. Returns the ids
        replaced."""
        wanted = sorted(set(key_ids))
        if not wanted:
            return []
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(
                    data_keys.c.key_id,
                    data_keys.c.site_id,
                    data_keys.c.erase_day,
                    data_keys.c.wrapped,
                ).where(data_keys.c.key_id.in_(wanted))
            ).all()
            if rows:
                _move_out_of_data_keys(
                    connection,
                    replaced_keys,
                    [{**row._asdict(), "replaced_at": now.isoformat()} for row in rows],
                )
        with self._lock:
            for row in rows:
                self._by_day.pop((row.site_id, row.erase_day), None)
        if rows:
            # The moved row's bytes leave the data_keys pages (the copy lives on, wrapped).
            self._overwrite_freed_space()
        return [bytes(row.key_id) for row in rows]

    def replaced_before(self, moment: datetime) -> list[Destroyed]:
        """The replaced keys, not yet destroyed, that were replaced at ``moment`` or earlier."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    replaced_keys.c.key_id, replaced_keys.c.site_id, replaced_keys.c.erase_day
                ).where(
                    replaced_keys.c.wrapped.is_not(None),
                    replaced_keys.c.replaced_at <= moment.isoformat(),
                )
            ).all()
        return [Destroyed(bytes(row.key_id), row.site_id, row.erase_day) for row in rows]

    def destroy_replaced(self, key_ids: Sequence[bytes], *, now: datetime) -> list[Destroyed]:
        """Destroy these replaced keys for good (their rows are sealed under the new keys)."""
        return self._destroy_replaced((replaced_keys.c.key_id.in_(list(key_ids)),), now)

    def _destroy_replaced(self, where: Sequence[Any], now: datetime) -> list[Destroyed]:
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(
                    replaced_keys.c.key_id, replaced_keys.c.site_id, replaced_keys.c.erase_day
                ).where(*where, replaced_keys.c.wrapped.is_not(None))
            ).all()
            gone = [Destroyed(bytes(row.key_id), row.site_id, row.erase_day) for row in rows]
            if gone:
                connection.execute(
                    update(replaced_keys)
                    .where(replaced_keys.c.key_id.in_([item.key_id for item in gone]))
                    .values(wrapped=None, destroyed_at=now.isoformat())
                )
                _new_generation(connection)
        with self._lock:
            for item in gone:
                self._cache.pop(item.key_id, None)
        self._remember_destroyed(item.key_id for item in gone)
        if gone:
            self._overwrite_freed_space()
        return gone

    def add_erasures(self, entries: Sequence[tuple[bytes, date]], *, now: datetime) -> None:
        """Remember rows erased by request, as (row key, day after which forgetting is safe)."""
        if not entries:
            return
        with self.engine.begin() as connection:
            for row_key, until_day in entries:
                try:
                    with connection.begin_nested():
                        connection.execute(
                            insert(erasures).values(
                                row_key=row_key, until_day=until_day, erased_at=now.isoformat()
                            )
                        )
                except IntegrityError:  # erased before (a restored row erased again)
                    continue

    def erased_row_keys(self) -> set[bytes]:
        with self.engine.connect() as connection:
            return {bytes(value) for value in connection.scalars(select(erasures.c.row_key))}

    def forget_erasures(self, *, before: date) -> int:
        """Drop the entries whose rows' erase day is over: their keys are gone by now."""
        with self.engine.begin() as connection:
            result = connection.execute(delete(erasures).where(erasures.c.until_day < before))
        return int(result.rowcount or 0)

    def destroy_ids(
        self, site_id: int, key_ids: Sequence[bytes], *, now: datetime
    ) -> list[Destroyed]:
        """Destroy these keys of ``site_id`` for good (a shortened retention left them unused)."""
        return self._destroy(
            (data_keys.c.site_id == site_id, data_keys.c.key_id.in_(list(key_ids))), now
        )

    def destroy_site(self, site_id: int, *, now: datetime) -> list[Destroyed]:
        """Destroy every key of a site (the site is being deleted)."""
        replaced = self._destroy_replaced((replaced_keys.c.site_id == site_id,), now)
        return replaced + self._destroy((data_keys.c.site_id == site_id,), now)

    def _destroy(self, where: Sequence[Any], now: datetime) -> list[Destroyed]:
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(data_keys.c.key_id, data_keys.c.site_id, data_keys.c.erase_day).where(*where)
            ).all()
            gone = [Destroyed(bytes(row.key_id), row.site_id, row.erase_day) for row in rows]
            if gone:
                _move_out_of_data_keys(
                    connection,
                    destroyed_keys,
                    [{**row._asdict(), "destroyed_at": now.isoformat()} for row in rows],
                )
        with self._lock:
            for item in gone:
                self._cache.pop(item.key_id, None)
                self._by_day.pop((item.site_id, item.erase_day), None)
        # The purge then deletes these keys' rows and asks about each key: known here, not read
        # again (a batch of a small site's visits spans a hundred days and more).
        self._remember_destroyed(item.key_id for item in gone)
        if gone:
            self._overwrite_freed_space()
        return gone

    def _overwrite_freed_space(self) -> None:
        """Make the deleted rows' bytes leave the store's files now, not at some later time."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                # secure_delete zeroed the rows in the database pages; the log still holds the
                # pages as they were until it is checkpointed and truncated.
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            with self.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                # Removes the dead tuples from the table's pages at once (the table is small).
                connection.execute(text(f"VACUUM {data_keys.name}"))

    def missing(self, key_ids: Iterable[bytes]) -> list[bytes]:
        """The ids among ``key_ids`` that are neither live nor recorded as destroyed: lost keys."""
        wanted = sorted(set(key_ids))
        known: set[bytes] = set()
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                for table in (data_keys, destroyed_keys, replaced_keys):
                    known.update(
                        bytes(value)
                        for value in connection.scalars(
                            select(table.c.key_id).where(table.c.key_id.in_(chunk))
                        )
                    )
        return [key_id for key_id in wanted if key_id not in known]

    def counts(self) -> tuple[int, int]:
        """(live keys, destroyed keys)."""
        from sqlalchemy import func

        with self.engine.connect() as connection:
            live = connection.scalar(select(func.count()).select_from(data_keys)) or 0
            gone = connection.scalar(select(func.count()).select_from(destroyed_keys)) or 0
            for destroyed, count in connection.execute(
                select(replaced_keys.c.wrapped.is_(None), func.count()).group_by(
                    replaced_keys.c.wrapped.is_(None)
                )
            ):
                if destroyed:
                    gone += count
                else:
                    live += count
        return live, gone
