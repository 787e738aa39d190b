"""``kiosk keys``: crypto-shredding's key store (docs/erasure.md)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from kiosk.keystore import KeyStore, KeyStoreError, MasterKey


@click.group(cls=AppGroup)
def keys() -> None:
    """The key store of crypto-shredding."""


@keys.command("new-master-key", with_appcontext=False)
def new_master_key() -> None:
    """Print a new random master key (for MASTER_KEY or MASTER_KEY_FILE)."""
    click.echo(MasterKey.generate_text())


@keys.command("init")
def init() -> None:
    """Make the key store at KEY_STORE (once, when setting up); check it when it exists."""
    _report(_open(create=True))


@keys.command("check")
def check() -> None:
    """Open the key store, check the master key against it, and count its keys.

    A missing store is an error here, never made anew: it would hide a lost one. Then samples
    the key ids the newest sealed rows name: one the store neither has nor destroyed means an
    older copy of the store (or a lost one), and the command fails.
    """
    from kiosk.db import get_database
    from kiosk.key_setup import lost_key_ids

    store = _open(create=False)
    lost = lost_key_ids(get_database().engine, store)
    _report(store)
    if lost:
        raise click.ClickException(
            f"{lost} key ids named by recent rows are missing from the key store:"
            " it may be an older copy (docs/erasure.md)"
        )


def _open(*, create: bool) -> KeyStore:
    from kiosk.db import get_database
    from kiosk.key_setup import existing_instance_key_store

    config = current_app.config
    try:
        if config["KEY_STORE"]:
            master = MasterKey.from_config(config)
            return KeyStore.open(str(config["KEY_STORE"]), master, create=create)
        # No KEY_STORE: the instance key store, if the app uses one (SQLite, as `make run`).
        store = existing_instance_key_store(
            config, Path(current_app.instance_path), get_database().engine
        )
    except KeyStoreError as error:
        raise click.ClickException(f"the key store cannot be used: {error.reason}") from None
    if store is None:
        raise click.ClickException("KEY_STORE is not set (docs/configuration.md)")
    return store


def _report(store: KeyStore) -> None:
    try:
        live, destroyed = store.counts()
    finally:
        store.close()
    click.echo(f"key store ok: {live} live keys, {destroyed} destroyed")
