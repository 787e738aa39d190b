"""``kiosk notify``: the notification sender as a process of its own."""

from __future__ import annotations

import contextlib
import signal

import click
from flask import current_app
from flask.cli import AppGroup

from kiosk.cli.common import require_schema
from kiosk.notifications.sender import NotificationSender, deliver_due


@click.group(cls=AppGroup)
def notify() -> None:
    """Host notifications and invitation emails (the outbox)."""


@notify.command("run")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def notify_run(once: bool) -> None:
    """Deliver notifications: for deployments that set NOTIFY_IN_SERVER to false."""
    require_schema()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        report = deliver_due(app)
        click.echo(f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}")
        return
    sender = NotificationSender(app)
    signal.signal(signal.SIGTERM, lambda *_args: sender.stop(timeout=0))
    click.echo(f"Delivering notifications every {sender.poll_seconds:g} s; Ctrl-C stops.")
    with contextlib.suppress(KeyboardInterrupt):
        sender.run()
