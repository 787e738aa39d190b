"""Every copy of visitor data goes with its visit: the database's foreign keys, not a registry.

The purge and erasure requests delete visits and invitations; any other table that keeps
something about them must refer to them with a foreign key saying what happens then. A new table
that refers to visits or invitations without ``ondelete`` fails here before it can outlive the
erasure. (``kiosk.privacy.erasure`` explains why there is no eraser registry.)
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from kiosk.enums import NotificationKind, PrintBackend, PrintStatus
from kiosk.models import Base, Invitation, Notification, PrintJob, Visit

ERASED_TABLES = {"visits", "invitations"}

#: The foreign keys that do not cascade, and why that is safe:
#: - the purge and erasure requests erase a visit's invitation explicitly, before the visit
#:   (erasure.erase_visit_rows);
#: - a signed document is kept for its document's own period, longer or shorter than its visit
#:   (an NDA outlives the visit): the purge erases it by its own ``erase_after``
#:   (purge._purge_documents) and erasure requests explicitly (erasure.erase_signed_documents,
#:   requests.erase_person); the tests below and tests/privacy/test_signed_documents.py check
#:   both.
NOT_CASCADING = {
    ("invitations", "visit_id"): "SET NULL",
    ("signed_documents", "visit_id"): "SET NULL",
}


def references_to_erased_rows() -> list[tuple[str, str, str | None]]:
    found = []
    for table in Base.metadata.sorted_tables:
        for key in sorted(table.foreign_keys, key=lambda key: key.parent.name):
            if key.column.table.name in ERASED_TABLES:
                found.append((table.name, key.parent.name, key.ondelete))
    return found


def test_the_schema_has_references_to_visits_and_invitations():
    # The walk below would pass vacuously if it found nothing.
    tables = {table for table, _column, _ondelete in references_to_erased_rows()}
    assert {"print_jobs", "notifications"} <= tables


@pytest.mark.parametrize(("table", "column", "ondelete"), references_to_erased_rows())
def test_every_reference_to_visits_or_invitations_says_what_happens_when_they_go(
    table: str, column: str, ondelete: str | None
):
    expected = NOT_CASCADING.get((table, column), "CASCADE")
    assert (ondelete or "").upper() == expected, (
        f"{table}.{column} refers to erased rows: give it ondelete={expected!r}, or erase it "
        "explicitly in kiosk.privacy.erasure and list it in NOT_CASCADING"
    )


def test_erasing_a_visit_erases_its_print_jobs_and_notifications(
    session: Any, make_site: Any, make_visit: Any, clock: Any
):
    from kiosk.privacy.erasure import erase_visits

    site = make_site()
    visit = make_visit(site, "Copied Visitor")
    now = clock.now()
    session.add(
        PrintJob(
            visit_id=visit.id,
            created_at=now,
            requested_by="staff:1",
            backend=PrintBackend.CUPS,
            status=PrintStatus.SENT,
        )
    )
    session.add(
        Notification(
            site_id=site.id,
            visit_id=visit.id,
            kind=NotificationKind.HOST_EMAIL,
            recipient="host@example.com",
            subject="Copied Visitor is here",
            body="Copied Visitor is at reception",
            next_attempt_at=now,
            created_at=now,
        )
    )
    session.commit()
    assert session.scalar(select(PrintJob.id)) is not None
    assert session.scalar(select(Notification.id)) is not None
    erase_visits(session, [visit.id])
    session.commit()
    assert session.scalars(select(Visit)).all() == []
    assert session.scalars(select(PrintJob)).all() == []
    assert session.scalars(select(Notification)).all() == []
    assert session.scalars(select(Invitation)).all() == []
