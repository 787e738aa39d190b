"""Erasing visitor data: the one mechanism the retention purge and erasure requests share.

Erasing visits means: the invitations that led to them, then the visits themselves, after their
counts went into the daily statistics, in the same transaction, so a visit is counted exactly
once.

Signed documents are the one exception: kept for their document's own period, they outlive
(or go before) their visit, refer to it with ON DELETE SET NULL, and are erased by the purge
at their own time and by erasure requests explicitly (:func:`erase_signed_documents`).

Every other table that keeps a copy of visitor data (print jobs, the notification outbox)
refers to its visit or invitation with a foreign key that says ``ON DELETE CASCADE``, so the
copies go with the row, whoever deletes it. A schema test
(``tests/privacy/test_erasure_reaches_copies.py``) fails when a table refers to visits or
invitations without saying what happens to it when they go. The rows are deleted here by
``kiosk.db.delete_with_dependents``, which carries out those same declarations as statements of
its own (the purge runs with the database's own foreign-key actions off, which cost a trigger
or a query per deleted row). That is why there is no registry of per-module erasers here: a
registry is only as complete as the modules that remember to join it, and a foreign key cannot
be forgotten. The blind index's rows (``visit_name_tokens``) have no foreign key, and are deleted
by name (:func:`kiosk.services.name_index.delete_visit_tokens`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from kiosk.db import IdBatch, delete_with_dependents, id_in
from kiosk.models import Invitation, SignedDocument, Site, Visit
from kiosk.privacy.stats import VisitTimes, add_to_daily_stats
from kiosk.sealing import erase_days_of, store_for
from kiosk.services.name_index import delete_visit_tokens


@dataclass
class Erased:
    """How many rows were erased, per site."""

    visits: Counter[int] = field(default_factory=Counter)
    invitations: Counter[int] = field(default_factory=Counter)
    #: Signed documents (erasure requests only: the purge erases them by their own period).
    documents: Counter[int] = field(default_factory=Counter)

    def add(self, other: Erased) -> None:
        self.visits.update(other.visits)
        self.invitations.update(other.invitations)
        self.documents.update(other.documents)


def visit_times_query(*criteria: Any) -> Any:
    """SELECT of what the statistics need from visits, locked for the erasing transaction."""
    return (
        select(Visit.id, Visit.site_id, Visit.host_id, Visit.checked_in_at, Visit.checked_out_at)
        .where(*criteria)
        .order_by(Visit.id)
        .with_for_update()
    )


def erase_visit_rows(
    session: Session, rows: Sequence[VisitTimes], zones: Mapping[int, ZoneInfo]
) -> Erased:
    """Erase these (locked) visits: invitations, statistics, then the rows (and their copies).

    ``zones`` maps each site id to its time zone (statistics count days on the site's
    calendar). The caller commits.
    """
    erased = Erased()
    if not rows:
        return erased
    visit_ids = IdBatch(row.id for row in rows)  # written once for every statement
    invitations = (
        session.connection()
        .execute(
            select(Invitation.id, Invitation.site_id).where(
                id_in(session, Invitation.visit_id, visit_ids)
            )
        )
        .all()
    )
    erased.invitations.update(site_id for _id, site_id in invitations)
    delete_with_dependents(session, Invitation, [invitation_id for invitation_id, _ in invitations])
    add_to_daily_stats(session, rows, zones)
    delete_visit_tokens(session, visit_ids)
    delete_with_dependents(session, Visit, visit_ids)
    erased.visits.update(row.site_id for row in rows)
    return erased


def erase_invitation_rows(session: Session, rows: Sequence[tuple[int, int]]) -> Erased:
    """Erase these invitations, given as (id, site id), with their copies."""
    erased = Erased()
    delete_with_dependents(session, Invitation, [invitation_id for invitation_id, _ in rows])
    erased.invitations.update(site_id for _id, site_id in rows)
    return erased


def erase_visits(session: Session, visit_ids: Iterable[int]) -> Erased:
    """Erase these visits now (an erasure request): the same steps as the purge."""
    ids = sorted(set(visit_ids))
    zones = site_zones(session)
    erased = Erased()
    for start in range(0, len(ids), 500):
        query = visit_times_query(Visit.id.in_(ids[start : start + 500]))
        rows = [VisitTimes(*row) for row in session.connection().execute(query)]
        erased.add(erase_visit_rows(session, rows, zones))
    return erased


def erase_invitations(session: Session, invitation_ids: Iterable[int]) -> Erased:
    """Erase these invitations now (an erasure request)."""
    ids = sorted(set(invitation_ids))
    rows = (
        session.connection()
        .execute(
            select(Invitation.id, Invitation.site_id)
            .where(Invitation.id.in_(ids))
            .with_for_update()
        )
        .all()
    )
    return erase_invitation_rows(session, [(row[0], row[1]) for row in rows])


def erase_signed_documents(session: Session, document_ids: Sequence[int]) -> Erased:
    """Erase these signed documents now (an erasure request).

    Signed copies refer to their visit with ON DELETE SET NULL, not CASCADE: a copy is kept
    for its document's own period, longer or shorter than the visit, and the purge erases it
    then (kiosk.privacy.purge). An erasure request erases it here, explicitly.
    """
    erased = Erased()
    for start in range(0, len(document_ids), 500):
        chunk = list(document_ids[start : start + 500])
        rows = (
            session.connection()
            .execute(
                select(SignedDocument.id, SignedDocument.site_id)
                .where(SignedDocument.id.in_(chunk))
                .with_for_update()
            )
            .all()
        )
        session.connection().execute(
            delete(SignedDocument).where(SignedDocument.id.in_([row[0] for row in rows]))
        )
        erased.documents.update(row[1] for row in rows)
    return erased


def site_zones(session: Session) -> dict[int, ZoneInfo]:
    """Every site's time zone, by site id."""
    return {
        site_id: ZoneInfo(zone) for site_id, zone in session.execute(select(Site.id, Site.timezone))
    }


#: An UPDATE's values that erase a visit's email and phone (sealed, and any not sealed yet).
CLEARED_VISIT_CONTACTS = {
    "email_sealed": None,
    "phone_sealed": None,
    "legacy_email": None,
    "legacy_phone": None,
}
#: The same for an invitation's email.
CLEARED_INVITATION_EMAIL = {"email_sealed": None, "legacy_email": None}


def erase_contact_fields(session: Session, visit_ids: Sequence[int]) -> None:
    """Erase email and phone of these visits, and the email of the invitations behind them."""
    if not visit_ids:
        return
    session.connection().execute(
        update(Visit).where(id_in(session, Visit.id, visit_ids)).values(**CLEARED_VISIT_CONTACTS),
    )
    session.connection().execute(
        update(Invitation)
        .where(Invitation.visit_id.in_(visit_ids))
        .values(**CLEARED_INVITATION_EMAIL),
    )


# Erasures by request, remembered in the key store (docs/erasure.md, "One person's erasure").

#: Days an erasure is remembered past its rows' erase day: sealing may fall back to a key up to
#: seven days later (kiosk.sealing), and the purge destroys a day's key an hour after it ends.
ERASURE_MARGIN = timedelta(days=9)


def remember_erasure(session: Session, rows: Sequence[Any], *, now: datetime) -> None:
    """Before erasing these rows by request, put their row keys on the key store's erasure
    list: a database restored from an older copy brings them back, and the purge erases them
    again (:func:`erase_listed_rows`). Key store first, then the database."""
    entries = []
    for row in rows:
        if row.row_key is None:
            continue
        days = [day for _site, day in erase_days_of(session, row).values()]
        until = max(days, default=now.date()) + ERASURE_MARGIN
        entries.append((bytes(row.row_key), until))
    store_for(session).add_erasures(entries, now=now)


def erase_listed_rows(session: Session, *, now: datetime) -> int:
    """Erase again every row whose row key is on the erasure list (the caller commits), and
    forget the entries whose rows' keys are gone anyway; returns how many rows were found."""
    store = store_for(session)
    listed = sorted(store.erased_row_keys())
    found = 0
    for start in range(0, len(listed), 500):
        chunk = listed[start : start + 500]
        visit_ids = list(session.scalars(select(Visit.id).where(Visit.row_key.in_(chunk))))
        invitation_ids = list(
            session.scalars(select(Invitation.id).where(Invitation.row_key.in_(chunk)))
        )
        document_ids = list(
            session.scalars(select(SignedDocument.id).where(SignedDocument.row_key.in_(chunk)))
        )
        erase_signed_documents(session, document_ids)
        erase_visits(session, visit_ids)
        erase_invitations(session, invitation_ids)
        found += len(visit_ids) + len(invitation_ids) + len(document_ids)
    store.forget_erasures(before=now.date())
    return found
