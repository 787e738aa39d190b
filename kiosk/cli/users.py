"""``kiosk create-user``: staff users from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from kiosk.cli.common import audit_cli, require_schema
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.enums import Role, values
from kiosk.services.staff import StaffError, create_staff_user


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option(
    "--role", type=click.Choice(values(Role)), required=True, help="What the user may do."
)
@click.option("--site", "sites", multiple=True, help="A site the user serves (repeatable).")
def create_user(username: str, role: str, sites: tuple[str, ...]) -> None:
    """Create a staff user; the password comes from standard input or a prompt."""
    require_schema()
    if _stdin_is_terminal():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    session = get_session()
    try:
        user = create_staff_user(
            session, username=username, password=password, role=role, site_names=sites, now=now()
        )
        session.flush()
    except StaffError as exc:
        raise click.ClickException(str(exc)) from exc
    audit_cli("create_staff_user", "staff_user", user.id)
    session.commit()
    click.echo(f"Created {role} user {user.username!r}.")


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()
