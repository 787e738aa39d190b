"""The ``kiosk`` command: serve, db, demo, create-user and friends."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import click
from alembic import command as alembic_command
from flask import Flask, current_app
from flask.cli import FlaskGroup

from kiosk.app import create_app
from kiosk.clock import now
from kiosk.db import get_database, get_session
from kiosk.models import ROLES, Site
from kiosk.schema import SchemaOutOfDate, alembic_config, check_schema, rename_old_revisions


def _create_app() -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, load_dotenv=False, set_debug_flag=False)
def main() -> None:
    """Visitor registration for office receptions."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", type=int, help="Worker processes (default: KIOSK_WORKERS or cores).")
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the kiosk and the dashboard with gunicorn (the production server)."""
    from kiosk.server import run_server

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    engine = get_database().engine
    try:
        check_schema(engine)
    except SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        # Workers build their own app and engine; no connection may cross the fork.
        engine.dispose()
    worker_count = workers or app.config["WORKERS"] or os.cpu_count() or 2
    base = f"http://{host}:{port}"
    click.echo(f"Kiosk:     {base}/")
    click.echo(f"Dashboard: {base}/dashboard/")
    run_server(host=host, port=port, workers=int(worker_count))


@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    with get_database().engine.begin() as connection:
        rename_old_revisions(connection)
    _run_alembic(alembic_command.upgrade, revision)
    click.echo("Database is up to date.")


@db.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    _run_alembic(alembic_command.downgrade, revision)


@db.command()
def current() -> None:
    """Show the migration the database is at."""
    _run_alembic(alembic_command.current)


@db.command()
@click.option("-m", "--message", required=True, help="What the migration changes.")
def revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    _run_alembic(alembic_command.revision, message=message, autogenerate=True)


def _run_alembic(func: Any, *args: Any, **kwargs: Any) -> None:
    config = alembic_config()
    with get_database().engine.begin() as connection:
        config.attributes["connection"] = connection
        func(config, *args, **kwargs)


def _audit_cli(action: str, target_type: str, target_id: int) -> None:
    """Record a change made on the command line (the caller commits)."""
    from kiosk.services.audit import record_event

    record_event(
        get_session(),
        actor="cli",
        action=action,
        target_type=target_type,
        target_id=target_id,
        now=now(),
    )


def _require_schema() -> None:
    try:
        check_schema(get_database().engine)
    except SchemaOutOfDate as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--reset-password", is_flag=True, help="Give the demo admin a new password.")
@click.option(
    "--base-url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Where the kiosk will be served, for the pairing link.",
)
def demo(reset_password: bool, base_url: str) -> None:
    """Create demo data (idempotent): a site, hosts, notices, a kiosk and an admin."""
    from kiosk.services.demo import DEMO_ADMIN, DEMO_SITE, seed_demo
    from kiosk.services.kiosks import format_pairing_code

    _require_schema()
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


@main.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option("--site", "sites", multiple=True, help="A site the user serves (repeatable).")
def create_user(username: str, role: str, sites: tuple[str, ...]) -> None:
    """Create a staff user; the password comes from standard input or a prompt."""
    from kiosk.services.staff import StaffError, create_staff_user

    _require_schema()
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
    _audit_cli("create_staff_user", "staff_user", user.id)
    session.commit()
    click.echo(f"Created {role} user {user.username!r}.")


@main.group()
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
    from sqlalchemy import select

    from kiosk.models import Site
    from kiosk.services.kiosks import KioskError, create_device, format_pairing_code

    _require_schema()
    session = get_session()
    site = session.scalar(select(Site).where(Site.name == site_name))
    if site is None:
        raise click.ClickException(f"there is no site named {site_name!r}")
    try:
        created, code = create_device(session, site, name, now=now())
        session.flush()
    except KioskError as exc:
        raise click.ClickException(f"cannot create the kiosk: {exc.code}") from exc
    _audit_cli("create_kiosk", "kiosk_device", created.id)
    session.commit()
    click.echo(f"Pairing code: {format_pairing_code(code)} (valid 24 h)")
    click.echo(f"Pairing link: {base_url.rstrip('/')}/pair?code={code}")


@device.command("list")
def device_list() -> None:
    """List kiosk devices and whether they are paired."""
    from sqlalchemy import select

    from kiosk.models import KioskDevice

    _require_schema()
    for item in get_session().scalars(select(KioskDevice).order_by(KioskDevice.id)):
        state = "revoked" if item.revoked_at else "paired" if item.cookie_nonce else "not paired"
        prints = item.print_backend or "as site"
        if item.print_backend == "cups":
            prints += f" {item.cups_printer}"
        click.echo(f"{item.id}\t{item.site.name}\t{item.name}\t{state}\tprints: {prints}")


@device.command("printing")
@click.argument("device_id", type=int)
@click.option(
    "--backend",
    type=click.Choice(["site", "browser", "cups", "none"]),
    required=True,
    help="How this kiosk's badges print; 'site' follows its site's setting.",
)
@click.option("--printer", default="", help="The CUPS queue, for --backend cups.")
def device_printing(device_id: int, backend: str, printer: str) -> None:
    """Choose how one kiosk's badges are printed (e.g. a label printer beside it)."""
    from kiosk.badges.service import BadgeSettingsError, configure_kiosk_printing
    from kiosk.models import KioskDevice

    _require_schema()
    session = get_session()
    found = session.get(KioskDevice, device_id)
    if found is None:
        raise click.ClickException(f"there is no kiosk device {device_id}")
    try:
        configure_kiosk_printing(
            found, backend=None if backend == "site" else backend, printer=printer
        )
    except BadgeSettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit_cli("configure_kiosk_printing", "kiosk_device", found.id)
    session.commit()
    click.echo(f"Kiosk {found.name!r} prints: {found.print_backend or 'as its site'}.")


@device.command("revoke")
@click.argument("device_id", type=int)
def device_revoke(device_id: int) -> None:
    """Revoke a kiosk device: its browser stops working as a kiosk at once."""
    from kiosk.models import KioskDevice
    from kiosk.services.kiosks import revoke_device

    _require_schema()
    session = get_session()
    found = session.get(KioskDevice, device_id)
    if found is None:
        raise click.ClickException(f"there is no kiosk device {device_id}")
    revoke_device(found, now=now())
    _audit_cli("revoke_kiosk", "kiosk_device", found.id)
    session.commit()
    click.echo(f"Revoked kiosk {found.name!r}.")


@main.command("end-of-day")
def end_of_day() -> None:
    """Check out visitors still on site after their site's end-of-day time (idempotent)."""
    from kiosk.services.daily import check_out_at_end_of_day

    _require_schema()
    session = get_session()
    done = check_out_at_end_of_day(session, now=now())
    session.commit()
    for site_id, count in done.items():
        click.echo(f"site {site_id}: {count} checked out")
    if not done:
        click.echo("Nobody to check out.")


@main.group()
def notify() -> None:
    """Host notifications and invitation emails (the outbox)."""


@notify.command("run")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def notify_run(once: bool) -> None:
    """Deliver notifications: for deployments that set NOTIFY_IN_SERVER to false."""
    import signal

    from kiosk.notifications.sender import NotificationSender, deliver_due

    _require_schema()
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


@main.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be erased; change nothing.")
@click.option("--site", "site_names", multiple=True, help="Only this site (repeatable).")
def purge(dry_run: bool, site_names: tuple[str, ...]) -> None:
    """Erase visitor data whose retention period has ended, and print how much per site.

    Safe to run at any time and from several places at once: a second purge that starts while
    one runs does nothing. The served app runs it by itself (PURGE_TIME, PURGE_ON_START).
    """
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from kiosk.models import Site
    from kiosk.privacy.retention import (
        PurgeSettings,
        SiteCounts,
        count_expired,
        cutoffs_for,
        run_purge,
    )

    _require_schema()
    session = get_session()
    sites = list(session.scalars(select(Site).order_by(Site.name)))
    if site_names:
        unknown = sorted(set(site_names) - {site.name for site in sites})
        if unknown:
            raise click.ClickException(f"there is no site named {unknown[0]!r}")
        sites = [site for site in sites if site.name in site_names]

    def report(name: str, counts: SiteCounts, cutoff: datetime, zone: ZoneInfo) -> None:
        verb = "would erase" if dry_run else "erased"
        click.echo(
            f"{name}: {verb} {counts.visits} visits, {counts.invitations} invitations, "
            f"contact details of {counts.contacts} "
            f"(visits that ended by {cutoff.astimezone(zone):%Y-%m-%d %H:%M %Z})"
        )

    if dry_run:
        cutoffs = [cutoffs_for(site, now()) for site in sites]
        counts = count_expired(session, cutoffs)
        for cutoff in cutoffs:
            report(cutoff.site_name, counts.site(cutoff.site_id), cutoff.visit, cutoff.zone)
        return
    config = current_app.config
    try:
        run = run_purge(
            session,
            clock=config["CLOCK"],
            trigger="cli",
            settings=PurgeSettings.from_config(config),
            sites=sites,
        )
    except Exception as exc:
        # The class name only: a database error's message can quote the data it was about.
        raise click.ClickException(f"the purge failed ({type(exc).__name__})") from None
    if run is None:
        click.echo("Another purge is running; this one did nothing.")
        return
    for item in run.sites:
        report(
            item.site.name,
            SiteCounts(item.visits_erased, item.invitations_erased, item.contacts_erased),
            item.visit_cutoff,
            ZoneInfo(item.site.timezone),
        )


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@main.group()
def badge() -> None:
    """Badges: test prints, formats and each site's badge settings."""


def _site_named(name: str) -> Site:
    from sqlalchemy import select

    site = get_session().scalar(select(Site).where(Site.name == name))
    if site is None:
        raise click.ClickException(f"there is no site named {name!r}")
    return site


@badge.command("presets")
def badge_presets() -> None:
    """List the badge formats."""
    from kiosk.badges.presets import PRESETS

    for preset in PRESETS.values():
        click.echo(
            f"{preset.name:16} {preset.page_width_mm:g} x {preset.page_height_mm:g} mm"
            f"  media={preset.cups_media}"
        )


@badge.command("sample")
@click.option("--preset", "preset_name", help="Badge format (default: the site's).")
@click.option("--site", "site_name", help="Use this site's name, colour, logo and printer.")
@click.option("--locale", default="en", show_default=True, help="Language of the badge.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="PDF file to write.")
@click.option("--print", "send", is_flag=True, help="Send it to the site's CUPS printer instead.")
@click.option(
    "--kiosk",
    "kiosk_id",
    type=int,
    help="With --print: the CUPS printer of this kiosk device (see `kiosk device list`).",
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
    from pathlib import Path

    from kiosk.badges.presets import PRESETS, get_preset
    from kiosk.badges.printing import PrintError
    from kiosk.badges.service import print_target, sample_badge, send_to_cups, site_preset
    from kiosk.models import KioskDevice

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
    site = device.site if device else _site_named(site_name) if site_name else None
    if send and site is None:
        # Without --site, an installation with one site prints on that site's printer.
        from sqlalchemy import select

        only = get_session().scalars(select(Site).limit(2)).all()
        site = only[0] if len(only) == 1 else None
        if site is None:
            raise click.ClickException("--print needs a site with a CUPS printer (--site)")
    preset = get_preset(preset_name) if preset_name else (site_preset(site) if site else None)
    preset = preset or get_preset("brother-62x100")
    pdf, token = sample_badge(site, preset=preset, locale=locale, now=now())
    if output:
        Path(output).write_bytes(pdf)
        click.echo(f"Wrote a {preset.name} badge to {output}.")
    if send and site is not None:
        printer = print_target(site, device).printer
        try:
            request_id = send_to_cups(site, pdf, title="kiosk sample badge", printer=printer)
        except PrintError as exc:
            raise click.ClickException(f"printing failed: {exc}") from exc
        click.echo(f"Sent to CUPS printer {printer} (request {request_id}).")
    click.echo(f"Badge token: {token}")


@badge.command("configure")
@click.argument("site_name", metavar="SITE")
@click.option("--preset", help="Badge format (see `kiosk badge presets`).")
@click.option("--band-colour", help="Colour of the VISITOR band, like #0B5CAD.")
@click.option("--logo", type=click.Path(exists=True, dir_okay=False), help="PNG or JPEG logo.")
@click.option("--no-logo", is_flag=True, help="Remove the logo.")
@click.option("--backend", type=click.Choice(["browser", "cups", "none"]), help="How badges print.")
@click.option("--printer", help="CUPS queue name for the cups backend.")
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
    from pathlib import Path

    from kiosk.badges.service import BadgeSettingsError, configure_badges
    from kiosk.services.audit import record_event

    session = get_session()
    site = _site_named(site_name)
    try:
        configure_badges(
            site,
            preset=preset,
            band_colour=band_colour,
            logo=Path(logo).read_bytes() if logo else None,
            remove_logo=no_logo,
            backend=backend,
            printer=printer,
        )
    except BadgeSettingsError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from exc
    record_event(
        session,
        actor="cli",
        action="configure_badges",
        target_type="site",
        target_id=site.id,
        now=now(),
    )
    session.commit()
    click.echo(
        f"{site.name}: preset {site.badge_preset}, band {site.badge_band_colour}, "
        f"logo {'yes' if site.badge_logo else 'no'}, backend {site.print_backend}"
        + (f", printer {site.cups_printer}" if site.cups_printer else "")
    )


@main.group()
def translate() -> None:
    """Translation catalogs."""


@translate.command("compile")
def translate_compile() -> None:
    """Compile the .po catalogs into .mo files."""
    from kiosk.i18n import compile_catalogs

    for path in compile_catalogs():
        click.echo(f"compiled {path}")
