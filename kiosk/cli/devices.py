"""``kiosk device``: the browsers allowed to work as kiosks."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from kiosk.badges.settings import BadgeSettingsError, configure_kiosk_printing
from kiosk.cli.common import RECORD_ID, audit_cli, require_schema, site_named
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.enums import PrintBackend, values
from kiosk.models import KioskDevice
from kiosk.services.kiosks import (
    KioskError,
    all_devices,
    create_device,
    format_pairing_code,
    revoke_device,
)


@click.group(cls=AppGroup)
def device() -> None:
    """Kiosk devices: the browsers allowed to register visitors."""


@device.command("add")
@click.argument("name")
@click.option("--site", "site_name", required=True, help="The site the kiosk serves.")
@click.option(
    "--base-url", default="http://127.0.0.1:5000", show_default=True, help="For the pairing link."
)
def device_add(name: str, site_name: str, base_url: str) -> None:
    """Create a kiosk device and print its one-time pairing code and link."""
    require_schema()
    session = get_session()
    site = site_named(site_name)
    try:
        created, code = create_device(session, site, name, now=now())
        session.flush()
    except KioskError as exc:
        raise click.ClickException(f"cannot create the kiosk: {exc.code}") from exc
    audit_cli("create_kiosk", "kiosk_device", created.id)
    session.commit()
    click.echo(f"Pairing code: {format_pairing_code(code)} (valid 24 h)")
    click.echo(f"Pairing link: {base_url.rstrip('/')}/pair?code={code}")


@device.command("list")
def device_list() -> None:
    """List kiosk devices and whether they are paired."""
    require_schema()
    for item in all_devices(get_session()):
        state = "revoked" if item.revoked_at else "paired" if item.cookie_nonce else "not paired"
        prints = item.print_backend or "as site"
        if item.print_backend == PrintBackend.CUPS:
            prints += f" {item.cups_printer}"
        elif item.print_backend == PrintBackend.BROTHER_QL:
            prints += f" {item.ql_printer}"
        click.echo(f"{item.id}\t{item.site.name}\t{item.name}\t{state}\tprints: {prints}")


@device.command("printing")
@click.argument("device_id", type=RECORD_ID)
@click.option(
    "--backend",
    type=click.Choice(["site", *values(PrintBackend)]),
    required=True,
    help="How this kiosk's badges print; 'site' follows its site's setting.",
)
@click.option(
    "--printer",
    default="",
    help="The CUPS queue (--backend cups), or the label printer's HOST[:PORT] (brother_ql).",
)
def device_printing(device_id: int, backend: str, printer: str) -> None:
    """Choose how one kiosk's badges are printed (e.g. a label printer beside it)."""
    require_schema()
    session = get_session()
    found = session.get(KioskDevice, device_id)
    if found is None:
        raise click.ClickException(f"there is no kiosk device {device_id}")
    try:
        ql = backend == PrintBackend.BROTHER_QL
        configure_kiosk_printing(
            found,
            backend=None if backend == "site" else backend,
            printer="" if ql else printer,
            ql_printer=printer if ql else "",
        )
    except BadgeSettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    audit_cli("configure_kiosk_printing", "kiosk_device", found.id)
    session.commit()
    click.echo(f"Kiosk {found.name!r} prints: {found.print_backend or 'as its site'}.")


@device.command("revoke")
@click.argument("device_id", type=RECORD_ID)
def device_revoke(device_id: int) -> None:
    """Revoke a kiosk device: its browser stops working as a kiosk at once."""
    require_schema()
    session = get_session()
    found = session.get(KioskDevice, device_id)
    if found is None:
        raise click.ClickException(f"there is no kiosk device {device_id}")
    revoke_device(found, now=now())
    audit_cli("revoke_kiosk", "kiosk_device", found.id)
    session.commit()
    click.echo(f"Revoked kiosk {found.name!r}.")
