"""Statistics that survive the purge: visits per day, per site and per host, without a name.

The purge adds the visits it erases to daily totals (count, visits with a check-out and their
total duration); the dashboard adds the visits not yet erased, counted by the same function, so
a trend never jumps when the purge runs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, case, cast, extract, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kiosk.models import HostDailyStats, SiteDailyStats, Visit

_COUNTERS = ("visits", "checked_out", "duration_seconds")


class VisitTimes(NamedTuple):
    """What the statistics need of one visit: no personal data."""

    id: int
    site_id: int
    host_id: int | None
    checked_in_at: datetime
    checked_out_at: datetime | None


@dataclass
class Tally:
    """Visits counted together: how many, how many checked out, and how long those stayed."""

    visits: int = 0
    checked_out: int = 0
    duration_seconds: int = 0

    def add(self, visits: int, checked_out: int, duration_seconds: int) -> None:
        self.visits += visits
        self.checked_out += checked_out
        self.duration_seconds += duration_seconds

    @property
    def average_minutes(self) -> int | None:
        """Average stay of the visits that checked out, in whole minutes."""
        if not self.checked_out:
            return None
        return round(self.duration_seconds / self.checked_out / 60)


@dataclass
class Tallies:
    """Visits counted per (site, day) and per (host, day)."""

    by_site: defaultdict[tuple[int, date], Tally]
    by_host: defaultdict[tuple[int, date], Tally]
    #: The site of each host counted.
    host_sites: dict[int, int]


def tally_visits(visits: Iterable[VisitTimes], zones: Mapping[int, ZoneInfo]) -> Tallies:
    """Count visits by the day they checked in on their site's calendar."""
    tallies = Tallies(defaultdict(Tally), defaultdict(Tally), {})
    # Zone offsets change only at quarter hours: one conversion per site and quarter hour
    # instead of one per visit (the purge counts a million visits this way).
    days: dict[tuple[int, int], date] = {}
    by_site, by_host, host_sites = tallies.by_site, tallies.by_host, tallies.host_sites
    for _id, site_id, host_id, checked_in, checked_out in visits:
        quarter = (site_id, int(checked_in.timestamp()) // 900)
        day = days.get(quarter)
        if day is None:
            day = days[quarter] = checked_in.astimezone(zones[site_id]).date()
        if checked_out is None:
            out = seconds = 0
        else:
            out, seconds = 1, max(0, int((checked_out - checked_in).total_seconds()))
        by_site[site_id, day].add(1, out, seconds)
        if host_id is not None:
            by_host[host_id, day].add(1, out, seconds)
            host_sites[host_id] = site_id
    return tallies


def add_to_daily_stats(
    session: Session, visits: Sequence[VisitTimes], zones: Mapping[int, ZoneInfo]
) -> None:
    """Add these visits to the stored daily totals (in the caller's transaction)."""
    tallies = tally_visits(visits, zones)
    _upsert(
        session,
        SiteDailyStats,
        ["site_id", "day"],
        [
            {"site_id": site_id, "day": day, **_counters(tally)}
            for (site_id, day), tally in tallies.by_site.items()
        ],
    )
    _upsert(
        session,
        HostDailyStats,
        ["host_id", "day"],
        [
            {"host_id": host_id, "day": day, "site_id": tallies.host_sites[host_id], **_counters(t)}
            for (host_id, day), t in tallies.by_host.items()
        ],
    )


def _counters(tally: Tally) -> dict[str, int]:
    return {name: getattr(tally, name) for name in _COUNTERS}


def _upsert(session: Session, model: Any, keys: list[str], rows: list[dict[str, Any]]) -> None:
    """Insert the rows, or add their counters to the row already there."""
    if not rows:
        return
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(model)
    elif dialect == "sqlite":
        statement = sqlite.insert(model)
    else:  # pragma: no cover - kiosk supports SQLite and PostgreSQL
        raise NotImplementedError(dialect)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: getattr(model, name) + getattr(statement.excluded, name) for name in _COUNTERS},
    )
    session.connection().execute(statement, rows)


@dataclass(frozen=True)
class DailyStats:
    """Visits per day for one site over a period, and per host over the whole period."""

    days: list[tuple[date, Tally]]
    total: Tally
    hosts: dict[int, Tally]


def daily_stats(
    session: Session,
    site_ids: Sequence[int],
    zones: Mapping[int, ZoneInfo],
    first: date,
    last: date,
) -> dict[int, DailyStats]:
    """Per site, each day from ``first`` to ``last`` (site calendar): erased visits from the
    stored totals plus the visits still kept, counted the same way."""
    by_site: dict[int, defaultdict[date, Tally]] = {sid: defaultdict(Tally) for sid in site_ids}
    by_host: dict[int, defaultdict[int, Tally]] = {sid: defaultdict(Tally) for sid in site_ids}
    if not site_ids:
        return {}
    for stored in session.scalars(
        select(SiteDailyStats).where(
            SiteDailyStats.site_id.in_(site_ids), SiteDailyStats.day.between(first, last)
        )
    ):
        by_site[stored.site_id][stored.day].add(*_values(stored))
    for host_row in session.scalars(
        select(HostDailyStats).where(
            HostDailyStats.site_id.in_(site_ids), HostDailyStats.day.between(first, last)
        )
    ):
        by_host[host_row.site_id][host_row.host_id].add(*_values(host_row))

    # Kept visits: a day on any site's calendar lies within a day of the same UTC date.
    earliest = datetime.combine(first - timedelta(days=1), time.min, tzinfo=UTC)
    latest = datetime.combine(last + timedelta(days=2), time.min, tzinfo=UTC)
    for site_id in site_ids:
        kept = _kept_tallies(session, site_id, zones[site_id], earliest, latest)
        for host_id, day, tally in kept:
            if first <= day <= last:
                by_site[site_id][day].add(*_values(tally))
                if host_id is not None:
                    by_host[site_id][host_id].add(*_values(tally))

    result = {}
    for site_id in site_ids:
        days = []
        total = Tally()
        day = first
        while day <= last:
            tally = by_site[site_id].get(day) or Tally()
            days.append((day, tally))
            total.add(*_values(tally))
            day += timedelta(days=1)
        result[site_id] = DailyStats(days=days, total=total, hosts=dict(by_host[site_id]))
    return result


def offset_spans(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The times from ``start`` to ``end`` (UTC) in spans of one UTC offset of ``zone``: each
    span's first moment and its offset in seconds, the first span starting at ``start``."""

    def offset(moment: datetime) -> int:
        shift = moment.astimezone(zone).utcoffset()
        return int(shift.total_seconds()) if shift is not None else 0

    spans = [(start, offset(start))]
    day = start
    while day < end:
        following = min(day + timedelta(days=1), end)
        if offset(following) != spans[-1][1]:
            # A change within this day (zones change at most once a day), at a whole second
            # (as the zone database gives them): the first second with the new offset.
            low, high = math.floor(day.timestamp()), math.ceil(following.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                if offset(datetime.fromtimestamp(middle, UTC)) == spans[-1][1]:
                    low = middle
                else:
                    high = middle
            change = datetime.fromtimestamp(high, UTC)
            spans.append((change, offset(change)))
        day = following
    return spans


def _kept_tallies(
    session: Session, site_id: int, zone: ZoneInfo, earliest: datetime, latest: datetime
) -> list[tuple[int | None, date, Tally]]:
    """(host id, day on the site's calendar, tally) of the site's visits that checked in from
    ``earliest`` to ``latest``, counted by the database.

    The same counts as :func:`tally_visits` (which the purge uses for the stored totals): the
    day from the UTC offset of the check-in's moment, durations in whole seconds (truncated,
    never below zero). Counted in Python, a year of a busy site's visits took seconds
    (7.4 s for a million visits); the database returns a row per host and day."""
    checked_in, checked_out = Visit.checked_in_at, Visit.checked_out_at
    postgres = session.get_bind().dialect.name == "postgresql"

    def local_day(offset: int) -> Any:
        if postgres:
            return cast(func.timezone("UTC", checked_in) + timedelta(seconds=offset), Date)
        return func.date(checked_in, f"{offset:+d} seconds")

    spans = offset_spans(zone, earliest, latest)
    day: Any = local_day(spans[-1][1])
    if len(spans) > 1:
        day = case(
            *(
                (checked_in < span_end, local_day(offset))
                for (_start, offset), (span_end, _next) in zip(spans, spans[1:], strict=False)
            ),
            else_=day,
        )
    if postgres:
        seconds: Any = func.greatest(0, func.trunc(extract("epoch", checked_out - checked_in)))
    else:
        # Whole seconds and the stored microseconds, exactly ('YYYY-MM-DD HH:MM:SS.ffffff').
        def micro(column: Any) -> Any:
            return cast(
                func.strftime("%s", func.substr(column, 1, 19)), Integer
            ) * 1_000_000 + cast(func.substr(column, 21, 6), Integer)

        seconds = func.max(0, (micro(checked_out) - micro(checked_in)) // 1_000_000)
    rows = session.execute(
        select(Visit.host_id, day, func.count(), func.count(checked_out), func.sum(seconds))
        .where(Visit.site_id == site_id, checked_in >= earliest, checked_in < latest)
        .group_by(Visit.host_id, day)
    )
    return [
        (host_id, _as_date(local), Tally(visits, out, int(total or 0)))
        for host_id, local, visits, out, total in rows
    ]


def _as_date(value: date | str) -> date:
    # SQLite's date() returns text
    return date.fromisoformat(value) if isinstance(value, str) else value


def _values(item: Any) -> tuple[int, int, int]:
    return item.visits, item.checked_out, item.duration_seconds
