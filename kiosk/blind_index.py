"""The blind index of visitors' names (docs/erasure.md, "Search: a blind index").

Reception's history search finds a visit by the start of any word of its name, and the
check-in's "already here?" and the data-subject search by a whole word. The names are sealed
(kiosk.sealing), so the database cannot compare them; instead each visit has keyed tokens,
the key's erase day (2 bytes, so a day's tokens lie together in the index) then
``HMAC-SHA256(index key, folded prefix)`` cut to 14 bytes, one per prefix of each word of its
name (1 to :data:`MAX_PREFIX` characters). The index key is derived from the data key that
seals the visit's name (HKDF, kiosk.field_cipher.blind_index_key), so the tokens die with that
key: once the purge destroys it, neither the live database nor any old copy can confirm a
guessed name with the keys that remain.

A search computes its prefix's token under every live key of the sites searched (a site that
keeps visits 30 days has about 30) and looks them up with :func:`token_in`. A typed word longer than
:data:`MAX_PREFIX` characters is matched on its first :data:`MAX_PREFIX`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Dialect,
    LargeBinary,
    String,
    Text,
    any_,
    bindparam,
    cast,
    delete,
    event,
    func,
    inspect,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA
from sqlalchemy.orm import Session

from kiosk.db import id_in
from kiosk.field_cipher import (
    TOKEN_DAY_BYTES,
    ErasedValue,
    TokenMaker,
    associated_data,
    blind_index_key,
    blind_token,
    blind_tokens,
    decrypt_bytes,
    key_id_of,
    token_day,
    token_maker,
)
from kiosk.keystore import DataKey, KeyMissing, KeyStore
from kiosk.sealing import erase_days_of, store_for
from kiosk.text import name_words


class TokenBytes(LargeBinary):
    """A token's bytes, bound as they are: both drivers take ``bytes``, and a search binds one
    token per live key (thousands at a site that keeps visits a year), where LargeBinary's
    per-value conversion cost more than the lookup."""

    def bind_processor(self, dialect: Dialect) -> None:
        return None


def token_in(session: Session, column: Any, tokens: Sequence[bytes]) -> ColumnElement[bool]:
    """``column IN tokens``. On PostgreSQL ``= ANY(array)`` of one text parameter that the
    server splits and casts, where thousands of parameters (or psycopg's text dumping of a
    bytea array, a regex per item) cost more than the index lookups themselves."""
    if session.get_bind().dialect.name == "postgresql":
        listed = ",".join([f"\\x{token.hex()}" for token in tokens])
        array = cast(func.string_to_array(bindparam(None, listed, type_=Text), ","), ARRAY(BYTEA))
        matches: ColumnElement[bool] = column == any_(array)
        return matches
    listed_in: ColumnElement[bool] = column.in_(tokens)
    return listed_in


class SearchKey(NamedTuple):
    """What a search makes its tokens with, per live key."""

    #: The key's erase day as the tokens' first bytes (kiosk.field_cipher.token_day).
    day: bytes
    #: HMAC-SHA256 keyed with its index key (kiosk.field_cipher.token_maker).
    maker: TokenMaker
    #: The key's site: its tokens occur in this site's visits only.
    site_id: int


#: Prefixes of each word get a token up to this many characters: enough to tell names apart,
#: without a row per character of a long word.
MAX_PREFIX = 12


@lru_cache(maxsize=20_000)
def _index_key(key_id: bytes, key: bytes) -> bytes:
    # HKDF per search and key would cost ~10 µs x keys per site; the derived key is as secret
    # as the data key and lives in this process only as long as it is used.
    return blind_index_key(DataKey(key_id, 0, datetime.now(UTC).date(), key))


def index_key(data_key: DataKey) -> bytes:
    return _index_key(data_key.key_id, data_key.key)


def name_prefixes(name: str) -> set[str]:
    """Every prefix the index keeps of ``name``: 1 to MAX_PREFIX characters of each word."""
    return {
        word[:length]
        for word in name_words(name)
        for length in range(1, min(len(word), MAX_PREFIX) + 1)
    }


def name_tokens(name: str, data_key: DataKey) -> set[bytes]:
    key = index_key(data_key)
    day = token_day(data_key.erase_day)
    return {blind_token(key, prefix, day) for prefix in name_prefixes(name)}


def visit_key(session: Session, visit: Any) -> DataKey | None:
    """The key a visit's tokens are made with: the one sealing its name; None once destroyed.

    A row from before sealing (its name still in the old column) uses its erase day's key,
    which is the one its first update will seal it under."""
    store = store_for(session)
    sealed = visit.visitor_name_sealed
    if sealed is None:
        site_id, day = erase_days_of(session, visit)["visit"]
        return store.key_for(site_id, day, now=datetime.now(UTC))
    try:
        return store.key(key_id_of(bytes(sealed)))
    except KeyMissing:
        return None


def visit_token_rows(session: Session, visit: Any) -> list[dict[str, Any]]:
    """The index rows of ``visit`` (none when its name's key is destroyed)."""
    key = visit_key(session, visit)
    if key is None:
        return []
    return token_rows(visit.id, visit.site_id, visit.checked_in_at, visit.visitor_name, key)


def token_rows(
    visit_id: int, site_id: int, checked_in_at: datetime, name: str | None, key: DataKey
) -> list[dict[str, Any]]:
    return [
        {"visit_id": visit_id, "token": token, "site_id": site_id, "checked_in_at": checked_in_at}
        for token in name_tokens(name or "", key)
    ]


def previous_token_rows(session: Session, visit: Any) -> list[dict[str, Any]] | None:
    """The index rows ``visit`` had before this flush sealed its name again (its old sealed
    value, decrypted under its old key); [] when that key is gone (its tokens are inert and
    go with their day, kiosk.services.name_index.delete_passed_tokens); None when they cannot
    be known here (the old value was not loaded, which ``active_history`` on the column
    prevents).

    A row that held its name in the column from before sealing had none: the migration that
    made this index left such rows to ``kiosk db upgrade``, which seals them before it
    indexes (kiosk.cli.db)."""
    deleted = inspect(visit).attrs.visitor_name_sealed.history.deleted
    if not deleted:
        return None
    if deleted[0] is None:
        return []
    old = bytes(deleted[0])
    name = open_name(store_for(session), old, bytes(visit.row_key))
    if name is None:
        return []
    key, text = name
    return token_rows(visit.id, visit.site_id, visit.checked_in_at, text, key)


def open_name(store: KeyStore, sealed: bytes, row_key: bytes) -> tuple[DataKey, str] | None:
    """(key, name) of a sealed visitor name; None when its key is destroyed or missing."""
    try:
        key = store.key(key_id_of(sealed))
        if key is None:
            return None
        plain = decrypt_bytes(lambda _id: key, sealed, _name_ad(row_key))
    except (KeyMissing, ErasedValue):
        return None
    return key, plain.decode()


def _name_ad(row_key: bytes) -> bytes:
    return associated_data("visits", "visitor_name_sealed", row_key)


def delete_token_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Delete these index rows (as :func:`visit_token_rows` makes them) from the token
    ``table``, by primary key."""
    if not rows:
        return
    session.connection().execute(
        delete(table).where(
            token_in(session, table.c.token, list({row["token"] for row in rows})),
            id_in(session, table.c.visit_id, {row["visit_id"] for row in rows}),
        )
    )


def delete_tokens_by_visit_id(session: Session, table: Any, visit_ids: Sequence[int]) -> None:
    """Delete every index row of these visits, whatever key: a scan of the whole index (there
    is none by visit), for the rare rows whose tokens cannot be made again."""
    if visit_ids:
        session.connection().execute(delete(table).where(table.c.visit_id.in_(visit_ids)))


#: Keyed token makers by data key id, so that a search unwraps and derives each key once per
#: process (a site that keeps visits a year has about 400 keys, and a search tries each).
#: Which keys are live is asked of the store at every search: a key made since (a new day)
#: is tried, a destroyed one is not.
_index_keys_by_id: dict[bytes, SearchKey] = {}
_INDEX_KEYS_KEPT = 50_000


def _index_keys(store: KeyStore, site_ids: Sequence[int]) -> list[SearchKey]:
    found = []
    live = store.live_key_ids(*site_ids)
    # A worker's first search needs every key: read together, not one connection a key.
    store.load([key_id for key_id in live if key_id not in _index_keys_by_id])
    for key_id in live:
        derived = _index_keys_by_id.get(key_id)
        if derived is None:
            key = store.key(key_id)
            if key is None:
                continue
            if len(_index_keys_by_id) >= _INDEX_KEYS_KEPT:
                _index_keys_by_id.clear()
            derived = _index_keys_by_id[key_id] = SearchKey(
                token_day(key.erase_day), token_maker(index_key(key)), key.site_id
            )
        found.append(derived)
    return found


def search_keys(session: Session, site_ids: Sequence[int]) -> list[SearchKey]:
    """The index keys of every live key of these sites: what a search makes its tokens under.

    Read once per search, then :func:`tokens_under` for each typed word."""
    if not site_ids:
        return []
    return _index_keys(store_for(session), site_ids)


def tokens_under(keys: Sequence[SearchKey], prefix: str) -> list[bytes]:
    """The tokens a folded ``prefix`` has under each of ``keys`` (from :func:`search_keys`)."""
    if not prefix:
        return []
    return blind_tokens(keys, prefix[:MAX_PREFIX])


# What the history search knows of each key's visits without reading them: for each site and
# token day (the tokens' first bytes: the key's erase day), a time no visit indexed under that
# key checked in after (kiosk.models.NameTokenDay). A key's day says when its visits go, not
# when they came (the erase day is the check-out day plus a retention that depends on the
# visitor's type and may have changed since), so the search needs this to read the keys that
# can hold the newest visits first and stop once it has enough.

#: A worker raises a day's bound to the end of the hour of a check-in, so it writes a day's
#: bound once an hour at most (its first check-in of the hour), not at every check-in.
BOUND_STEP = timedelta(hours=1)

#: The bounds this process has written and seen committed, per database engine: a later row
#: under a bound already written needs no write. Filled only after the commit (a rolled-back
#: write must not spare the next one). A database restored under a running process may lack
#: a bound written here before, and the key's newest visits would be missed by broad searches
#: until the next hour's write: deploying.md's restore starts the servers after the restore.
_written: WeakKeyDictionary[Any, dict[tuple[int, bytes], datetime]] = WeakKeyDictionary()
_PENDING = "kiosk.blind_index.pending_bounds"


def _end_of_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0) + BOUND_STEP


def record_token_days(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Raise the check-in bound of each site and token day these new index rows are under
    (as :func:`visit_token_rows` makes them) so that it covers them, in ``table``
    (kiosk.models.NameTokenDay's). In the caller's transaction, in key order (so that two
    transactions raising the same bounds never wait on each other in a circle)."""
    if not rows:
        return
    wanted: dict[tuple[int, bytes], datetime] = {}
    for row in rows:
        day = (row["site_id"], bytes(row["token"][:TOKEN_DAY_BYTES]))
        until = _end_of_hour(row["checked_in_at"])
        if day not in wanted or wanted[day] < until:
            wanted[day] = until
    engine = session.get_bind()
    written = _written.setdefault(engine, {})
    new = [
        {"site_id": site_id, "day": day, "checked_in_until": until}
        for (site_id, day), until in sorted(wanted.items())
        if (site_id, day) not in written or written[(site_id, day)] < until
    ]
    if not new:
        return
    insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert(table)
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.site_id, table.c.day],
        set_={"checked_in_until": insert.excluded.checked_in_until},
        where=table.c.checked_in_until < insert.excluded.checked_in_until,
    )
    session.connection().execute(statement, new)
    pending = session.info.setdefault(_PENDING, [])
    pending.append((engine, new))


@event.listens_for(Session, "after_commit")
def _bounds_committed(session: Session) -> None:
    for engine, rows in session.info.pop(_PENDING, ()):
        written = _written.setdefault(engine, {})
        for row in rows:
            written[(row["site_id"], row["day"])] = row["checked_in_until"]


@event.listens_for(Session, "after_soft_rollback")
def _bounds_rolled_back(session: Session, _previous: Any) -> None:
    # Any rollback, a savepoint's too: forget them all (they are written again if needed).
    session.info.pop(_PENDING, None)


def raw_time(session: Session, column: Any) -> Any:
    """``column`` (a UTCDateTime) as a value that sorts as its time does and costs nothing to
    read, to compare with other values read the same way: the text SQLite stores (one fixed
    format), microseconds since 1970 on PostgreSQL. A search compares thousands of them, and
    making as many datetimes cost more than the search itself (on SQLite, parsing; on
    PostgreSQL, a time zone each). Any order-keeping conversion would do: the comparisons are
    only between values made the same way."""
    if session.get_bind().dialect.name == "sqlite":
        return type_coerce(column, String)
    return cast(func.extract("epoch", column) * 1_000_000, BigInteger)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def raw_moment(session: Session, moment: datetime) -> Any:
    """``moment`` (aware) as :func:`raw_time` reads a column holding it."""
    if session.get_bind().dialect.name == "sqlite":
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def token_day_bounds(
    session: Session, table: Any, site_ids: Sequence[int]
) -> dict[tuple[int, bytes], Any]:
    """(site id, token day) -> the check-in bound recorded for it, as :func:`raw_time` reads
    it; a key with none may hold visits of any time."""
    rows = (
        session.connection()
        .execute(
            select(table.c.site_id, table.c.day, raw_time(session, table.c.checked_in_until)).where(
                table.c.site_id.in_(site_ids)
            )
        )
        .all()
    )
    return {(site_id, bytes(day)): until for site_id, day, until in rows}


def delete_token_days(session: Session, table: Any, through: bytes, site_ids: Any) -> None:
    """Forget the bounds of token days up to ``through`` (a token day) of these sites (all
    when None): their keys are destroyed and their tokens deleted."""
    where = [table.c.day <= through]
    if site_ids is not None:
        where.append(table.c.site_id.in_(site_ids))
    session.connection().execute(delete(table).where(*where))
