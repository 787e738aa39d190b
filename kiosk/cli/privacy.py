"""``kiosk purge``: the retention purge, for deployments that schedule it themselves."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from kiosk.cli.common import require_schema
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.models import Site
from kiosk.privacy.purge import PurgeSettings, SiteCounts, count_expired, run_purge
from kiosk.privacy.rules import cutoffs_for


@click.command()
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Only count what would be erased; change nothing.")
@click.option("--site", "site_names", multiple=True, help="Only this site (repeatable).")
def purge(dry_run: bool, site_names: tuple[str, ...]) -> None:
    """Erase visitor data whose retention period has ended, and print how much per site.

    Safe to run at any time and from several places at once: a second purge that starts while
    one runs does nothing. The served app runs it by itself (PURGE_TIME, PURGE_ON_START).
    """
    require_schema()
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
            f"contact details of {counts.contacts}, {counts.documents} signed documents "
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
            # Every site unless some were named: the purge then also deletes the passed
            # blind-index rows of every site in one pass, as the served app's purge does.
            sites=sites if site_names else None,
        )
    except Exception as exc:
        # The class name only: a database error's message can quote the data it was about.
        raise click.ClickException(f"the purge failed ({type(exc).__name__})") from None
    if run is None:
        click.echo("Another purge is running; this one did nothing.")
        return
    for item in sorted(run.sites, key=lambda item: item.site.name):
        report(
            item.site.name,
            SiteCounts(
                item.visits_erased,
                item.invitations_erased,
                item.contacts_erased,
                item.documents_erased,
            ),
            item.visit_cutoff,
            ZoneInfo(item.site.timezone),
        )
