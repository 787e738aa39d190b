"""Retention per visitor type: a type kept for less time than its site is erased at its own
cutoff, to the second, by the same batched purge; other visits keep the site's period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock
from kiosk.models import Site, Visit, VisitorType
from kiosk.privacy.purge import PurgeSettings, count_expired, run_purge
from kiosk.privacy.rules import contacts_erased_at, cutoffs_for, visit_erased_at
from tests.support import named

SECOND = timedelta(seconds=1)


def purge(session: Session, clock: FrozenClock) -> Any:
    run = run_purge(session, clock=clock, trigger="cli", settings=PurgeSettings(batch_size=1))
    assert run is not None
    return run


def remaining(session: Session) -> set[str]:
    session.expire_all()
    return {v.visitor_name for v in session.scalars(select(Visit))}


def add_type(session: Session, site: Site, clock: FrozenClock, **fields: Any) -> VisitorType:
    visitor_type = VisitorType(site_id=site.id, created_at=clock.now(), **fields)
    session.add(visitor_type)
    session.commit()
    return visitor_type


def test_a_type_kept_shorter_than_its_site_is_erased_at_its_own_cutoff(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=30, timezone="Europe/Stockholm")
    delivery = add_type(session, site, clock, key="delivery", position=1, retention_days=7)
    guest = add_type(session, site, clock, key="guest", position=0)
    out = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    for name, visitor_type in (("Dan Delivery", delivery), ("Gus Guest", guest), ("No Type", None)):
        make_visit(
            site,
            name,
            checked_in_at=out - timedelta(minutes=5),
            checked_out_at=out,
            visitor_type_id=visitor_type.id if visitor_type else None,
        )
    dan = named(session, Visit, "Dan Delivery")
    due = out + timedelta(days=7)
    assert visit_erased_at(site, dan) == due
    # Email and phone never outlive their visit.
    assert contacts_erased_at(site, dan) == due

    clock.set(due - SECOND)
    assert count_expired(session, [cutoffs_for(site, clock.now())]).sites[site.id].visits == 0
    assert purge(session, clock).visits_erased == 0
    assert remaining(session) == {"Dan Delivery", "Gus Guest", "No Type"}

    clock.set(due + SECOND)
    assert count_expired(session, [cutoffs_for(site, clock.now())]).sites[site.id].visits == 1
    run = purge(session, clock)
    assert run.visits_erased == 1
    assert remaining(session) == {"Gus Guest", "No Type"}

    # The site's own period still holds for the others (30 calendar days on the site's
    # clock: across the change to summer time, one hour less in UTC).
    gus = named(session, Visit, "Gus Guest")
    site_due = visit_erased_at(site, gus)
    assert site_due == out + timedelta(days=30, hours=-1)
    clock.set(site_due - SECOND)
    assert purge(session, clock).visits_erased == 0
    clock.set(site_due + SECOND)
    assert purge(session, clock).visits_erased == 2
    assert remaining(session) == set()


def test_a_type_never_keeps_visits_longer_than_its_site(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=10, timezone="UTC")
    # Written straight to the database (the admin pages refuse it): the site's 10 days win.
    long_kept = add_type(session, site, clock, key="contractor", position=0, retention_days=300)
    out = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    make_visit(site, "Cora", checked_in_at=out, checked_out_at=out, visitor_type_id=long_kept.id)
    assert long_kept.kept_days == 10
    assert cutoffs_for(site, out).types == {}
    clock.set(out + timedelta(days=10) + SECOND)
    assert purge(session, clock).visits_erased == 1
    assert remaining(session) == set()


def test_a_retired_type_keeps_its_shorter_period(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=30, timezone="UTC")
    old = add_type(session, site, clock, key="interview", retention_days=3, retired_at=clock.now())
    out = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    make_visit(site, "Ina", checked_in_at=out, checked_out_at=out, visitor_type_id=old.id)
    clock.set(out + timedelta(days=3) + SECOND)
    assert purge(session, clock).visits_erased == 1


def test_the_access_export_names_the_type_and_its_erasure_date(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock, staff_client: Any
):
    site = make_site(retention_days=30, timezone="UTC")
    delivery = add_type(session, site, clock, key="delivery", position=0, retention_days=7)
    out = clock.now() - timedelta(hours=1)
    visit = make_visit(
        site, "Dan Delivery", checked_in_at=out, checked_out_at=out, visitor_type_id=delivery.id
    )
    response = staff_client.post("/dashboard/requests/export.json", data={"visit": visit.id})
    assert response.status_code == 200
    exported = response.get_json()["visits"][0]
    assert exported["visitor_type"] == "Delivery"  # the visit's language (en)
    assert exported["erased_from"] == (out + timedelta(days=7)).isoformat()
