"""The statistics of kept visits, counted by the database (kiosk.privacy.stats.daily_stats),
against the purge's own count of the same visits (tally_visits): the same numbers, so a trend
never jumps when the purge erases the visits and keeps their counts."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import Visit
from kiosk.privacy.stats import VisitTimes, daily_stats, offset_spans, tally_visits

# Summer time (Stockholm, St John's at -3:30, Lord Howe's half-hour change), a zone without
# one at +5:45, and UTC.
ZONES = ["Europe/Stockholm", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]


def test_a_zones_offsets_are_found_to_the_second():
    zone = ZoneInfo("Europe/Stockholm")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    spans = offset_spans(zone, start, datetime(2027, 1, 1, tzinfo=UTC))
    assert spans == [
        (start, 3600),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 7200),
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 3600),
    ]
    assert offset_spans(ZoneInfo("UTC"), start, start + timedelta(days=400)) == [(start, 0)]


@pytest.mark.parametrize("zone_name", ZONES)
def test_kept_visits_are_counted_as_the_purge_counts_them(
    session: Session, make_site: Any, make_host: Any, make_visit: Any, zone_name: str
):
    zone = ZoneInfo(zone_name)
    site = make_site(timezone=zone_name)
    hosts = [make_host(site, "Hanna Host").id, make_host(site, "Otto Host").id, None]
    picked = random.Random(zone_name)
    first, last = date(2026, 3, 20), date(2026, 4, 10)  # across the spring changes
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC) - timedelta(hours=30)
    for number in range(400):
        # Near local midnight and near the changes, with microseconds; some stay, some
        # leave "before" they came (a clock put right), some stay for days.
        checked_in = start + timedelta(
            seconds=picked.randrange(int(timedelta(days=24).total_seconds())),
            microseconds=picked.randrange(1_000_000),
        )
        if number % 4 == 0:
            local = checked_in.astimezone(zone).replace(hour=23, minute=59, second=59)
            checked_in = local.astimezone(UTC) + timedelta(microseconds=picked.randrange(2_000_000))
        stay = picked.choice(
            [None, -5.5, 0.999999, 59.999999, 3600.5, 86400 * 3.25, picked.uniform(0, 40000)]
        )
        make_visit(
            site,
            f"Stat Visitor {number}",
            host_id=picked.choice(hosts),
            checked_in_at=checked_in,
            checked_out_at=None if stay is None else checked_in + timedelta(seconds=stay),
        )
    stats = daily_stats(session, [site.id], {site.id: zone}, first, last)[site.id]

    rows = session.execute(
        select(Visit.id, Visit.site_id, Visit.host_id, Visit.checked_in_at, Visit.checked_out_at)
    )
    expected = tally_visits([VisitTimes(*row) for row in rows], {site.id: zone})
    by_day = {day: tally for (_site, day), tally in expected.by_site.items()}
    days = [(day, tally) for day, tally in stats.days if tally.visits]
    assert days == sorted((day, tally) for day, tally in by_day.items() if first <= day <= last)
    assert sum(tally.visits for _day, tally in days) > 300
    by_host: dict[int, Any] = {}
    for (host_id, day), tally in expected.by_host.items():
        if first <= day <= last:
            total = by_host.setdefault(host_id, type(tally)())
            total.add(tally.visits, tally.checked_out, tally.duration_seconds)
    assert stats.hosts == by_host
