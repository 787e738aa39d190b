"""The purge's evidence per visitor type (issue 15): each run records every type's cutoff and
how many of its visits it erased, beside the site's; at a type's cutoff ± 1 s. Groups go once
their visits are erased."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock
from kiosk.models import PurgeRun, PurgeRunType, Visit, VisitGroup, VisitorType
from kiosk.privacy.purge import PurgeSettings, run_purge

SECOND = timedelta(seconds=1)


def purge(session: Session, clock: FrozenClock) -> PurgeRun:
    run = run_purge(session, clock=clock, trigger="cli", settings=PurgeSettings(batch_size=1))
    assert run is not None
    return run


def type_records(session: Session, run: PurgeRun) -> dict[int, PurgeRunType]:
    session.expire_all()
    rows = session.scalars(select(PurgeRunType).where(PurgeRunType.run_id == run.id))
    return {row.visitor_type_id: row for row in rows}


def test_each_run_records_every_types_cutoff_and_count(
    session: Session,
    make_site: Any,
    make_visit: Any,
    make_staff: Any,
    login: Any,
    clock: FrozenClock,
):
    site = make_site(retention_days=30, timezone="UTC")
    delivery = VisitorType(
        site_id=site.id, key="delivery", position=1, retention_days=7, created_at=clock.now()
    )
    guest = VisitorType(site_id=site.id, key="guest", position=0, created_at=clock.now())
    session.add_all([delivery, guest])
    session.commit()
    out = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    group = VisitGroup(site_id=site.id, size=2, created_at=out)
    session.add(group)
    session.commit()
    for name in ("Dan Delivery", "Dora Delivery"):
        make_visit(
            site,
            name,
            checked_in_at=out - timedelta(minutes=5),
            checked_out_at=out,
            visitor_type_id=delivery.id,
        )
    make_visit(site, "Gus Guest", checked_in_at=out, checked_out_at=out, visitor_type_id=guest.id)
    # Names are sealed (kiosk.sealing): picked in Python, not by SQL.
    for visit in session.scalars(select(Visit)):
        if visit.visitor_name.startswith("D"):
            visit.group_id = group.id
    session.commit()
    due = out + timedelta(days=7)

    clock.set(due - SECOND)
    run = purge(session, clock)
    records = type_records(session, run)
    assert set(records) == {delivery.id, guest.id}
    assert records[delivery.id].kept_days == 7
    assert records[guest.id].kept_days == 30
    assert records[delivery.id].visit_cutoff == due - SECOND - timedelta(days=7)
    assert records[guest.id].visit_cutoff == due - SECOND - timedelta(days=30)
    assert records[delivery.id].visits_erased == 0
    assert session.scalar(select(func.count()).select_from(VisitGroup)) == 1

    clock.set(due + SECOND)
    run = purge(session, clock)
    records = type_records(session, run)
    assert records[delivery.id].visits_erased == 2
    assert records[guest.id].visits_erased == 0
    assert records[delivery.id].visit_cutoff == out + SECOND
    assert run.visits_erased == 2
    # The group held no one any more: it went with its visits.
    assert session.scalar(select(func.count()).select_from(VisitGroup)) == 0
    assert {visit.visitor_name for visit in session.scalars(select(Visit))} == {"Gus Guest"}

    # The retention page shows each type's period, cutoff and count under its site.
    officer = login(make_staff(role="admin"))
    page = officer.get("/dashboard/retention").text
    assert "Delivery: kept 7 days, visits ended by" in page
    assert "Guest: kept 30 days, visits ended by" in page
    assert page.count('data-type-id="') == 4  # two types in each of the two runs
