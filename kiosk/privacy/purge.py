"""The purge: erases what the retention rules say has expired, and records each run.

The purge works in batches of ``PURGE_BATCH_SIZE`` rows, one transaction each, walking the
primary key so every batch is a short index range on SQLite and PostgreSQL alike; between
batches it pauses and lets SQLite checkpoint its write-ahead log, so kiosk check-ins wait for
one small batch at most. Erasing the same thing twice erases nothing more: the purge is
idempotent, and :func:`run_purge` takes a database-wide lock so that only one runs at a time.
Each run is recorded as a :class:`~kiosk.models.PurgeRun` with its counts per site: the
evidence that erasure happens.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Engine, and_, case, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from kiosk import write_gate
from kiosk.clock import Clock
from kiosk.db import begin_write, delete_with_dependents, foreign_keys_off, id_in
from kiosk.enums import PurgeRunStatus
from kiosk.keystore import Destroyed
from kiosk.models import (
    Invitation,
    PurgeRun,
    PurgeRunSite,
    SignedDocument,
    Site,
    UTCDateTime,
    Visit,
)
from kiosk.notifications.events import purge_event, queue_event_safely
from kiosk.privacy.erasure import (
    CLEARED_INVITATION_EMAIL,
    Erased,
    erase_contact_fields,
    erase_invitation_rows,
    erase_listed_rows,
    erase_visit_rows,
    visit_times_query,
)
from kiosk.privacy.lock import purge_lock
from kiosk.privacy.purge_types import count_erased_types, type_records
from kiosk.privacy.rules import SiteCutoffs, cutoffs_for
from kiosk.privacy.shredding import last_day_to_destroy, shred_passed_days, shred_replaced_keys
from kiosk.privacy.stats import VisitTimes
from kiosk.services.groups import erase_empty_groups
from kiosk.services.name_index import delete_passed_tokens
from kiosk.session_store import erase_expired

log = logging.getLogger(__name__)

#: Waits between batches (a test replaces it to let a check-in through at every pause).
pause = time.sleep


@contextmanager
def _no_collection() -> Iterator[None]:
    """Python's cycle collector held off for one batch's transaction, and let run after it.

    On SQLite a batch holds the database's one write lock, and kiosk check-ins wait for it. The
    collector's full passes over a process that has loaded the app took 110-130 ms (290 ms once)
    every few seconds of a purge, and whenever one fell inside a batch a check-in waited that
    much longer: every check-in of 180 ms and more during a million-visit purge was one of these
    (bench/README.md, "The purge's batches and the cycle collector"). Held off here, the
    collection the batch's allocations call for runs as soon as it ends, with the lock free."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


T = TypeVar("T", bound=tuple[Any, ...])


@dataclass(frozen=True)
class PurgeSettings:
    """How the purge paces itself (``PURGE_BATCH_SIZE``, ``PURGE_PAUSE_MS``)."""

    batch_size: int = 2500
    pause_seconds: float = 0.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PurgeSettings:
        return cls(
            batch_size=max(1, int(config["PURGE_BATCH_SIZE"])),
            pause_seconds=max(0, int(config["PURGE_PAUSE_MS"])) / 1000,
        )


@dataclass
class SiteCounts:
    """What a purge erased (or would erase) at one site."""

    visits: int = 0
    invitations: int = 0
    #: Visits and unused invitations whose email and phone were erased ahead of them.
    contacts: int = 0
    #: Signed documents erased at the end of their own period (kiosk.services.documents).
    documents: int = 0


@dataclass
class PurgeCounts:
    """Counts per site id."""

    sites: dict[int, SiteCounts] = field(default_factory=dict)

    def site(self, site_id: int) -> SiteCounts:
        return self.sites.setdefault(site_id, SiteCounts())


def _ended() -> Any:
    return func.coalesce(Visit.checked_out_at, Visit.checked_in_at)


def _per_site(column: Any, values: Mapping[int, Any], type_: Any) -> Any:
    """A CASE giving each site's own cutoff (NULL, so nothing matches, for other sites).

    One statement for all sites, without a ``site_id`` condition: that keeps the query a walk
    along the primary key instead of tempting the planner into the site index plus a sort.
    """
    return case({site_id: literal(value, type_) for site_id, value in values.items()}, value=column)


class _Criteria:
    """The purge's conditions for a set of sites."""

    def __init__(self, cutoffs: Sequence[SiteCutoffs]) -> None:
        self.cutoffs = cutoffs
        self.visits = _ended() <= _per_site(
            Visit.site_id, {c.site_id: c.visit for c in cutoffs}, UTCDateTime()
        )
        # Visitor types kept for less time than their site: the same walk, one more CASE.
        sooner_types = {type_id: cut for c in cutoffs for type_id, cut in c.types.items()}
        if sooner_types:
            self.visits = or_(
                self.visits,
                _ended() <= _per_site(Visit.visitor_type_id, sooner_types, UTCDateTime()),
            )
        expected_before: Any = Invitation.expected_on < _per_site(
            Invitation.site_id, {c.site_id: c.invitation for c in cutoffs}, Date()
        )
        # An invitation of such a type (reception said the kind of visit) goes as its visit
        # would have.
        sooner_invitations = {
            type_id: day for c in cutoffs for type_id, day in c.invitation_types.items()
        }
        if sooner_invitations:
            expected_before = or_(
                expected_before,
                Invitation.expected_on
                < _per_site(Invitation.visitor_type_id, sooner_invitations, Date()),
            )
        self.invitations = (Invitation.visit_id.is_(None), expected_before)
        sooner = [c for c in cutoffs if c.contacts_sooner]
        self.any_contacts = bool(sooner)
        self.contacts = (
            or_(
                Visit.email_sealed.is_not(None),
                Visit.phone_sealed.is_not(None),
                Visit.legacy_email.is_not(None),
                Visit.legacy_phone.is_not(None),
            ),
            _ended()
            <= _per_site(Visit.site_id, {c.site_id: c.contact for c in sooner}, UTCDateTime()),
        )
        # Signed documents: each carries its own erase time, whatever became of its visit.
        documents = {c.site_id: c.documents for c in cutoffs if c.documents is not None}
        self.documents = SignedDocument.erase_after <= _per_site(
            SignedDocument.site_id, documents, UTCDateTime()
        )
        self.invitation_contacts = (
            Invitation.visit_id.is_(None),
            or_(Invitation.email_sealed.is_not(None), Invitation.legacy_email.is_not(None)),
            Invitation.expected_on
            < _per_site(
                Invitation.site_id, {c.site_id: c.contact_invitation for c in sooner}, Date()
            ),
        )


def count_expired(session: Session, cutoffs: Sequence[SiteCutoffs]) -> PurgeCounts:
    """What a purge with these cutoffs would erase now, per site (a dry run: no change)."""
    counts = PurgeCounts({c.site_id: SiteCounts() for c in cutoffs})
    if not cutoffs:
        return counts
    criteria = _Criteria(cutoffs)

    def per_site(column: Any, *where: Any) -> dict[int, int]:
        rows = session.execute(select(column, func.count()).where(*where).group_by(column))
        return {site_id: number for site_id, number in rows}

    for site_id, number in per_site(Visit.site_id, criteria.visits).items():
        counts.site(site_id).visits = number
    for site_id, number in per_site(Invitation.site_id, *criteria.invitations).items():
        counts.site(site_id).invitations = number
    # Invitations of the visits erased go with them.
    used = per_site(
        Invitation.site_id, Invitation.visit_id.in_(select(Visit.id).where(criteria.visits))
    )
    for site_id, number in used.items():
        counts.site(site_id).invitations += number
    if criteria.any_contacts:
        contacts = per_site(Visit.site_id, *criteria.contacts, ~criteria.visits)
        for site_id, number in contacts.items():
            counts.site(site_id).contacts = number
        invitations = per_site(
            Invitation.site_id, *criteria.invitation_contacts, ~criteria.invitations[1]
        )
        for site_id, number in invitations.items():
            counts.site(site_id).contacts += number
    for site_id, number in per_site(SignedDocument.site_id, criteria.documents).items():
        counts.site(site_id).documents = number
    return counts


def purge_expired(
    session: Session,
    cutoffs: Sequence[SiteCutoffs],
    settings: PurgeSettings,
    *,
    run_id: int | None = None,
) -> PurgeCounts:
    """Erase what these cutoffs say has expired, in batches with a commit each.

    With ``run_id``, each batch adds its counts to that run's per-site rows in the same
    transaction, so the record stays true even if the purge is interrupted. The batches run
    on one connection held for the whole purge (a pool hands out its connections in turn),
    which on SQLite gets a larger page cache: deleting rows touches index pages all over.
    """
    with _own_session(session) as own:
        return _purge(own, cutoffs, settings, run_id)


#: The purge connection's SQLite page cache, in KiB (the default is 2,000).
SQLITE_PURGE_CACHE_KIB = 64 * 1024


@contextmanager
def _own_session(session: Session) -> Iterator[Session]:
    engine = session.get_bind()
    if not isinstance(engine, Engine):
        raise TypeError("the purge needs the session's engine")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_PURGE_CACHE_KIB}")
            connection.commit()
        own = Session(bind=connection, expire_on_commit=False)
        try:
            # Every deletion below goes through kiosk.db.delete_with_dependents, which then
            # does what the foreign keys' ON DELETE says as statements of its own: both
            # databases run each of those actions for each deleted row, even when no row
            # refers to it (two thirds of the time SQLite's purge spent deleting visits, four
            # fifths of PostgreSQL's).
            with foreign_keys_off(own):
                yield own
        finally:
            own.close()
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA cache_size={int(cache or -2000)}")
                connection.commit()


def _purge(
    session: Session, cutoffs: Sequence[SiteCutoffs], settings: PurgeSettings, run_id: int | None
) -> PurgeCounts:
    counts = PurgeCounts({c.site_id: SiteCounts() for c in cutoffs})
    if not cutoffs:
        return counts
    criteria = _Criteria(cutoffs)
    zones = {c.site_id: c.zone for c in cutoffs}

    def record(erased: Erased, contacts: Counter[int] | None = None) -> None:
        for site_id, number in erased.visits.items():
            counts.site(site_id).visits += number
        for site_id, number in erased.invitations.items():
            counts.site(site_id).invitations += number
        for site_id, number in (contacts or Counter()).items():
            counts.site(site_id).contacts += number
        if run_id is not None:
            _add_to_run(session, run_id, erased, contacts or Counter())

    last_due = _last_visit_due(
        session, {c.site_id: max([c.visit, *c.types.values()]) for c in cutoffs}
    )

    def fetch_visits(last: int, limit: int) -> list[VisitTimes]:
        query = visit_times_query(Visit.id > last, Visit.id <= last_due, criteria.visits)
        return [VisitTimes(*row) for row in session.connection().execute(query.limit(limit))]

    def erase_visits(rows: list[VisitTimes]) -> None:
        if run_id is not None:  # the evidence per visitor type (purge_types.py)
            count_erased_types(session, run_id, [row.id for row in rows])
        record(erase_visit_rows(session, rows, zones))

    _in_batches(session, settings, fetch_visits, erase_visits)

    _in_batches(
        session,
        settings,
        _ids_and_sites(session, Invitation, *criteria.invitations),
        lambda rows: record(erase_invitation_rows(session, rows)),
    )
    if criteria.any_contacts:
        _purge_contacts(session, settings, criteria, record)
    _purge_documents(session, settings, criteria, counts, run_id)
    return counts


def _purge_documents(
    session: Session,
    settings: PurgeSettings,
    criteria: _Criteria,
    counts: PurgeCounts,
    run_id: int | None,
) -> None:
    """Erase the signed documents whose own period has ended, in batches, counting them in
    the run's per-site rows (``documents_erased``) in each batch's transaction."""

    def erase(rows: list[tuple[int, int]]) -> None:
        delete_with_dependents(session, SignedDocument, [row[0] for row in rows])
        per_site = Counter(site_id for _id, site_id in rows)
        for site_id, number in per_site.items():
            counts.site(site_id).documents += number
            if run_id is not None:
                session.connection().execute(
                    update(PurgeRunSite)
                    .where(PurgeRunSite.run_id == run_id, PurgeRunSite.site_id == site_id)
                    .values(documents_erased=PurgeRunSite.documents_erased + number)
                )

    _in_batches(
        session, settings, _ids_and_sites(session, SignedDocument, criteria.documents), erase
    )


def _purge_contacts(
    session: Session,
    settings: PurgeSettings,
    criteria: _Criteria,
    record: Callable[[Erased, Counter[int]], None],
) -> None:
    def erase_visits(rows: list[tuple[int, int]]) -> None:
        erase_contact_fields(session, [visit_id for visit_id, _site in rows])
        record(Erased(), Counter(site_id for _id, site_id in rows))

    last_due = _last_visit_due(
        session, {c.site_id: c.contact for c in criteria.cutoffs if c.contacts_sooner}
    )
    _in_batches(
        session,
        settings,
        _ids_and_sites(session, Visit, Visit.id <= last_due, *criteria.contacts),
        erase_visits,
    )

    def erase_invitations(rows: list[tuple[int, int]]) -> None:
        session.connection().execute(
            update(Invitation)
            .where(id_in(session, Invitation.id, [invitation_id for invitation_id, _site in rows]))
            .values(**CLEARED_INVITATION_EMAIL),
        )
        record(Erased(), Counter(site_id for _id, site_id in rows))

    _in_batches(
        session,
        settings,
        _ids_and_sites(session, Invitation, *criteria.invitation_contacts),
        erase_invitations,
    )


def _last_visit_due(session: Session, latest: Mapping[int, datetime]) -> int:
    """The largest id of the visits that checked in at or before their site's ``latest``
    cutoff (0 if none): no visit after it can be due, since a visit ends after it checks in.

    It ends the purge's walk along the primary key. Without it the last batch read every visit
    still kept, to find none, while it held SQLite's write lock: a site that keeps a year of
    visits had its whole year read by each night's purge, its check-ins waiting meanwhile. Read
    once, before the batches: a visit added since checks in after every cutoff."""
    last = 0
    for site_id, cutoff in latest.items():
        found = session.connection().scalar(
            select(func.max(Visit.id)).where(
                Visit.site_id == site_id, Visit.checked_in_at <= cutoff
            )
        )
        last = max(last, found or 0)
    session.commit()
    return last


def _ids_and_sites(
    session: Session,
    model: type[Visit] | type[Invitation] | type[SignedDocument],
    *criteria: Any,
) -> Callable[[int, int], list[tuple[int, int]]]:
    """A batch fetcher: (id, site id) of the next rows after ``last`` that match, locked."""

    def fetch(last: int, limit: int) -> list[tuple[int, int]]:
        query = (
            select(model.id, model.site_id)
            .where(model.id > last, *criteria)
            .order_by(model.id)
            .limit(limit)
            .with_for_update()
        )
        return [(row[0], row[1]) for row in session.connection().execute(query)]

    return fetch


def _in_batches(
    session: Session,
    settings: PurgeSettings,
    fetch: Callable[[int, int], list[T]],
    erase: Callable[[list[T]], None],
) -> None:
    """Fetch and erase batches along the primary key (row[0]) until none is left."""
    last_id = 0
    while True:
        started = time.monotonic()
        with _no_collection():
            _begin_batch(session)
            rows = fetch(last_id, settings.batch_size)
            if not rows:
                session.rollback()
                break
            erase(rows)
            session.commit()
        last_id = rows[-1][0]
        _between_batches(session, settings, "PASSIVE", time.monotonic() - started)
    _between_batches(session, PurgeSettings(pause_seconds=0), "TRUNCATE", 0.0)


def _begin_batch(session: Session) -> None:
    """Begin a batch's transaction as a writer; on SQLite holding the writers' gate alone
    (kiosk.write_gate), so that the writers waiting for it go first once the batch ends."""
    write_gate.hold_exclusively(session.connection())
    begin_write(session)


def _between_batches(
    session: Session, settings: PurgeSettings, checkpoint: str, batch_seconds: float
) -> None:
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    gated = sqlite and write_gate.in_use(connection)
    if sqlite:
        # Copy the committed batch from the write-ahead log into the database so the log
        # stays small; TRUNCATE (at the end) also empties it, erased pages included.
        connection.exec_driver_sql(f"PRAGMA wal_checkpoint({checkpoint})")
    session.commit()
    if settings.pause_seconds and sqlite:
        # Leaves SQLite's one write lock free for kiosk check-ins between batches.
        # PostgreSQL locks rows, none of them a check-in's, so its check-ins go on during a
        # batch and a pause would only lengthen the purge (1,400 of them at 1,000,000 visits).
        if gated:
            # A check-in waiting at the writers' gate asks again every millisecond: the
            # pause need only be longer than that; the next batch then waits for it.
            pause(max(settings.pause_seconds, write_gate.HANDOVER_SECONDS))
        else:
            # Without the gate (a database named by a URI) a waiting check-in looks again
            # after SQLite's growing sleeps (1, 2, 5, 10, 15, 20, 25, 25, 50 ... ms), about
            # half as long as it has waited: after a 50 ms batch it sleeps 20-25 ms, and a
            # 10 ms pause ended before it looked (waits of 107-332 ms at 1,000,000 visits).
            # So the pause lasts at least half the batch it follows.
            pause(max(settings.pause_seconds, batch_seconds / 2))


def _add_to_run(session: Session, run_id: int, erased: Erased, contacts: Counter[int]) -> None:
    for site_id in set(erased.visits) | set(erased.invitations) | set(contacts):
        session.connection().execute(
            update(PurgeRunSite)
            .where(PurgeRunSite.run_id == run_id, PurgeRunSite.site_id == site_id)
            .values(
                visits_erased=PurgeRunSite.visits_erased + erased.visits[site_id],
                invitations_erased=PurgeRunSite.invitations_erased + erased.invitations[site_id],
                contacts_erased=PurgeRunSite.contacts_erased + contacts[site_id],
            ),
        )


def _record_destroyed(session: Session, run_id: int, destroyed: Sequence[Destroyed]) -> None:
    """Record the ids of the keys the run destroyed so far (the evidence) and commit."""
    if destroyed:
        session.connection().execute(
            update(PurgeRun)
            .where(PurgeRun.id == run_id)
            .values(destroyed_keys=[item.key_id.hex() for item in destroyed])
        )
    session.commit()


def run_purge(
    session: Session,
    *,
    clock: Clock,
    trigger: str,
    settings: PurgeSettings,
    sites: Sequence[Site] | None = None,
    slot: str | None = None,
) -> PurgeRun | None:
    """Run the purge under the purge lock and record it as a :class:`PurgeRun`.

    Returns None, doing nothing, when another purge holds the lock or when the scheduled
    ``slot`` has already run. ``clock`` gives the cutoff time and the finishing time. A failed
    run is recorded as failed (with the exception's class name only) and the error re-raised.
    """
    with purge_lock(session.get_bind()) as acquired:
        if not acquired:
            log.info("purge %s skipped: another purge is running", slot or trigger)
            return None
        if slot is not None and session.scalar(select(PurgeRun.id).where(PurgeRun.slot == slot)):
            session.rollback()
            # Another worker or server ran this occurrence: say so, for whoever checks that
            # each one ran once.
            log.info("purge %s skipped: it already ran", slot)
            return None
        now = clock.now()
        chosen = sites if sites is not None else session.scalars(select(Site)).all()
        cutoffs = [cutoffs_for(site, now) for site in chosen]
        run = PurgeRun(started_at=now, status=PurgeRunStatus.RUNNING, trigger=trigger, slot=slot)
        run.sites = [
            PurgeRunSite(
                site_id=c.site_id,
                visit_cutoff=c.visit,
                contact_cutoff=c.contact,
                invitation_cutoff=c.invitation,
                visits_erased=0,
                invitations_erased=0,
                contacts_erased=0,
                documents_erased=0,
            )
            for c in cutoffs
        ]
        run.types = type_records(chosen, cutoffs)  # each visitor type's cutoff (issue 15)
        session.add(run)
        try:
            session.commit()
        except IntegrityError:  # the slot was taken after all
            session.rollback()
            log.info("purge %s skipped: it already ran", slot)
            return None
        run_id = run.id
        try:
            # Keys first (kiosk.privacy.shredding): every copy of the passed days' values
            # becomes unreadable, then the rows are deleted as before.
            # The rows this run deletes next need no keeping: not read one by one.
            erased_next: dict[type, Any] = {}
            if cutoffs:
                criteria = _Criteria(cutoffs)
                erased_next = {Visit: criteria.visits, Invitation: and_(*criteria.invitations)}
            destroyed = shred_passed_days(session, now=now, sites=sites, erased_next=erased_next)
            _record_destroyed(session, run_id, destroyed)
            _purge_passed_tokens(session, chosen, now, settings, every_site=sites is None)
            counts = purge_expired(session, cutoffs, settings, run_id=run_id)
            # Rows erased by request that a restored older copy brought back (the key
            # store's erasure list, kiosk.privacy.erasure): erased again.
            again = erase_listed_rows(session, now=now)
            session.commit()
            if again:
                log.warning("purge run %d erased again %d rows erased by request", run_id, again)
            # Keys replaced by erasures and corrections by request, if the scheduler's job has
            # not destroyed them (kiosk.privacy.schedule): after the deletions, so that rows
            # expiring today are deleted with their index rows, not sealed again first.
            destroyed += shred_replaced_keys(session, now=now)
            _record_destroyed(session, run_id, destroyed)
        except Exception as exc:
            session.rollback()
            _finish(session, run_id, PurgeRunStatus.FAILED, clock.now(), error=type(exc).__name__)
            log.error("purge run %d failed: %s", run_id, type(exc).__name__)
            raise
        # Details of check-ins never finished and old search terms (kiosk.session_store).
        erase_expired(session, now=now)
        # Groups whose visits are all erased (kiosk.services.groups; no personal data).
        erase_empty_groups(session)
        session.commit()
        _finish(session, run_id, PurgeRunStatus.SUCCEEDED, clock.now())
        totals = SiteCounts()
        for item in counts.sites.values():
            totals.visits += item.visits
            totals.invitations += item.invitations
            totals.contacts += item.contacts
            totals.documents += item.documents
        log.info(
            "purge run %d (%s) erased %d visits, %d invitations, contact details of %d, "
            "%d signed documents",
            run_id,
            trigger,
            totals.visits,
            totals.invitations,
            totals.contacts,
            totals.documents,
        )
        run = session.scalars(
            select(PurgeRun)
            .where(PurgeRun.id == run_id)
            .options(selectinload(PurgeRun.sites).selectinload(PurgeRunSite.site))
            .execution_options(populate_existing=True)
        ).one()
        # The sites' webhook subscriptions hear of it (counts only); the sender delivers.
        finished = clock.now()
        for site_record in run.sites:
            event = purge_event(run, site_record.site, now=finished)
            queue_event_safely(session, event, now=finished)
        session.commit()
        return run


#: Index rows deleted per transaction on SQLite, per visit of ``PurgeSettings.batch_size``: a
#: visit has about twenty, and they lie one after another
#: (kiosk.services.name_index.delete_passed_tokens; PostgreSQL deletes them all at once).
#: 80,000 rows by default, ~30 ms on SQLite: at 8 a batch took ~8 ms and the pause after it
#: 10, more than half of the phase (bench/README.md, "Larger batches of index rows").
TOKENS_PER_VISIT_BATCH = 32


def _purge_passed_tokens(
    session: Session,
    sites: Sequence[Site],
    now: datetime,
    settings: PurgeSettings,
    *,
    every_site: bool,
) -> None:
    """Delete the blind-index rows made under the keys the shredding destroyed: those of each
    site's days through :func:`last_day_to_destroy`. Every site's days through the earliest of
    those in one pass when the purge covers every site (their rows lie together), then each
    site's later days; one stretch of the index per transaction."""
    throughs: dict[date, list[int]] = {}
    for site in sites:
        through = last_day_to_destroy(ZoneInfo(site.timezone), now)
        throughs.setdefault(through, []).append(site.id)
    if not throughs:
        return
    passes: list[tuple[date, list[int] | None]] = []
    if every_site:
        # Covers the sites whose last day is that one: no second pass of their own, which
        # on PostgreSQL would read the index entries of every row the first one deleted.
        earliest = min(throughs)
        passes.append((earliest, None))
        del throughs[earliest]
    passes.extend((through, site_ids) for through, site_ids in sorted(throughs.items()))
    limit = settings.batch_size * TOKENS_PER_VISIT_BATCH
    for through, site_ids in passes:
        after: bytes | None = None
        while True:
            started = time.monotonic()
            with _no_collection():
                _begin_batch(session)
                after = delete_passed_tokens(session, through, site_ids, after=after, limit=limit)
                session.commit()
            if after is None:
                break
            _between_batches(session, settings, "PASSIVE", time.monotonic() - started)


def _finish(
    session: Session, run_id: int, status: str, at: datetime, error: str | None = None
) -> None:
    session.connection().execute(
        update(PurgeRun)
        .where(PurgeRun.id == run_id)
        .values(status=status, finished_at=at, error=error[:100] if error else None),
    )
    session.commit()
    # The batches updated the run's rows on their own connection: reload what is loaded.
    session.expire_all()
