"""The purge's first steps: keep what must be kept, then destroy the keys of days that have
passed (docs/erasure.md, "The purge").

A key of (site, day) seals values that must be gone by the end of that day on the site's
clock. Once the day has ended (and an hour's grace for a clock running ahead), the key is
destroyed: every copy of those values, in the live database, its backups, WAL archives and
replicas, becomes unreadable at once. Before that, any row still sealed under such a key whose
erase day, by today's rules, is later (retention lengthened, a visit whose check-out moved it)
is sealed again under a later key: no value is lost before its retention ends because of a key.

The order is always key store first, database second: a crash after the keys are destroyed
leaves rows nobody can read that are past their date anyway; the row deletion that follows
(and the next run, if this one died) deletes them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from kiosk.db import locked_batches
from kiosk.keystore import CACHE_SECONDS, KEY_ID_BYTES, Destroyed, KeyStore
from kiosk.models import Invitation, Notification, SignedDocument, Site, Visit
from kiosk.sealing import (
    NO_SITE,
    current_day,
    erase_days_of,
    field_groups,
    force_reseal,
    key_ids_of,
    sealed_fields,
    sealed_models,
    store_for,
)

log = logging.getLogger(__name__)

#: A key is destroyed only this long after its day ended on the site's clock.
GRACE = timedelta(hours=1)
#: Rows re-sealed per transaction.
RESEAL_BATCH = 500

#: Called between destroying a site's keys and anything after it (a test kills the process here).
after_keys_destroyed: Callable[[], None] = lambda: None  # noqa: E731


def last_day_to_destroy(zone: ZoneInfo, now: datetime) -> date:
    """The latest erase day whose key may be destroyed at ``now``: a day that has ended."""
    return (now - GRACE).astimezone(zone).date() - timedelta(days=1)


def _sites(session: Session, sites: Sequence[Site] | None) -> list[tuple[int, ZoneInfo]]:
    chosen = sites if sites is not None else session.scalars(select(Site)).all()
    # State that belongs to no site (what visitors typed before checking in) is keyed by UTC
    # day, and every purge deletes its expired rows whatever sites it covers: so every purge
    # destroys those keys too. Once only a purge of every site did, and `kiosk purge` (given
    # the sites, from cron) never did: old copies kept the typed details readable for good.
    return [(NO_SITE, ZoneInfo("UTC"))] + [(site.id, ZoneInfo(site.timezone)) for site in chosen]


def shred_passed_days(
    session: Session,
    *,
    now: datetime,
    sites: Sequence[Site] | None = None,
    erased_next: Mapping[type, Any] | None = None,
) -> list[Destroyed]:
    """Keep what must be kept, then destroy every key whose day has passed, per site.

    ``erased_next`` maps a model to the SQL condition of the rows the caller deletes right
    after (the purge's expired visits): their erase day has passed by today's rules, so none
    needs keeping, and they are not read one by one to find that out (at a million expired
    visits that reading was most of the purge)."""
    store = store_for(session)
    destroyed: list[Destroyed] = []
    for site_id, zone in _sites(session, sites):
        through = last_day_to_destroy(zone, now)
        doomed = store.key_ids_through(site_id, through)
        if not doomed:
            continue
        kept = keep_rows_sealed_under(
            session, store, doomed, not_before=through + timedelta(1), erased_next=erased_next
        )
        if kept:
            log.info("re-sealed %d rows kept past their key's day (site %d)", kept, site_id)
        destroyed.extend(store.destroy(site_id, through=through, now=now))
        after_keys_destroyed()
    return destroyed


# One person's erasure, or a correction, by request (docs/erasure.md, "One person's erasure"):
# the keys their values were sealed under are replaced at once, the day's other rows sealed
# again under the new keys, and the old keys destroyed. Copies of the database taken before
# the request then hold the person's values under keys that no longer exist.

#: How long after its replacement a key may be destroyed: by then no worker of any server
#: still hands it out for sealing (each keeps a key at most CACHE_SECONDS), and a transaction
#: that sealed under it just before the replacement has long committed.
REPLACED_KEY_SETTLE = timedelta(seconds=CACHE_SECONDS) + timedelta(minutes=5)


def replace_keys_of(session: Session, rows: Sequence[Any], *, now: datetime) -> list[bytes]:
    """Take the keys these rows are sealed under out of sealing (key store first: the caller
    erases or corrects the rows after). Returns the ids replaced."""
    key_ids: set[bytes] = set()
    for row in rows:
        key_ids |= key_ids_of(row)
    return store_for(session).replace(key_ids, now=now)


def shred_replaced_keys(session: Session, *, now: datetime) -> list[Destroyed]:
    """Seal the rows still under keys replaced at least REPLACED_KEY_SETTLE ago again under
    their days' new keys, then destroy the replaced keys. The caller holds the purge lock: a
    second run re-sealing the same rows as the keys go could write what it read as erased."""
    store = store_for(session)
    due = store.replaced_before(now - REPLACED_KEY_SETTLE)
    if not due:
        return []
    key_ids = [item.key_id for item in due]
    kept = keep_rows_sealed_under(session, store, key_ids, not_before=date.min)
    destroyed = store.destroy_replaced(key_ids, now=now)
    after_keys_destroyed()
    log.info("replaced keys destroyed: %d, after %d rows sealed again", len(destroyed), kept)
    return destroyed


def keep_rows_sealed_under(
    session: Session,
    store: KeyStore,
    key_ids: Sequence[bytes],
    *,
    not_before: date,
    erased_next: Mapping[type, Any] | None = None,
) -> int:
    """Seal again, under a key of ``not_before`` or later, every row sealed under one of
    ``key_ids`` whose erase day by today's rules is ``not_before`` or later, leaving out the
    rows ``erased_next`` names (:func:`shred_passed_days`). Returns how many."""
    kept = 0
    model: Any
    for model in sealed_models():
        columns = [getattr(model, field.sealed_attr) for field in sealed_fields(model).values()]
        under = or_(
            *(func.substr(column, 2, len(key_ids[0])).in_(list(key_ids)) for column in columns)
        )
        skipped = (erased_next or {}).get(model)
        if skipped is not None:
            # NULL (a site or visitor type the condition does not name) counts as not erased.
            under = and_(under, case((skipped, 1), else_=0) == 0)
        # Found without a lock, then each batch read again under it (kiosk.db.locked_batches).
        for rows in locked_batches(session, model, under, size=RESEAL_BATCH):
            for row in rows:
                days = [day for _site, day in erase_days_of(session, row).values()]
                if days and max(days) >= not_before:
                    force_reseal(row, not_before=not_before)
                    kept += 1
            session.commit()
    return kept


#: Days past the longest erase day a site's settings allow, before an unused key of that site
#: may be destroyed at a settings change: sealing falls back to a later day's key for up to
#: seven days (kiosk.sealing._key_for), and a check-in may be between making a key and using it.
UNUSED_KEY_MARGIN = timedelta(days=9)


def reseal_site_after_shortening(session: Session, site: Site, *, now: datetime) -> Resealed:
    """After a site's (or one of its visitor types') retention was shortened: seal again
    under the earlier day's key every row of the site whose key is later than its erase day by
    the new rules, then destroy the site's keys that no row uses any more and that lie beyond
    any erase day the settings now allow. Old copies of the database hold those rows under
    the destroyed keys: the shorter period reaches them at once (docs/erasure.md, "Retention
    shortened"). Key store first, then the database, as everywhere."""
    store = store_for(session)
    resealed = 0
    model: Any
    for model in (Visit, Invitation, Notification):
        where = model.site_id == site.id
        for rows in locked_batches(session, model, where, size=RESEAL_BATCH):
            for row in rows:
                if _sealed_later_than_its_day(session, store, row):
                    force_reseal(row, not_before=date.min)
                    resealed += 1
            session.commit()
    used = _key_ids_in_use(session, site.id)
    # Beyond any day a value of this site can now be sealed under (on the injectable clock,
    # like every erase day), with a margin: from today, or from the latest day an invitation
    # is expected (it is sealed under that day plus the period, and may be made again).
    today = now.astimezone(ZoneInfo(site.timezone)).date()
    latest_expected = session.scalar(
        select(func.max(Invitation.expected_on)).where(Invitation.site_id == site.id)
    )
    start = max(today, latest_expected) if latest_expected is not None else today
    horizon = start + _longest_days(session, site) + UNUSED_KEY_MARGIN
    doomed = []
    for key_id in store.live_key_ids(site.id):
        if key_id in used:
            continue
        key = store.key(key_id)
        if key is not None and key.erase_day > horizon:
            doomed.append(key_id)
    destroyed = store.destroy_ids(site.id, doomed, now=now) if doomed else []
    if resealed or destroyed:
        log.info(
            "retention shortened at site %d: %d rows sealed again, %d keys destroyed",
            site.id,
            resealed,
            len(destroyed),
        )
    return Resealed(resealed, destroyed)


@dataclass(frozen=True)
class Resealed:
    rows: int
    destroyed: list[Destroyed]


def _sealed_later_than_its_day(session: Session, store: KeyStore, row: Any) -> bool:
    days = erase_days_of(session, row)
    groups = field_groups(type(row))
    for group, (_site_id, day) in days.items():
        for name in groups[group]:
            current = current_day(row, name, store)
            if current is not None and current > day:
                return True
    return False


def _longest_days(session: Session, site: Site) -> timedelta:
    """The longest a value of this site may now be kept: the site's days, its types' and its
    documents' (a signed copy keeps its own period)."""
    from kiosk.models import Document, VisitorType

    longest = site.retention_days
    for days in session.scalars(
        select(VisitorType.retention_days).where(VisitorType.site_id == site.id)
    ):
        longest = max(longest, days or 0)
    for days in session.scalars(select(Document.retention_days).where(Document.site_id == site.id)):
        longest = max(longest, days or 0)
    return timedelta(days=longest)


def _key_ids_in_use(session: Session, site_id: int) -> set[bytes]:
    """Every key id any row of the site is sealed under (one scan per sealed column)."""

    used: set[bytes] = set()
    for model in (Visit, Invitation, Notification, SignedDocument):
        for field in sealed_fields(model).values():
            column = getattr(model, field.sealed_attr)
            used.update(
                bytes(value)
                for value in session.scalars(
                    select(func.substr(column, 2, KEY_ID_BYTES))
                    .where(model.site_id == site_id, column.is_not(None))
                    .distinct()
                )
            )
    return used
