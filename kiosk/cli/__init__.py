"""The ``kiosk`` command: serve here, one module per group of the other commands.

``db`` (migrations), ``demo``, ``create-user`` (users), ``device`` (devices), ``badge``
(badges), ``keys`` (the key store), ``purge`` (privacy), ``end-of-day`` (visits), ``notify``
and ``translate``. Each command checks its input, calls one domain function and reports; the
work is in the domain.
"""

from __future__ import annotations

import os
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup
from sqlalchemy.exc import DataError

from kiosk.app import create_app
from kiosk.cli.badges import badge
from kiosk.cli.db import db
from kiosk.cli.demo import demo
from kiosk.cli.devices import device
from kiosk.cli.keys import keys
from kiosk.cli.notify import notify
from kiosk.cli.privacy import purge
from kiosk.cli.translate import translate
from kiosk.cli.users import create_user
from kiosk.cli.visits import end_of_day
from kiosk.db import get_database
from kiosk.schema import SchemaOutOfDate, check_schema


def _create_app() -> Flask:
    return create_app()


class _KioskGroup(FlaskGroup):
    """Flask's command group, which also turns a value the database refuses (a NUL in a name,
    which PostgreSQL does not store) into an error message instead of a traceback; the
    message names the driver's error class, never the value."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DataError as exc:
            original = getattr(exc, "orig", None) or exc
            raise click.ClickException(
                f"the database refused a value ({type(original).__name__})"
            ) from exc


@click.group(cls=_KioskGroup, create_app=_create_app, load_dotenv=False, set_debug_flag=False)
def main() -> None:
    """Visitor registration for office receptions."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", type=int, help="Worker processes (default: KIOSK_WORKERS or cores).")
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the kiosk and the dashboard with gunicorn (the production server)."""
    from kiosk.server import run_server  # gunicorn: only for this command

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    engine = get_database().engine
    try:
        check_schema(engine)
    except SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        # Workers build their own app and engine; no connection may cross the fork.
        engine.dispose()
    key_store_error = app.extensions.get("kiosk.key_store_error")
    if key_store_error is not None:
        raise click.ClickException(
            f"the key store cannot be used: {key_store_error} (docs/erasure.md)"
        )
    worker_count = workers or app.config["WORKERS"] or os.cpu_count() or 2
    base = f"http://{host}:{port}"
    click.echo(f"Kiosk:     {base}/")
    click.echo(f"Dashboard: {base}/dashboard/")
    run_server(host=host, port=port, workers=int(worker_count))


for command in (db, demo, create_user, device, end_of_day, notify, purge, badge, keys, translate):
    main.add_command(command)
