"""The app's key store, opened at start (docs/erasure.md, "The key store").

- ``KEY_STORE`` set: that store, with the master key from ``MASTER_KEY`` or
  ``MASTER_KEY_FILE``; a missing store or a wrong master key stops the app (``kiosk keys init``
  makes the store, once).
- ``KEY_STORE`` unset, the database a SQLite file and ``INSTANCE_KEY_STORE`` true (the
  default): the *instance key store*, ``<instance>/keys/keys.sqlite3`` with its master key in
  ``<instance>/keys/master.key`` (0600), made on first start: so ``make run``, ``kiosk demo``
  and the tests work on a fresh machine. The keys then sit beside the database in the
  instance folder, so a copy of the whole folder is not protected (a copy of the database
  file, a backup of it, is). Production sets ``KEY_STORE`` and ``INSTANCE_KEY_STORE=false``
  (deploy/kiosk.env.example); on PostgreSQL ``KEY_STORE`` is required.
- A store is only ever made while the database holds no sealed value: an instance key store
  that went missing under a database that has some is refused, never silently made anew.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from kiosk import sealing
from kiosk.keystore import KeyStore, KeyStoreError, MasterKey
from kiosk.paths import make_private_dir

log = logging.getLogger(__name__)

INSTANCE_KEYS_DIR = "keys"
INSTANCE_MASTER_KEY_FILE = "master.key"
INSTANCE_STORE_FILE = "keys.sqlite3"

#: (table, a sealed column) whose rows prove the database already holds sealed values.
_SEALED_PROBES = (("visits", "visitor_name_sealed"), ("session_items", "value_sealed"))


def holds_sealed_values(engine: Engine) -> bool:
    """Whether any row of the database is sealed (so its key store must already exist)."""
    with engine.connect() as connection:
        inspector = inspect(connection)
        for table, column in _SEALED_PROBES:
            if not inspector.has_table(table):
                continue
            if column not in {c["name"] for c in inspector.get_columns(table)}:
                continue
            found = connection.execute(
                text(f"SELECT 1 FROM {table} WHERE {column} IS NOT NULL LIMIT 1")  # noqa: S608
            ).first()
            if found is not None:
                return True
    return False


def _instance_master_key(folder: Path) -> MasterKey:
    path = folder / INSTANCE_MASTER_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return MasterKey.from_config({"MASTER_KEY_FILE": str(path)})
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(MasterKey.generate_text() + "\n")
    return MasterKey.from_config({"MASTER_KEY_FILE": str(path)})


def open_key_store(config: Mapping[str, Any], instance_path: Path, engine: Engine) -> KeyStore:
    """The store the settings name, checked; raises :class:`KeyStoreError` with a reason."""
    if config.get("KEY_STORE"):
        master = MasterKey.from_config(config)
        return KeyStore.open(str(config["KEY_STORE"]), master)
    if engine.dialect.name != "sqlite":
        raise KeyStoreError("key_store_not_configured")
    if not config.get("INSTANCE_KEY_STORE", True):
        raise KeyStoreError("key_store_not_configured")
    folder = instance_path / INSTANCE_KEYS_DIR
    store_file = folder / INSTANCE_STORE_FILE
    url = f"sqlite:///{store_file}"
    if store_file.is_file() and (folder / INSTANCE_MASTER_KEY_FILE).is_file():
        return KeyStore.open(url, _instance_master_key(folder))
    if holds_sealed_values(engine):
        raise KeyStoreError("key_store_missing")
    make_private_dir(folder)
    with contextlib.suppress(FileExistsError):  # the owner's only, like the database (kiosk.db)
        os.close(os.open(store_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    # Several workers may start at once: the master key file is made by one (O_EXCL) and the
    # store's canary by one (its primary key); the others read theirs.
    return KeyStore.open(url, _instance_master_key(folder), create=True)


def existing_instance_key_store(
    config: Mapping[str, Any], instance_path: Path, engine: Engine
) -> KeyStore | None:
    """The instance key store, opened, when the settings use one (no ``KEY_STORE``, SQLite,
    ``INSTANCE_KEY_STORE``); None when they do not. Never made here: one that is missing is
    refused (``key_store_missing``), as a lost store must be."""
    if config.get("KEY_STORE") or engine.dialect.name != "sqlite":
        return None
    if not config.get("INSTANCE_KEY_STORE", True):
        return None
    folder = instance_path / INSTANCE_KEYS_DIR
    if not (folder / INSTANCE_MASTER_KEY_FILE).is_file():
        raise KeyStoreError("key_store_missing")
    master = MasterKey.from_config({"MASTER_KEY_FILE": str(folder / INSTANCE_MASTER_KEY_FILE)})
    return KeyStore.open(f"sqlite:///{folder / INSTANCE_STORE_FILE}", master)


def open_for_engine(config: Mapping[str, Any], instance_path: Path, engine: Engine) -> KeyStore:
    """Open the store and seal this database's personal fields with it."""
    store = open_key_store(config, instance_path, engine)
    sealing.register(engine, store)
    return store


#: Rows per sealed table whose key ids the start-up check samples (the newest).
KEY_SAMPLE_ROWS = 50


def lost_key_ids(engine: Engine, store: KeyStore, *, rows: int = KEY_SAMPLE_ROWS) -> int:
    """How many key ids named by the newest rows of each sealed table the store neither has
    nor recorded as destroyed: a key store replaced by an older copy, or lost, which would
    lose data still within its retention (docs/erasure.md, "Failure modes"). Ids only."""
    from kiosk.field_cipher import key_id_of
    from kiosk.keystore import KeyMissing
    from kiosk.sealing import sealed_fields, sealed_models

    named: set[bytes] = set()
    with engine.connect() as connection:
        for model in sealed_models():
            table = model.__table__  # type: ignore[attr-defined]
            if not inspect(connection).has_table(table.name):
                continue
            columns = [table.c[field.sealed_attr] for field in sealed_fields(model).values()]
            order = table.c.id.desc() if "id" in table.c else table.c.updated_at.desc()
            try:
                found = connection.execute(select(*columns).order_by(order).limit(rows)).all()
            except SQLAlchemyError:  # a schema not upgraded yet: the app refuses it anyway
                connection.rollback()
                continue
            for row in found:
                named.update(key_id_of(bytes(value)) for value in row if value is not None)
    lost = 0
    for key_id in named:
        try:
            store.key(key_id)
        except KeyMissing:
            lost += 1
    return lost
