"""What the command modules share: the schema check, audit entries, finding a site by name,
file options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import current_app
from sqlalchemy import select

from kiosk.clock import now
from kiosk.db import ID_MAX, get_database, get_session
from kiosk.models import Site
from kiosk.schema import SchemaOutOfDate, check_schema
from kiosk.services.audit import record_event

#: A record id on the command line: beyond the ids' range it is a usage error, not an overflow
#: in the database driver.
RECORD_ID = click.IntRange(1, ID_MAX)


class FilePath(click.Path):
    """``click.Path`` that refuses a name no file can have (a NUL character) with a usage
    error: click asks the system about the path, which raises ValueError for a NUL instead of
    the OSError click turns into a message."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\x00" in value:
            self.fail("a file name cannot contain a NUL character", param, ctx)
        return super().convert(value, param, ctx)


def write_file(path: str, data: bytes) -> None:
    """Write ``data`` to the file the operator named, or stop with why it could not be."""
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"could not write {path!r}: {exc.strerror or exc}") from exc


def require_schema() -> None:
    """Stop with a message unless the database is at the newest migration."""
    try:
        check_schema(get_database().engine)
    except SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from exc
    # Personal fields are sealed under the key store's keys: nothing works without it.
    reason = current_app.extensions.get("kiosk.key_store_error")
    if reason is not None:
        raise click.ClickException(f"the key store cannot be used: {reason} (docs/erasure.md)")


def audit_cli(action: str, target_type: str, target_id: int) -> None:
    """Record a change made on the command line (the caller commits)."""
    record_event(
        get_session(),
        actor="cli",
        action=action,
        target_type=target_type,
        target_id=target_id,
        now=now(),
    )


def site_named(name: str) -> Site:
    """The site called ``name``; stops with a message when there is none."""
    site = get_session().scalar(select(Site).where(Site.name == name))
    if site is None:
        raise click.ClickException(f"there is no site named {name!r}")
    return site
