"""``kiosk demo``: demo data to try the kiosk with."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from kiosk.cli.common import require_schema
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.services.demo import DEMO_ADMIN, DEMO_SITE, seed_demo
from kiosk.services.kiosks import format_pairing_code


@click.command()
@with_appcontext
@click.option("--reset-password", is_flag=True, help="Give the demo admin a new password.")
@click.option(
    "--base-url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Where the kiosk will be served, for the pairing link.",
)
def demo(reset_password: bool, base_url: str) -> None:
    """Create demo data (idempotent): a site, hosts, notices, a kiosk and an admin."""
    require_schema()
    session = get_session()
    result = seed_demo(session, now=now(), reset_password=reset_password)
    session.commit()
    if result.site_created:
        click.echo(f"Created the demo site {DEMO_SITE!r}.")
    if result.admin_password:
        click.echo(f"Demo login: {DEMO_ADMIN} / {result.admin_password}")
        click.echo("This password is shown only now.")
    else:
        click.echo(
            f"Demo login: {DEMO_ADMIN} (password shown when it was created; "
            "`kiosk demo --reset-password` makes a new one)"
        )
    if result.pairing_code:
        click.echo(
            f"Kiosk pairing: open {base_url.rstrip('/')}/pair?code={result.pairing_code} "
            f"in the kiosk's browser (code {format_pairing_code(result.pairing_code)}, valid 24 h)"
        )
    else:
        click.echo(
            "The demo kiosk is paired; pair another browser from the dashboard's Kiosks page."
        )
