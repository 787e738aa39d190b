"""``kiosk end-of-day``: the end-of-day check-out, for deployments that schedule it themselves."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from kiosk.cli.common import require_schema
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.notifications.events import queue_checked_out
from kiosk.services.daily import check_out_at_end_of_day


@click.command("end-of-day")
@with_appcontext
def end_of_day() -> None:
    """Check out visitors still on site after their site's end-of-day time (idempotent)."""
    require_schema()
    session = get_session()
    moment = now()
    done = check_out_at_end_of_day(session, now=moment)
    queue_checked_out(session, [visit for visits in done.values() for visit in visits], now=moment)
    session.commit()
    for site_id, visits in done.items():
        click.echo(f"site {site_id}: {len(visits)} checked out")
    if not done:
        click.echo("Nobody to check out.")
