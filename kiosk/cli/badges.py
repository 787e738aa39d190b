"""``kiosk badge``: badge formats, test prints and each site's badge settings."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from kiosk.badges.content import sample_badge, site_preset
from kiosk.badges.jobs import SERVER_BACKENDS, print_target, send_badge
from kiosk.badges.presets import PRESETS, get_preset
from kiosk.badges.print_errors import PrintError
from kiosk.badges.settings import BadgeSettingsError, configure_badges
from kiosk.cli.common import RECORD_ID, FilePath, audit_cli, site_named, write_file
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.enums import PrintBackend, values
from kiosk.models import KioskDevice, Site


@click.group(cls=AppGroup)
def badge() -> None:
    """Badges: test prints, formats and each site's badge settings."""


@badge.command("presets")
def badge_presets() -> None:
    """List the badge formats."""
    for preset in PRESETS.values():
        click.echo(
            f"{preset.name:24} {preset.page_width_mm:g} x {preset.page_height_mm:g} mm"
            f"  media={preset.cups_media}"
            + (f"  brother_ql label={preset.ql_label}" if preset.ql_label else "")
        )


@badge.command("sample")
@click.option("--preset", "preset_name", help="Badge format (default: the site's).")
@click.option("--site", "site_name", help="Use this site's name, colour, logo and printer.")
@click.option("--locale", default="en", show_default=True, help="Language of the badge.")
@click.option("--output", type=FilePath(dir_okay=False, writable=True), help="PDF file to write.")
@click.option("--print", "send", is_flag=True, help="Send it to the site's printer instead.")
@click.option(
    "--kiosk",
    "kiosk_id",
    type=RECORD_ID,
    help="With --print: the printer of this kiosk device (see `kiosk device list`).",
)
def badge_sample(
    preset_name: str | None,
    site_name: str | None,
    locale: str,
    output: str | None,
    send: bool,
    kiosk_id: int | None,
) -> None:
    """Render a badge with sample details, to set up a printer; print the token its QR holds."""
    if not output and not send:
        raise click.UsageError("give --output FILE.pdf, or --print")
    device = get_session().get(KioskDevice, kiosk_id) if kiosk_id is not None else None
    if kiosk_id is not None and device is None:
        raise click.BadParameter(f"there is no kiosk device {kiosk_id}", param_hint="--kiosk")
    if preset_name is not None and preset_name not in PRESETS:
        raise click.BadParameter(
            f"{preset_name!r}; choose one of {', '.join(PRESETS)}", param_hint="--preset"
        )
    if locale not in current_app.config["LANGUAGES"]:
        raise click.BadParameter(f"{locale!r} is not offered", param_hint="--locale")
    site = device.site if device else site_named(site_name) if site_name else None
    if send and site is None:
        # Without --site, an installation with one site prints on that site's printer.
        only = get_session().scalars(select(Site).limit(2)).all()
        site = only[0] if len(only) == 1 else None
        if site is None:
            raise click.ClickException("--print needs a site with a printer (--site)")
    preset = get_preset(preset_name) if preset_name else (site_preset(site) if site else None)
    preset = preset or get_preset("brother-62x100")
    pdf, token = sample_badge(site, preset=preset, locale=locale, now=now())
    if output:
        write_file(output, pdf)
        click.echo(f"Wrote a {preset.name} badge to {output}.")
    if send and site is not None:
        target = print_target(site, device)
        if target.backend not in SERVER_BACKENDS:
            raise click.ClickException(
                f"the {target.backend} backend prints nothing on the server: configure cups"
                " or brother_ql first"
            )
        try:
            request_id = send_badge(site, target, pdf, title="kiosk sample badge")
        except PrintError as exc:
            raise click.ClickException(f"printing failed: {exc}") from exc
        if target.backend == PrintBackend.BROTHER_QL:
            click.echo(f"Sent to the Brother QL printer at {target.printer}.")
        else:
            click.echo(f"Sent to CUPS printer {target.printer} (request {request_id}).")
    click.echo(f"Badge token: {token}")


@badge.command("configure")
@click.argument("site_name", metavar="SITE")
@click.option("--preset", help="Badge format (see `kiosk badge presets`).")
@click.option("--band-colour", help="Colour of the VISITOR band, like #0B5CAD.")
@click.option("--logo", type=FilePath(exists=True, dir_okay=False), help="PNG or JPEG logo.")
@click.option("--no-logo", is_flag=True, help="Remove the logo.")
@click.option("--backend", type=click.Choice(values(PrintBackend)), help="How badges print.")
@click.option(
    "--printer",
    help="The CUPS queue (cups backend), or the label printer's HOST[:PORT] (brother_ql).",
)
def badge_configure(
    site_name: str,
    preset: str | None,
    band_colour: str | None,
    logo: str | None,
    no_logo: bool,
    backend: str | None,
    printer: str | None,
) -> None:
    """Change a site's badge settings, then show them."""
    session = get_session()
    site = site_named(site_name)
    ql = (backend or site.print_backend) == PrintBackend.BROTHER_QL
    try:
        configure_badges(
            site,
            preset=preset,
            band_colour=band_colour,
            logo=Path(logo).read_bytes() if logo else None,
            remove_logo=no_logo,
            backend=backend,
            printer=None if ql else printer,
            ql_printer=printer if ql else None,
        )
    except BadgeSettingsError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from exc
    audit_cli("configure_badges", "site", site.id)
    session.commit()
    click.echo(
        f"{site.name}: preset {site.badge_preset}, band {site.badge_band_colour}, "
        f"logo {'yes' if site.badge_logo else 'no'}, backend {site.print_backend}"
        + (f", printer {site.cups_printer}" if site.cups_printer else "")
        + (f", label printer {site.ql_printer}" if site.ql_printer else "")
    )
