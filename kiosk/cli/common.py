"""What the command modules share: the schema check, audit entries, finding a site by name."""

from __future__ import annotations

import click
from flask import current_app
from sqlalchemy import select

from kiosk.clock import now
from kiosk.db import get_database, get_session
from kiosk.models import Site
from kiosk.schema import SchemaOutOfDate, check_schema
from kiosk.services.audit import record_event


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
