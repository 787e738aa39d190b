"""Printing a visit's badge and keeping a record of every attempt: where a badge prints (the
kiosk's or the site's backend), sending it, reprints, downloads, the kiosk browser's own
failure reports, and what the dashboard lists of them.

Functions take a session and ``now`` like every domain function, and run inside an app
context (the badge's fonts and translations, the printers' settings).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Subquery, func, select
from sqlalchemy.orm import Session, joinedload

from kiosk.badges.content import site_preset, visit_badge_pdf
from kiosk.badges.cups import CupsPrinter
from kiosk.badges.print_errors import PrintError
from kiosk.badges.ql import MODELS, QlPrinter, parse_address, ql_raster
from kiosk.enums import PrintBackend, PrintStatus
from kiosk.models import KioskDevice, PrintJob, Site, Visit

log = logging.getLogger(__name__)

#: The error of a badge the kiosk's browser reported it could not print.
BROWSER_PRINT_FAILED = "browser_print"
#: The backends that print on the server: printing asks a printer, after the commit.
SERVER_BACKENDS = frozenset({PrintBackend.CUPS, PrintBackend.BROTHER_QL})


@dataclass(frozen=True)
class PrintOutcome:
    """How printing a badge went, for the visitor's confirmation and the dashboard."""

    status: str
    job_id: int | None = None
    #: A key of kiosk.badges.print_errors.ERROR_CODES when the print failed.
    error: str | None = None

    @property
    def printing(self) -> bool:
        """The badge is on its way out of a printer (CUPS or the label printer took it, or
        the kiosk prints it)."""
        return self.status in (PrintStatus.SENT, PrintStatus.BROWSER)

    @property
    def browser(self) -> bool:
        """The kiosk's browser is to print the PDF (``GET /badge.pdf``)."""
        return self.status == PrintStatus.BROWSER

    @property
    def failed(self) -> bool:
        return self.status == PrintStatus.FAILED


def cups_printer() -> CupsPrinter:
    """The CUPS client the app's settings describe."""
    config = current_app.config
    return CupsPrinter(server=config["CUPS_SERVER"], timeout=float(config["PRINT_TIMEOUT_SECONDS"]))


def ql_printer(address: str) -> QlPrinter:
    """The Brother QL printer at ``address``, with the app's timeouts."""
    parsed = parse_address(address)
    if parsed is None:
        raise PrintError("no_printer", "not a printer address")
    config = current_app.config
    return QlPrinter(
        parsed,
        timeout=float(config["PRINT_TIMEOUT_SECONDS"]),
        status_seconds=float(config["BROTHER_QL_STATUS_SECONDS"]),
    )


@dataclass(frozen=True)
class PrintTarget:
    """Where a badge goes: a PrintBackend and, for ``cups`` the queue, for ``brother_ql`` the
    label printer's ``host[:port]``."""

    backend: str
    printer: str | None


def _target(backend: str, cups_queue: str | None, ql_address: str | None) -> PrintTarget:
    if backend == PrintBackend.BROTHER_QL:
        return PrintTarget(backend, ql_address)
    return PrintTarget(backend, cups_queue if backend == PrintBackend.CUPS else None)


def print_target(site: Site, device: KioskDevice | None = None) -> PrintTarget:
    """The kiosk's own print setting when it has one, else its site's."""
    if device is not None and device.print_backend is not None:
        return _target(device.print_backend, device.cups_printer, device.ql_printer)
    return _target(site.print_backend, site.cups_printer, site.ql_printer)


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


def send_to_ql(site: Site, pdf: bytes, *, address: str | None) -> None:
    """Print a badge on the Brother QL label printer at ``address``, on the label of the
    site's badge format. Raises :class:`PrintError` for every printer fault."""
    if not address:
        raise PrintError("no_printer")
    label = site_preset(site).ql_label
    if label is None:
        raise PrintError("label_unsupported", site_preset(site).name)
    model = str(current_app.config["BROTHER_QL_MODEL"])
    if model not in MODELS:
        raise PrintError("no_printer", "BROTHER_QL_MODEL names no Brother QL model")
    job = ql_raster(pdf, label=label, model=model)
    ql_printer(address).send(job, label=label)


def send_badge(site: Site, target: PrintTarget, pdf: bytes, *, title: str) -> str | None:
    """Send a badge to the target's printer; return the CUPS request id (None for a label
    printer). Raises :class:`PrintError` for every printer fault."""
    if target.backend == PrintBackend.BROTHER_QL:
        send_to_ql(site, pdf, address=target.printer)
        return None
    return send_to_cups(site, pdf, title=title, printer=target.printer)


def needs_printer(visit: Visit) -> bool:
    """Whether printing the visit's badge asks a printer (CUPS, a label printer), rather than
    only recording that the kiosk's browser prints it or that nothing prints."""
    return visit_print_target(visit).backend in SERVER_BACKENDS


def local_print_record(visit: Visit, *, now: datetime) -> PrintJob:
    """The print record of a new visit whose badge asks no printer (:func:`needs_printer` is
    false): the kiosk's browser prints it, or nobody does. It names the visit by relationship,
    so it can go into the database in the visit's own flush (kiosk.checkin)."""
    backend = visit_print_target(visit).backend
    if backend in SERVER_BACKENDS:
        raise ValueError("a print on a printer is recorded when it is sent (print_badge)")
    return PrintJob(
        visit=visit,
        created_at=now,
        requested_by=f"kiosk:{visit.site.id}",
        backend=backend,
        status=PrintStatus.BROWSER if backend == PrintBackend.BROWSER else PrintStatus.DOWNLOAD,
    )


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
    if not commit and target.backend in SERVER_BACKENDS:
        raise ValueError("a print on a printer is committed as soon as it is sent")
    job = PrintJob(
        visit_id=visit.id,
        created_at=now,
        requested_by=requested_by or f"kiosk:{site.id}",
        backend=target.backend,
        status=PrintStatus.DOWNLOAD,
    )
    if target.backend == PrintBackend.BROWSER:
        job.status = PrintStatus.BROWSER
    elif target.backend in SERVER_BACKENDS:
        job.printer = target.printer
        try:
            pdf = visit_badge_pdf(visit)
            job.cups_job = send_badge(site, target, pdf, title=f"kiosk badge {visit.id}")
            job.status = PrintStatus.SENT
        except PrintError as exc:
            job.status, job.error = PrintStatus.FAILED, exc.code
            # The detail is lp's or the printer's own message: a queue name or an address
            # and a reason, no visitor data.
            log.warning("badge print for visit %s failed: %s", visit.id, exc)
        except Exception as exc:  # noqa: BLE001 - a drawing bug must not lose a check-in
            job.status, job.error = PrintStatus.FAILED, "render_failed"
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
        status=PrintStatus.DOWNLOAD,
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
    if job is None or job.backend != PrintBackend.BROWSER:
        return None
    if job.status == PrintStatus.BROWSER:
        job.status, job.error = PrintStatus.FAILED, BROWSER_PRINT_FAILED
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
        .where(PrintJob.status == PrintStatus.FAILED)
        .order_by(PrintJob.id.desc())
    ).all()
