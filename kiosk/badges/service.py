"""Badges of visits: what goes on them, printing them, reprints, and each site's settings.

Functions here take a session and ``now`` like every domain function; they use the app's
configuration (fonts, CUPS server) and translations, so they run inside an app context.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy import Subquery, func, select
from sqlalchemy.orm import Session, joinedload

from kiosk.badges.fonts import FontSet, load_fonts
from kiosk.badges.presets import PRESETS, BadgePreset, get_preset
from kiosk.badges.printing import CupsPrinter, PrintError, valid_queue_name
from kiosk.badges.render import BadgeContent, render_badge
from kiosk.models import PRINT_BACKENDS, KioskDevice, PrintJob, Site, Visit
from kiosk.services.visitor_types import band_colour, band_label
from kiosk.services.visits import new_badge_token, new_short_code

log = logging.getLogger(__name__)

STATUS_SENT = "sent"
STATUS_FAILED = "failed"
STATUS_BROWSER = "browser"
STATUS_DOWNLOAD = "download"
#: The error of a badge the kiosk's browser reported it could not print.
BROWSER_PRINT_FAILED = "browser_print"

#: A logo is stored shrunk to at most this many pixels each way (a badge shows it ~30 mm wide).
LOGO_MAX_PIXELS = (600, 300)
#: The largest logo file accepted before shrinking.
LOGO_MAX_BYTES = 2 * 1024 * 1024
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


@dataclass(frozen=True)
class PrintOutcome:
    """How printing a badge went, for the visitor's confirmation and the dashboard."""

    status: str
    job_id: int | None = None
    #: A key of kiosk.badges.printing.ERROR_CODES when the print failed.
    error: str | None = None

    @property
    def printing(self) -> bool:
        """The badge is on its way out of a printer (CUPS took it, or the kiosk prints it)."""
        return self.status in (STATUS_SENT, STATUS_BROWSER)

    @property
    def browser(self) -> bool:
        """The kiosk's browser is to print the PDF (``GET /badge.pdf``)."""
        return self.status == STATUS_BROWSER

    @property
    def failed(self) -> bool:
        return self.status == STATUS_FAILED


class BadgeSettingsError(ValueError):
    """A badge setting that cannot be used, with the reason."""


def app_fonts() -> FontSet:
    """The fonts the app's settings name (registered once per process)."""
    config = current_app.config
    fallbacks = config["BADGE_FALLBACK_FONTS"]
    if isinstance(fallbacks, str):
        fallbacks = [fallbacks]  # one file given as a plain string
    return load_fonts(
        config["BADGE_FONT"],
        config["BADGE_FONT_BOLD"],
        None if fallbacks is None else tuple(str(path) for path in fallbacks),
    )


def site_preset(site: Site) -> BadgePreset:
    """The site's badge format; an unknown name (a removed preset) falls back to the default."""
    return PRESETS.get(site.badge_preset) or get_preset("brother-62x100")


def format_when(moment: datetime, timezone: str, locale: str) -> str:
    """A date and time as people at the site read it, in ``locale``."""
    local = moment.astimezone(ZoneInfo(timezone))
    try:
        date, time = (
            format_date(local, "medium", locale=locale),
            format_time(local, "short", locale=locale),
        )
    except (ValueError, LookupError):
        date, time = (
            format_date(local, "medium", locale="en"),
            format_time(local, "short", locale="en"),
        )
    return f"{date} {time}"


def _content(
    site: Site,
    *,
    name: str,
    company: str | None,
    host: str | None,
    moment: datetime,
    locale: str,
    short_code: str,
    token: str,
) -> BadgeContent:
    with force_locale(locale):
        band_text = _("VISITOR")
        host_line = _("Visiting %(host)s", host=host) if host else _("Ask reception")
    return BadgeContent(
        visitor_name=name,
        company=company,
        host_line=host_line,
        when=format_when(moment, site.timezone, locale),
        site_name=site.name,
        short_code=short_code,
        token=token,
        band_text=band_text,
        band_colour=site.badge_band_colour,
        logo=site.badge_logo,
    )


def badge_content(visit: Visit) -> BadgeContent:
    """What the visit's badge shows, in the visitor's language and the site's time."""
    content = _content(
        visit.site,
        name=visit.visitor_name,
        company=visit.company,
        host=visit.host.name if visit.host else None,
        moment=visit.checked_in_at,
        locale=visit.locale,
        short_code=visit.short_code,
        token=visit.badge_token,
    )
    if visit.visitor_type is None:
        return content
    # The visitor type's band ("CONTRACTOR" in its colour); kiosk.services.visitor_types.
    with force_locale(visit.locale):
        label = band_label(visit.visitor_type, visit.locale)
    return replace(
        content, band_text=label, band_colour=band_colour(visit.visitor_type, visit.site)
    )


def visit_badge_pdf(visit: Visit) -> bytes:
    """The visit's badge as a PDF in its site's format."""
    return render_badge(badge_content(visit), site_preset(visit.site), app_fonts())


def sample_badge(
    site: Site | None, *, preset: BadgePreset, locale: str, now: datetime
) -> tuple[bytes, str]:
    """A badge with made-up visitor details, for setting up a printer; returns (PDF, token)."""
    token = new_badge_token()
    sample_site = site or Site(
        name="Sample Office",
        timezone="Europe/Stockholm",
        badge_band_colour="#0B5CAD",
        badge_logo=None,
    )
    content = _content(
        sample_site,
        name="Alexandra Ødegård-Lindqvist",
        company="Example Systems AB",
        host="Hanna Host",
        moment=now,
        locale=locale,
        short_code=new_short_code(),
        token=token,
    )
    return render_badge(content, preset, app_fonts()), token


def cups_printer() -> CupsPrinter:
    """The CUPS client the app's settings describe."""
    config = current_app.config
    return CupsPrinter(server=config["CUPS_SERVER"], timeout=float(config["PRINT_TIMEOUT_SECONDS"]))


@dataclass(frozen=True)
class PrintTarget:
    """Where a badge goes: a backend of PRINT_BACKENDS and, for ``cups``, the queue."""

    backend: str
    printer: str | None


def print_target(site: Site, device: KioskDevice | None = None) -> PrintTarget:
    """The kiosk's own print setting when it has one, else its site's."""
    if device is not None and device.print_backend is not None:
        return PrintTarget(device.print_backend, device.cups_printer)
    return PrintTarget(site.print_backend, site.cups_printer)


def visit_print_target(visit: Visit) -> PrintTarget:
    """Where the visit's badge prints: at the kiosk it registered at, if that kiosk has a
    setting of its own (a reprint comes out beside the same screen)."""
    return print_target(visit.site, visit.kiosk_device)


def send_to_cups(site: Site, pdf: bytes, *, title: str, printer: str | None = None) -> str | None:
    """Send a badge to a CUPS printer (default: the site's); return the CUPS request id.

    Raises :class:`PrintError` for every printer fault.
    """
    queue = printer or site.cups_printer
    if not queue:
        raise PrintError("no_printer")
    sent = cups_printer().send(pdf, printer=queue, media=site_preset(site).cups_media, title=title)
    return sent.request_id


def needs_printer(visit: Visit) -> bool:
    """Whether printing the visit's badge asks a printer (CUPS), rather than only recording
    that the kiosk's browser prints it or that nothing prints."""
    return visit_print_target(visit).backend == "cups"


def print_badge(
    session: Session,
    visit: Visit,
    *,
    now: datetime,
    requested_by: str | None = None,
    commit: bool = True,
) -> PrintOutcome:
    """Print the visit's badge with its kiosk's (or site's) backend, record the attempt, and
    commit it.

    It never raises for printer trouble (nor for a badge that cannot be drawn): the visit
    stays registered, the returned outcome says the print failed, and the dashboard lists it
    for a reprint. A printer is only asked after the visit is committed, and its job is
    committed here because the print has happened (or failed) outside the database whatever
    the caller does next. Only when :func:`needs_printer` is false, so that nothing happens
    outside the database, may ``commit=False`` leave the record to the caller's transaction.
    """
    site = visit.site
    target = visit_print_target(visit)
    if not commit and target.backend == "cups":
        raise ValueError("a CUPS print is committed as soon as it is sent")
    job = PrintJob(
        visit_id=visit.id,
        created_at=now,
        requested_by=requested_by or f"kiosk:{site.id}",
        backend=target.backend,
        status=STATUS_DOWNLOAD,
    )
    if target.backend == "browser":
        job.status = STATUS_BROWSER
    elif target.backend == "cups":
        job.printer = target.printer
        try:
            pdf = visit_badge_pdf(visit)
            job.cups_job = send_to_cups(
                site, pdf, title=f"kiosk badge {visit.id}", printer=target.printer
            )
            job.status = STATUS_SENT
        except PrintError as exc:
            job.status, job.error = STATUS_FAILED, exc.code
            # The detail is lp's own message: a queue name and a reason, no visitor data.
            log.warning("badge print for visit %s failed: %s", visit.id, exc)
        except Exception as exc:  # noqa: BLE001 - a drawing bug must not lose a check-in
            job.status, job.error = STATUS_FAILED, "render_failed"
            log.error("badge for visit %s could not be drawn: %s", visit.id, type(exc).__name__)
    session.add(job)
    if commit:
        session.commit()
    else:
        session.flush()
    return PrintOutcome(status=job.status, job_id=job.id, error=job.error)


def record_download(
    session: Session, visit: Visit, *, now: datetime, requested_by: str
) -> PrintJob:
    """Record that reception took the badge PDF to print it themselves (caller commits)."""
    job = PrintJob(
        visit_id=visit.id,
        created_at=now,
        requested_by=requested_by,
        backend=visit_print_target(visit).backend,
        status=STATUS_DOWNLOAD,
    )
    session.add(job)
    return job


def last_print_outcome(session: Session, visit: Visit) -> PrintOutcome | None:
    """How the visit's newest print attempt went, if there was one."""
    job = session.scalar(
        select(PrintJob).where(PrintJob.visit_id == visit.id).order_by(PrintJob.id.desc()).limit(1)
    )
    if job is None:
        return None
    return PrintOutcome(status=job.status, job_id=job.id, error=job.error)


def record_browser_print_failure(
    session: Session, visit: Visit, device: KioskDevice, *, now: datetime, window: timedelta
) -> PrintJob | None:
    """Mark the visit's badge as not printed, because the kiosk that printed it says its
    browser could not (``print()`` failed, or the PDF never loaded). Caller commits.

    Only the kiosk the visit was registered at may say so, only about a badge handed to its
    browser (the newest print job), and only while that badge could still be fetched
    (``window`` after check-in). Returns the job, or None when the report is not accepted.
    """
    if visit.kiosk_device_id != device.id or visit.checked_out_at is not None:
        return None
    if now - visit.checked_in_at > window:
        return None
    job = session.scalar(
        select(PrintJob).where(PrintJob.visit_id == visit.id).order_by(PrintJob.id.desc()).limit(1)
    )
    if job is None or job.backend != "browser":
        return None
    if job.status == STATUS_BROWSER:
        job.status, job.error = STATUS_FAILED, BROWSER_PRINT_FAILED
        log.warning("the kiosk's browser could not print the badge of visit %s", visit.id)
    elif job.error != BROWSER_PRINT_FAILED:
        return None
    return job


def print_summary(session: Session, site_ids: Iterable[int]) -> dict[str, int]:
    """How the newest print attempt of each visitor on site went, as counts per status."""
    ids = list(site_ids)
    if not ids:
        return {}
    newest = _newest_jobs_on_site(ids)
    rows = session.execute(
        select(PrintJob.status, func.count())
        .join(newest, newest.c.id == PrintJob.id)
        .group_by(PrintJob.status)
    )
    return {status: count for status, count in rows}


def _newest_jobs_on_site(site_ids: list[int]) -> Subquery:
    """The newest print job of each visitor on site at these sites.

    Only the visits on site are grouped (the on-site index, then the print jobs' visit
    index): print jobs pile up with the history until the purge, and grouping all of them
    would read every one."""
    return (
        select(func.max(PrintJob.id).label("id"))
        .join(Visit, Visit.id == PrintJob.visit_id)
        .where(Visit.site_id.in_(site_ids), Visit.checked_out_at.is_(None))
        .group_by(PrintJob.visit_id)
        .subquery("newest")
    )


def failed_prints(session: Session, site_ids: Iterable[int]) -> Sequence[PrintJob]:
    """Visitors on site whose newest print attempt failed, newest first, per the given sites."""
    ids = list(site_ids)
    if not ids:
        return []
    newest = _newest_jobs_on_site(ids)
    return session.scalars(
        select(PrintJob)
        .join(newest, newest.c.id == PrintJob.id)
        .options(
            joinedload(PrintJob.visit).joinedload(Visit.host),
            joinedload(PrintJob.visit).joinedload(Visit.site),
        )
        .where(PrintJob.status == STATUS_FAILED)
        .order_by(PrintJob.id.desc())
    ).all()


def failed_visit_ids(session: Session, site_ids: Iterable[int]) -> set[int]:
    """The visitors on site at these sites whose newest print attempt failed."""
    ids = list(site_ids)
    if not ids:
        return set()
    newest = _newest_jobs_on_site(ids)
    return set(
        session.scalars(
            select(PrintJob.visit_id)
            .join(newest, newest.c.id == PrintJob.id)
            .where(PrintJob.status == STATUS_FAILED)
        )
    )


def prepare_logo(data: bytes) -> bytes:
    """Check an uploaded logo and store it as a small PNG; raise BadgeSettingsError if unusable."""
    if len(data) > LOGO_MAX_BYTES:
        raise BadgeSettingsError(f"the logo is larger than {LOGO_MAX_BYTES // 1024} KB")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > 40_000_000:
                raise BadgeSettingsError("the logo has too many pixels")
            image.load()
            picture = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BadgeSettingsError("the logo is not a PNG or JPEG picture") from exc
    picture.thumbnail(LOGO_MAX_PIXELS)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


def configure_badges(
    site: Site,
    *,
    preset: str | None = None,
    band_colour: str | None = None,
    logo: bytes | None = None,
    remove_logo: bool = False,
    backend: str | None = None,
    printer: str | None = None,
) -> None:
    """Change a site's badge settings; only the given ones change. Caller commits."""
    if preset is not None:
        if preset not in PRESETS:
            raise BadgeSettingsError(
                f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}"
            )
        site.badge_preset = preset
    if band_colour is not None:
        if not _COLOUR.match(band_colour):
            raise BadgeSettingsError("the band colour must look like #0B5CAD")
        site.badge_band_colour = band_colour.upper()
    if remove_logo:
        site.badge_logo = None
    elif logo is not None:
        site.badge_logo = prepare_logo(logo)
    new_printer = site.cups_printer if printer is None else printer or None
    new_backend = site.print_backend if backend is None else backend
    _check_print_setting(new_backend, new_printer)
    site.cups_printer, site.print_backend = new_printer, new_backend


def _check_print_setting(backend: str | None, printer: str | None) -> None:
    """Refuse an unknown backend, a bad queue name, or the cups backend without a queue."""
    if backend is not None and backend not in PRINT_BACKENDS:
        raise BadgeSettingsError(
            f"unknown print backend {backend!r}; choose one of {', '.join(PRINT_BACKENDS)}"
        )
    if printer and not valid_queue_name(printer):
        raise BadgeSettingsError(f"{printer!r} is not a CUPS printer name")
    if backend == "cups" and not printer:
        raise BadgeSettingsError("the cups backend needs a printer name (--printer)")


def configure_kiosk_printing(device: KioskDevice, *, backend: str | None, printer: str) -> None:
    """Give a kiosk its own print backend (and CUPS queue), or ``backend=None`` to follow its
    site's setting again. Caller commits."""
    _check_print_setting(backend, printer)
    device.print_backend = backend
    device.cups_printer = (printer or None) if backend == "cups" else None
