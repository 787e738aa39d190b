"""Personal fields stored sealed: AES-256-GCM under a key per site and erase day (docs/erasure.md).

The models keep readable attributes (``visit.visitor_name``); each is a :class:`Sealed`
descriptor over a binary ciphertext column (``visitor_name_sealed``). Encryption happens in one
place, the mapper events ``before_insert`` / ``before_update`` registered by :func:`seal_model`,
which fill the ciphertext columns from the plain values set on the object; decryption happens on
first read of the attribute after a load. The mapper events see the whole row, which a column
type cannot: the associated data binds each value to its table, column and ``row_key`` (random,
set when the row is first written), and the data key is chosen by the row's erase day.

Each model says how its rows' erase days are found (``erase_days``): a mapping from a *group*
of fields to the (site id, day) whose key seals them; visits put email and phone in their own
group when the site keeps contact details for less time. Whenever a row is updated, a group
whose erase day has moved (a check-out, a changed visitor type) is sealed again under the new
day's key, in the same UPDATE.

A column added later is one line on its model: ``document = Sealed("document_sealed")`` next
to its ``document_sealed`` binary column, and the field name in the model's ``erase_days``
groups (signed documents were added so, their PDF with ``binary=True``).

Rows written before this code (``kiosk db upgrade`` from an older version) have no ciphertext
yet: their old plaintext column is read instead, and the first update seals them and empties it.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, Literal, TypeVar, overload
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session, object_session

from kiosk.field_cipher import ErasedValue, associated_data, decrypt_bytes, encrypt, key_id_of
from kiosk.keystore import KeyDestroyed, KeyMissing, KeyStore

ROW_KEY_BYTES = 16
#: The site id under which state that belongs to no site is sealed (pending-visit state).
NO_SITE = 0


class ErasedText(str):
    """What a sealed text reads once its key is destroyed (a crash between the key's
    destruction and the row's deletion, or a database restored from an old copy): empty and
    false to the code, and "(erased)" on a page, in a CSV file or a PDF, and ``"erased"`` in
    the API, never a blank that looks like a missing value. The value is past its erase date;
    the purge deletes the row on its next run."""

    __slots__ = ()

    def words(self) -> str:
        """What staff read in its place, in their language."""
        from flask_babel import gettext as _

        return str(_("(erased)"))

    def __html__(self) -> str:
        # Jinja calls this when it renders the value.
        from markupsafe import escape

        return f'<span class="erased">{escape(self.words())}</span>'


ERASED = ErasedText()


class UnreadableText(ErasedText):
    """What a sealed text reads when the key store lacks its key altogether (neither live nor
    recorded as destroyed: the store was replaced by an older copy, kiosk.key_setup reports
    it at start). Empty to the code like an erased value, "(unreadable)" on a page, so the
    other visitors on the page still show; and never sealed again, so the ciphertext waits,
    intact, for the right key store to come back."""

    __slots__ = ()

    def words(self) -> str:
        from flask_babel import gettext as _

        return str(_("(unreadable)"))


UNREADABLE = UnreadableText()


#: Whether a record's personal fields can be read (:func:`fields_state`).
FieldsState = Literal["kept", "erased", "unreadable"]


def kept(value: str | None) -> str | None:
    """The value, or None for one that cannot be read (never the empty text it reads as):
    what the REST API and webhook calls give."""
    return None if isinstance(value, ErasedText) else value


def fields_state(*values: str | None) -> FieldsState:
    """Whether a record's personal fields can be read, from the values read: what the REST
    API, webhook calls and the outbox go by, beside the fields :func:`kept` gives."""
    for value in values:
        if isinstance(value, UnreadableText):
            return "unreadable"
        if isinstance(value, ErasedText):
            return "erased"
    return "kept"


def shown_text(value: str | None) -> str:
    """A field as a file shows it (a CSV cell, a PDF's table): empty when there is none, the
    words for an erased or unreadable one, else the value."""
    if value is None:
        return ""
    if isinstance(value, ErasedText):
        return value.words()
    return value


_PLAIN = "_sealed_plain"
_CHANGED = "_sealed_changed"
_FORCE = "_sealed_force_floor"
#: Fields of a row read while the key store lacked their key.
_UNREADABLE = "_sealed_unreadable"
#: Text fields of a row read as erased (their key destroyed).
_ERASED = "_sealed_erased"

#: Key stores by database URL: every session on that database (the app's, the purge's own,
#: a test's) seals and unseals with the store its app opened.
_stores: dict[str, KeyStore] = {}


class NoKeyStore(RuntimeError):
    """A sealed field was read or written on a database whose app opened no key store."""


#: Each engine's URL as text, made once: a page of 400 visitors unseals ~1,200 fields, each
#: asking which key store serves its database, and rendering a URL (quoting each part) cost
#: ~1.5 µs each on PostgreSQL (about 1.5 ms of a dashboard page of 774 rows).
_urls: WeakKeyDictionary[Engine, str] = WeakKeyDictionary()


def _url_of(bind: Engine | Connection) -> str:
    engine = bind.engine if isinstance(bind, Connection) else bind
    url = _urls.get(engine)
    if url is None:
        url = _urls[engine] = engine.url.render_as_string(hide_password=False)
    return url


def register(bind: Engine | Connection | str, store: KeyStore) -> None:
    """Seal and unseal the personal fields of the database at ``bind`` with ``store``."""
    _stores[bind if isinstance(bind, str) else _url_of(bind)] = store


def unregister(bind: Engine | Connection | str) -> KeyStore | None:
    return _stores.pop(bind if isinstance(bind, str) else _url_of(bind), None)


def store_for(session: Session) -> KeyStore:
    bind = session.get_bind()
    store = _stores.get(_url_of(bind))
    if store is None:
        raise NoKeyStore("no key store is open for this database (docs/erasure.md)")
    return store


#: (site id, erase day) per group of fields; None when the row cannot say yet.
EraseDays = Callable[[Session, Any], Mapping[str, tuple[int, date]]]


T = TypeVar("T")


class Sealed(Generic[T]):
    """A personal field kept as ciphertext in ``sealed_column`` (binary).

    ``legacy`` names the mapped attribute of the old plaintext column, read for rows written
    before sealing; ``json`` for a JSON value instead of text, ``binary`` for bytes (a PDF).
    """

    def __init__(
        self,
        sealed_attr: str,
        *,
        legacy: str | None = None,
        json: bool = False,
        binary: bool = False,
    ) -> None:
        self.sealed_attr = sealed_attr
        self.legacy = legacy
        self.json = json
        self.binary = binary
        self.name = ""
        self.table = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Sealed[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        plain: dict[str, Any] = obj.__dict__.setdefault(_PLAIN, {})
        if self.name in plain:
            return plain[self.name]
        value = self._unseal(obj)
        plain[self.name] = value
        return value

    def __clause_element__(self) -> Any:
        # A sealed value cannot be compared, sorted or searched by the database: say so
        # instead of binding this object as a parameter.
        raise TypeError(f"{self.table}.{self.name} is sealed: filter or sort it in Python")

    def __eq__(self, other: object) -> bool:
        # ``Visit.visitor_name == "x"`` would otherwise be a silent False in a WHERE.
        if isinstance(other, Sealed):
            return self is other
        raise TypeError(f"{self.table}.{self.name} is sealed: compare it in Python")

    __ne__ = __eq__
    __hash__ = object.__hash__

    def __set__(self, obj: Any, value: T) -> None:
        obj.__dict__.setdefault(_PLAIN, {})[self.name] = value
        obj.__dict__.setdefault(_CHANGED, set()).add(self.name)
        # Marks the row dirty so that the flush runs before_update, which writes the
        # ciphertext; the placeholder never reaches the database.
        setattr(obj, self.sealed_attr, None)

    def _unseal(self, obj: Any) -> Any:
        sealed = getattr(obj, self.sealed_attr)
        if sealed is None:
            if self.legacy is None:
                return None
            return getattr(obj, self.legacy)
        session = object_session(obj)
        if session is None:
            raise NoKeyStore("a sealed field read on a detached object that never read it")
        value, readable = self._open(store_for(session), sealed, obj.row_key)
        if not readable:
            obj.__dict__.setdefault(_UNREADABLE, set()).add(self.name)
        elif value is ERASED:
            obj.__dict__.setdefault(_ERASED, set()).add(self.name)
        return value

    def unseal_column(
        self, store: KeyStore, sealed: bytes | None, row_key: bytes | None, legacy: Any = None
    ) -> Any:
        """What the attribute reads, for a row read as columns rather than as an object:
        ``sealed`` is its ciphertext column, ``legacy`` its old plaintext column (None when
        the field has none). For many rows, :meth:`unseal_many`."""
        if sealed is None:
            return None if self.legacy is None else legacy
        return self._open(store, sealed, row_key)[0]

    def unseal_many(
        self, store: KeyStore, columns: Iterable[tuple[bytes | None, bytes | None, Any]]
    ) -> list[Any]:
        """:meth:`unseal_column` of each (sealed, row key, legacy) in ``columns``: for
        read-only lists of hundreds of rows, where loading objects cost more than the page's
        queries (kiosk.services.visits.present_visits). The associated data's prefix is made
        once and each key looked up once: a field costs its decryption and little more
        (reception's list of 400 on site: 1.9 -> 1.1 µs a field)."""
        prefix = associated_data(self.table, self.sealed_attr, b"")
        columns = list(columns)
        store.load({key_id_of(bytes(sealed)) for sealed, _, _ in columns if sealed})
        find_key = functools.cache(store.key)  # a missing key raises, and is not kept
        no_legacy = self.legacy is None
        values = []
        for sealed, row_key, legacy in columns:
            if sealed is None:
                values.append(None if no_legacy else legacy)
                continue
            ad = prefix + bytes(row_key or b"")
            values.append(self._decrypted(find_key, bytes(sealed), ad)[0])
        return values

    def _open(self, store: KeyStore, sealed: bytes, row_key: bytes | None) -> tuple[Any, bool]:
        """The plain value and whether the store could read it (False: its key is missing)."""
        ad = associated_data(self.table, self.sealed_attr, bytes(row_key or b""))
        return self._decrypted(store.key, bytes(sealed), ad)

    def _decrypted(
        self, find_key: Callable[[bytes], Any], sealed: bytes, ad: bytes
    ) -> tuple[Any, bool]:
        try:
            raw = decrypt_bytes(find_key, sealed, ad)
        except ErasedValue:
            return ({} if self.json else b"" if self.binary else ERASED), True
        except KeyMissing:
            return ({} if self.json else b"" if self.binary else UNREADABLE), False
        if self.binary:
            return raw, True
        return (json.loads(raw) if self.json else raw.decode()), True

    def ad(self, obj: Any) -> bytes:
        return associated_data(self.table, self.sealed_attr, bytes(obj.row_key))

    def seal(self, obj: Any, store: KeyStore, site_id: int, day: date) -> None:
        value = self.__get__(obj)
        if self.name in obj.__dict__.get(_UNREADABLE, ()) and value in (UNREADABLE, {}, b""):
            # Read without its key (a lost key): sealing the empty stand-in would destroy
            # a value that the right key store can still read.
            return
        if value is ERASED and self.name in obj.__dict__.get(_ERASED, ()):
            # Read as erased and not set since (a visit checked out after its key went):
            # sealing the empty stand-in under a live key would turn an erased field into
            # a kept blank one, shown as given empty and kept for another period.
            return
        if value is None:
            sealed = None
        else:
            plain: str | bytes
            if self.binary:
                plain = bytes(value)
            else:
                plain = json.dumps(value, sort_keys=True) if self.json else str(value)
            sealed = encrypt(_key_for(store, site_id, day), plain, self.ad(obj))
        # Set through the instrumented attribute: this is what the INSERT or UPDATE writes.
        obj.__dict__.setdefault(_PLAIN, {})[self.name] = value
        setattr(obj, self.sealed_attr, sealed)
        if self.legacy is not None:
            empty = _legacy_empty(obj, self.legacy)
            if getattr(obj, self.legacy) != empty:
                setattr(obj, self.legacy, empty)


def _legacy_empty(obj: Any, legacy: str) -> Any:
    found = _EMPTY.get((type(obj), legacy), _UNKNOWN)
    if found is _UNKNOWN:
        column = inspect(type(obj)).columns[legacy]
        if column.nullable:
            found = None
        else:
            kind = column.type.python_type
            found = {} if kind is dict else b"" if kind is bytes else ""
        _EMPTY[(type(obj), legacy)] = found
    return found


#: What an emptied old plaintext column holds, per (model, attribute): asked at every seal.
_EMPTY: dict[tuple[type, str], Any] = {}
_UNKNOWN = object()


def _key_for(store: KeyStore, site_id: int, day: date) -> Any:
    """The key of ``day``; a day whose key is already destroyed (a value written after its own
    erase date, e.g. a back-dated import) is sealed under the next live day's key, which the
    purge destroys at most days later: never a key that no longer exists."""
    now = datetime.now(UTC)
    for offset in range(8):
        try:
            return store.key_for(site_id, day + timedelta(days=offset), now=now)
        except KeyDestroyed:
            continue
    return store.key_for(site_id, now.date() + timedelta(days=2), now=now)


def holds_plain(obj: Any) -> bool:
    """Whether a row written before sealing still holds a field in its old plaintext column."""
    return any(
        getattr(obj, field.sealed_attr) is None
        and field.legacy is not None
        and getattr(obj, field.legacy) not in (None, "", {}, b"")
        for field in sealed_fields(type(obj)).values()
    )


def was_set(obj: Any, field: str) -> bool:
    """Whether ``field`` was set since the row was last written (before the flush writes it)."""
    return field in obj.__dict__.get(_CHANGED, ())


def sealed_fields(model: type) -> dict[str, Sealed[Any]]:
    """The model's sealed fields by name (found once per model: every flush of a sealed row
    asks, and walking the class's attributes cost ~40 µs a call). Read only: it is shared."""
    found = _FIELDS.get(model)
    if found is None:
        found = {}
        for klass in reversed(model.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Sealed):
                    found[name] = value
        _FIELDS[model] = found
    return found


_FIELDS: dict[type, dict[str, Sealed[Any]]] = {}


def current_day(obj: Any, field: str, store: KeyStore) -> date | None:
    """The erase day of the key a field is sealed under now (None: not sealed, erased, or
    its key missing from the store)."""
    sealed = getattr(obj, sealed_fields(type(obj))[field].sealed_attr)
    if sealed is None:
        return None
    try:
        key = store.key(key_id_of(bytes(sealed)))
    except KeyMissing:
        return None
    return None if key is None else key.erase_day


def key_ids_of(obj: Any) -> set[bytes]:
    """The ids of the keys the row's fields are sealed under now."""
    found = set()
    for field in sealed_fields(type(obj)).values():
        sealed = getattr(obj, field.sealed_attr)
        if sealed:
            found.add(key_id_of(bytes(sealed)))
    return found


def load_keys(store: KeyStore, rows: Iterable[Any]) -> None:
    """Read the keys sealing these rows' fields into the store's cache together, before a
    page reads the fields of each (the history's 50 visits read their keys one connection
    a key, ~2 ms each, whenever the cache had expired)."""
    store.load({key_id for row in rows for key_id in key_ids_of(row)})


def force_reseal(obj: Any, *, not_before: date) -> None:
    """Seal every field of ``obj`` again at its next flush, under its erase day or
    ``not_before`` if that is later (the purge keeps rows whose key it is about to destroy)."""
    for field in sealed_fields(type(obj)).values():
        field.__get__(obj)  # decrypt now, while the old key exists
    obj.__dict__[_FORCE] = not_before
    # Dirty, so that before_update runs.
    first = next(iter(sealed_fields(type(obj)).values()))
    setattr(obj, first.sealed_attr, getattr(obj, first.sealed_attr))


def _seal_row(
    mapper: Mapper[Any], connection: Connection, obj: Any, erase_days: EraseDays, *, new: bool
) -> None:
    session = object_session(obj)
    if session is None:  # pragma: no cover - flushes always have one
        raise NoKeyStore("a sealed row flushed without a session")
    _seal(session, obj, erase_days, new=new)


def _seal(session: Session, obj: Any, erase_days: EraseDays, *, new: bool) -> None:
    fields = sealed_fields(type(obj))
    changed: set[str] = obj.__dict__.pop(_CHANGED, set())
    floor: date | None = obj.__dict__.pop(_FORCE, None)
    legacy_rows = not new and holds_plain(obj)
    if (
        not new
        and not changed
        and floor is None
        and not legacy_rows
        and not _day_inputs_changed(obj)
    ):
        return
    store = store_for(session)
    if obj.row_key is None:
        obj.row_key = os.urandom(ROW_KEY_BYTES)
    days = erase_days(session, obj)
    if not days:  # the row names no site that exists: the INSERT fails on its foreign key
        for field in fields.values():
            if field.legacy is not None and new:
                setattr(obj, field.legacy, _legacy_empty(obj, field.legacy))
        return
    for group, (site_id, day) in days.items():
        if floor is not None and day < floor:
            day = floor
        for name in _GROUPS[type(obj)][group]:
            field = fields[name]
            if (
                new
                or floor is not None
                or name in changed
                or legacy_rows
                or (
                    getattr(obj, field.sealed_attr) is not None
                    and current_day(obj, name, store) != day
                )
            ):
                field.seal(obj, store, site_id, day)


#: Attributes whose change can move a row's erase day, per model.
_DAY_INPUTS: dict[type, tuple[str, ...]] = {}
#: Field names per group, per model.
_GROUPS: dict[type, dict[str, tuple[str, ...]]] = {}


def _day_inputs_changed(obj: Any) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in _DAY_INPUTS[type(obj)])


def sealed_values(session: Session, model: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """The column values of a new row of ``model`` with its personal fields sealed, for a bulk
    INSERT (benchmarks, tests): what a flush of ``model(**values)`` would write."""
    obj = model(**values)
    _seal(session, obj, _ERASE_DAYS[model], new=True)
    mapper: Mapper[Any] = inspect(model)
    keys = [str(attr.key) for attr in mapper.column_attrs]
    return {key: getattr(obj, key) for key in keys if key in obj.__dict__}


_ERASE_DAYS: dict[type, EraseDays] = {}


def field_groups(model: type) -> dict[str, tuple[str, ...]]:
    """The model's groups of sealed fields (each group sealed under one erase day's key)."""
    return _GROUPS[model]


def sealed_models() -> list[type]:
    """Every model with sealed fields, in the order they were registered."""
    return list(_GROUPS)


def erase_days_of(session: Session, obj: Any) -> Mapping[str, tuple[int, date]]:
    """(site id, erase day) per group of the row's fields, by today's rules."""
    return _ERASE_DAYS[type(obj)](session, obj)


def seal_model(
    model: type,
    *,
    groups: Mapping[str, Iterable[str]],
    erase_days: EraseDays,
    day_inputs: Iterable[str],
) -> None:
    """Encrypt ``model``'s :class:`Sealed` fields on every INSERT and UPDATE."""
    table = model.__table__.name  # type: ignore[attr-defined]
    for field in sealed_fields(model).values():
        field.table = table
    _GROUPS[model] = {group: tuple(names) for group, names in groups.items()}
    _DAY_INPUTS[model] = tuple(day_inputs)
    _ERASE_DAYS[model] = erase_days

    def before_insert(mapper: Mapper[Any], connection: Connection, obj: Any) -> None:
        _seal_row(mapper, connection, obj, erase_days, new=True)

    def before_update(mapper: Mapper[Any], connection: Connection, obj: Any) -> None:
        _seal_row(mapper, connection, obj, erase_days, new=False)

    event.listen(model, "before_insert", before_insert)
    event.listen(model, "before_update", before_update)

    def refresh(obj: Any, _context: Any, _attrs: Any = None) -> None:
        # A reload (expire, refresh) may bring another ciphertext: read it anew.
        obj.__dict__.pop(_PLAIN, None)

    event.listen(model, "load", refresh)
    event.listen(model, "refresh", refresh)

    def expire(obj: Any, _attrs: Any) -> None:
        # A rollback expires rows whose objects may already be garbage-collected (None).
        if obj is not None:
            obj.__dict__.pop(_PLAIN, None)

    event.listen(model, "expire", expire)
