"""Reception's day: today's log, expected visitors, history search, end-of-day check-out, CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from kiosk.blind_index import (
    SearchKey,
    raw_moment,
    raw_time,
    search_keys,
    token_day_bounds,
    token_in,
    tokens_under,
)
from kiosk.models import Host, Invitation, NameTokenDay, Site, Visit, VisitNameToken
from kiosk.sealing import load_keys, shown_text, store_for
from kiosk.services.audit import record_event
from kiosk.services.invitations import site_today
from kiosk.services.listed_names import name_columns, unseal_names
from kiosk.text import fold, name_words

HISTORY_PAGE_SIZE = 50


def day_bounds(site: Site, day: date) -> tuple[datetime, datetime]:
    """The UTC instants where ``day`` starts and ends on the site's clock (DST-correct)."""
    zone = ZoneInfo(site.timezone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


class TodayVisit(NamedTuple):
    """A visit of today as the "Today" page lists it (read as columns, not as a Visit)."""

    id: int
    site_id: int
    visitor_name: str
    company: str | None
    host_name: str | None
    checked_in_at: datetime
    checked_out_at: datetime | None
    visitor_type_id: int | None
    group_id: int | None


def visits_today(
    session: Session, sites: Sequence[Site], *, now: datetime
) -> dict[int, list[TodayVisit]]:
    """Per site, every visit that checked in on the site's today (on site or gone), newest
    first. One statement for all the sites, its rows read as columns and each column unsealed
    in one pass, as reception's on-site list is: loading a Visit and its host per row, then
    unsealing each field through its attribute, was most of the page (850 visits of ten
    sites, bench/README.md)."""
    found: dict[int, list[TodayVisit]] = {site.id: [] for site in sites}
    if not sites:
        return found
    today: list[ColumnElement[bool]] = []
    for site in sites:
        start, end = day_bounds(site, site_today(site, now))
        today.append(
            and_(Visit.site_id == site.id, Visit.checked_in_at >= start, Visit.checked_in_at < end)
        )
    rows = session.execute(
        select(
            Visit.id,
            Visit.site_id,
            *name_columns(Visit),
            Host.name,
            Visit.checked_in_at,
            Visit.checked_out_at,
            Visit.visitor_type_id,
            Visit.group_id,
        )
        .outerjoin(Host, Host.id == Visit.host_id)
        .where(or_(*today))
        .order_by(Visit.checked_in_at.desc(), Visit.id.desc())
    ).all()
    names = unseal_names(Visit, store_for(session), rows, 2)
    for row, (name, company) in zip(rows, names, strict=True):
        found[row[1]].append(TodayVisit(row[0], row[1], name, company, *row[7:12]))
    return found


class ExpectedVisitor(NamedTuple):
    """An invitation for today as reception's list shows it (read as columns; a named tuple,
    as kiosk.services.visits.PresentVisit is)."""

    id: int
    site_id: int
    visitor_name: str
    company: str | None
    host_name: str | None
    code: str
    #: The kind of visit reception expects, if it said (Invitation.visitor_type_id).
    visitor_type_id: int | None = None


def expected_today(
    session: Session, sites: Sequence[Site], *, now: datetime
) -> dict[int, list[ExpectedVisitor]]:
    """Per site, the invitations for the site's today that have not turned into a visit and
    are not cancelled, by name. One query for all the sites that share a date (usually all):
    the dashboard shows every site a user serves. Read as columns and unsealed here, as
    kiosk.services.visits.present_visits is (an object per invitation cost more than the
    query)."""
    by_date: dict[date, list[int]] = {}
    for site in sites:
        by_date.setdefault(site_today(site, now), []).append(site.id)
    expected: dict[int, list[ExpectedVisitor]] = {site.id: [] for site in sites}
    if not by_date:
        return expected
    rows = session.execute(
        select(
            Invitation.id,
            Invitation.site_id,
            *name_columns(Invitation),
            Host.name,
            Invitation.code,
            Invitation.visitor_type_id,
        )
        .outerjoin(Host, Host.id == Invitation.host_id)
        .where(
            or_(
                *(
                    and_(Invitation.site_id.in_(site_ids), Invitation.expected_on == day)
                    for day, site_ids in by_date.items()
                )
            ),
            Invitation.visit_id.is_(None),
            Invitation.cancelled_at.is_(None),
        )
        .order_by(Invitation.id)
    ).all()
    if not rows:
        return expected
    names = unseal_names(Invitation, store_for(session), rows, 2)
    invitations = [
        ExpectedVisitor(
            row[0], row[1], *name, host_name=row[7], code=row[8], visitor_type_id=row[9]
        )
        for row, name in zip(rows, names, strict=True)
    ]
    # Names are sealed (kiosk.sealing): sorted here, among a day's few invitations.
    for invitation in sorted(invitations, key=lambda item: (fold(item.visitor_name), item.id)):
        expected[invitation.site_id].append(invitation)
    return expected


@dataclass(frozen=True)
class HistoryQuery:
    """What reception searches the visit history for; all parts optional."""

    site_ids: tuple[int, ...]
    name: str = ""
    company: str = ""
    host_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def _history_select(session: Session, query: HistoryQuery) -> Select[Visit]:
    statement = select(Visit).where(Visit.site_id.in_(query.site_ids))
    sites = {
        site.id: site for site in session.scalars(select(Site).where(Site.id.in_(query.site_ids)))
    }
    typed = _typed_words(query)
    if typed:
        keys = search_keys(session, query.site_ids)
        if query.date_from is not None:
            keys = _keys_since(session, keys, sites, query.date_from)
        first, *others = typed
        candidates = select(VisitNameToken.visit_id).where(
            _starts_with(session, keys, VisitNameToken, first)
        )
        statement = statement.where(Visit.id.in_(candidates))
        for prefix in others:
            statement = statement.where(_has_word(session, keys, Visit.id, prefix))
    if query.host_id is not None:
        statement = statement.where(Visit.host_id == query.host_id)
    if query.date_from is not None or query.date_to is not None:
        # Dates are the sites' calendar days; with one zone per site, bound per site.
        clauses = []
        for site in sites.values():
            clause = Visit.site_id == site.id
            if query.date_from is not None:
                clause = clause & (Visit.checked_in_at >= day_bounds(site, query.date_from)[0])
            if query.date_to is not None:
                clause = clause & (Visit.checked_in_at < day_bounds(site, query.date_to)[1])
            clauses.append(clause)
        statement = statement.where(or_(*clauses))
    return statement


def _keys_since(
    session: Session, keys: Sequence[SearchKey], sites: dict[int, Site], since: date
) -> list[SearchKey]:
    """The keys that can hold a visit checked in on ``since`` (a site's day) or later: a key
    whose recorded bound (kiosk.blind_index.token_day_bounds) is before that day began at its
    site holds only earlier visits, and is not looked under. A key with no bound is kept."""
    bounds = token_day_bounds(session, NameTokenDay.__table__, list(sites))
    starts = {
        site_id: raw_moment(session, day_bounds(site, since)[0]) for site_id, site in sites.items()
    }
    kept = []
    for key in keys:
        bound = bounds.get((key.site_id, key.day))
        start = starts.get(key.site_id)
        if bound is None or start is None or bound >= start:
            kept.append(key)
    return kept


def _typed_words(query: HistoryQuery) -> list[str]:
    """The words typed for the name, longest (likely the rarest) first.

    Each must start a word of the name, ignoring case and accents ("berg" and "ÖBERG" find
    "Eva Öberg"): a token of the folded prefix (kiosk.blind_index). On SQLite the first
    picks the candidates and the others are checked per candidate through the primary key
    (:func:`_with_other_words`); PostgreSQL reads the shortest first (_NewestMatches._read).
    """
    return sorted(name_words(query.name), key=len, reverse=True)


def _starts_with(
    session: Session, keys: Sequence[SearchKey], words: type[VisitNameToken] | Any, prefix: str
) -> ColumnElement[bool]:
    """A word of the name starts with ``prefix``: its blind-index token under any live key of
    the searched sites (``keys``, kiosk.blind_index.search_keys), an equality the token index
    answers.

    No condition on the token's site: every key belongs to one site, so these tokens occur
    only in the searched sites' rows, and a ``site_id IN`` beside ``token IN`` made SQLite seek
    every pair (keys x sites: 38,700 seeks for an admin of 10 sites keeping a year)."""
    return token_in(session, words.token, tokens_under(keys, prefix))


def _has_word(
    session: Session, keys: Sequence[SearchKey], visit_id: Any, prefix: str
) -> ColumnElement[bool]:
    """Another word of the name starts with ``prefix``: the visits having it, listed once
    (not a lookup per candidate: each would try the prefix's token under every live key).

    ``visit_id + 0`` keeps SQLite's planner from walking the other word's list through the
    primary key and testing each of its visits' tokens against the first word (2-4x slower
    than seeking the first word's tokens and probing the list); PostgreSQL plans it the same."""
    other = aliased(VisitNameToken)
    having: ColumnElement[bool] = (visit_id + 0).in_(
        select(other.visit_id).where(_starts_with(session, keys, other, prefix))
    )
    return having


def _with_other_words(
    session: Session,
    keys: Sequence[SearchKey],
    first: str,
    others: Sequence[str],
    limit: int,
) -> list[tuple[int, Any]]:
    """SQLite: the ``limit`` newest (visit id, raw check-in time) of the index rows under
    ``keys`` of visits having a word starting with ``first`` (the longest typed) and one
    starting with each of ``others``.

    Each other word is looked for in the first word's matches alone: a visit's tokens are all
    made under one key, and an index row holds the visit's site and check-in time, so the row
    another word would have in a match is known whole (that word's token under the same key,
    the same site, time and visit), one lookup of the primary key
    (:func:`_with_other_words_sqlite`). The rows read are the first word's matches and one per
    other word each, not every visit having the other words (a common first name is 20,000
    visits at 1,000,000, under every key): "anna forsgr" 77 -> 39 ms at 1,000,000.
    """
    columns = [tokens_under(keys, prefix) for prefix in (first, *others)]
    rows: list[tuple[int, Any]] = []
    # SQLite binds at most 32,766 parameters a statement: keys in slices that fit.
    per_statement = max(1, SQLITE_PARAMETERS // len(columns))
    for start in range(0, len(keys), per_statement):
        part = [column[start : start + per_statement] for column in columns]
        rows = _NewestMatches.merge(rows, _with_other_words_sqlite(session, part, limit), limit)
    return rows


#: Tokens bound per statement by :func:`_with_other_words_sqlite` (SQLite allows 32,766).
SQLITE_PARAMETERS = 32_000


def _with_other_words_sqlite(
    session: Session, columns: Sequence[Sequence[bytes]], limit: int
) -> list[tuple[int, Any]]:
    """:func:`_with_other_words` on SQLite: the tokens as a table, a row per key (the first
    word's token and each other word's under the same key), joined to the index by the
    first word's token, then by each other word's whole primary key.

    Written out as SQL with positional parameters: SQLAlchemy makes a bound parameter object
    of each VALUES item (thousands a search), which cost 140 ms to compile for a 30 ms query."""
    table = VisitNameToken.__tablename__
    names = [f"t{number}" for number in range(len(columns))]
    row = "(" + ",".join("?" * len(columns)) + ")"
    joins = "".join(
        f" JOIN {table} AS word_{number} ON word_{number}.token = typed.{name}"
        f" AND word_{number}.site_id = first_word.site_id"
        f" AND word_{number}.checked_in_at = first_word.checked_in_at"
        f" AND word_{number}.visit_id = first_word.visit_id"
        for number, name in enumerate(names[1:], start=1)
    )
    # Only the model's table name, names made here and placeholders are written in; every
    # value is a parameter.
    sql = (
        f"WITH typed({', '.join(names)}) AS (VALUES {','.join([row] * len(columns[0]))})"  # noqa: S608
        " SELECT first_word.visit_id, first_word.checked_in_at FROM typed"
        f" JOIN {table} AS first_word ON first_word.token = typed.t0{joins}"
        " ORDER BY first_word.checked_in_at DESC, first_word.visit_id DESC LIMIT ?"
    )
    parameters = [token for tokens in zip(*columns, strict=True) for token in tokens]
    result = session.connection().exec_driver_sql(sql, (*parameters, limit))
    # The check-in time as SQLite stores it: raw_time's value on this backend.
    return [(visit_id, checked_in_at) for visit_id, checked_in_at in result]


def _search_by_name(session: Session, query: HistoryQuery, page: int, count: bool) -> HistoryPage:
    """A search by name alone, answered from the words' index: the visits' site and check-in
    time are in it, so even a common prefix is counted (up to the limit) and ordered without
    reading every matching visit; only the page's visits are loaded."""
    first, *others = _typed_words(query)
    keys = search_keys(session, query.site_ids)
    newest = _NewestMatches(session, query.site_ids, keys, first, others)
    unique, paging = newest.page(page, count=count)
    ids = unique[(paging.page - 1) * HISTORY_PAGE_SIZE :]
    loaded = {
        visit.id: visit
        for visit in session.scalars(
            select(Visit)
            .options(joinedload(Visit.host), joinedload(Visit.site))
            # The tokens' keys already limit the matches to these sites; stated again here
            # because it is what staff may see.
            .where(Visit.id.in_(ids), Visit.site_id.in_(query.site_ids))
        )
    }
    return HistoryPage.paged([loaded[i] for i in ids if i in loaded], paging)


class _Paging(NamedTuple):
    page: int
    pages: int
    #: The visits found, or None when the search stopped before counting them all.
    total: int | None
    #: More visits match than HISTORY_COUNT_LIMIT.
    more: bool
    #: How many of the newest matches the page needs.
    wanted: int


def _paging(found: int, count_to: int, page: int) -> _Paging:
    """The page shown when ``found`` visits were found by a search that counted to
    ``count_to`` (more than that when ``found`` is greater); ``page`` is the page asked for."""
    if found > count_to and count_to < HISTORY_COUNT_LIMIT:
        # Not counted: there is a next page, and how many follow it is not known.
        return _Paging(page, page + 1, None, False, page * HISTORY_PAGE_SIZE)
    more = found > count_to
    total = count_to if more else found
    pages = max(1, -(-total // HISTORY_PAGE_SIZE))
    page = min(page, pages)
    return _Paging(page, pages, total, more, min(page * HISTORY_PAGE_SIZE, total))


#: The newest matches are looked for under this many keys first (those whose visits can be the
#: newest), then under as many more as the matches found so far say are needed.
FIRST_KEYS = 64


def _enough_visits(rows: Sequence[tuple[int, Any]], visits: int) -> int | None:
    """Where in ``rows`` (visit id first) the ``visits``-th different visit is; None if fewer."""
    seen: set[int] = set()
    for index, (visit_id, _) in enumerate(rows):
        seen.add(visit_id)
        if len(seen) == visits:
            return index
    return None


class _NewestMatches:
    """The matching visits newest first, as many as a page needs, reading the keys that can
    hold the newest visits first and stopping once no other key can hold a newer one.

    Each key's tokens are its own stretch of the index, and a common prefix's matches lie
    under every live key (about 4,000 for an admin of ten sites keeping a year). A key's day
    says when its visits go, not when they came (check-out plus a retention that depends on
    the visitor's type and may have changed), so the order comes from the bound recorded per
    key (kiosk.blind_index.token_day_bounds): once a page's worth of matches is newer than
    every bound of the keys not read, those keys cannot change it.

    The first FIRST_KEYS keys read are those of the latest days, which need no bounds; when
    they show the prefix to be rare (too few matches for the rest of the keys to stop early),
    the rest is read in one statement, without reading the bounds either."""

    def __init__(
        self,
        session: Session,
        site_ids: Sequence[int],
        keys: Sequence[SearchKey],
        first: str,
        others: Sequence[str],
    ) -> None:
        self.session = session
        self.site_ids = site_ids
        self.first = first
        self.others = others
        #: How many visits the search counts to: HISTORY_COUNT_LIMIT, or only as many as the
        #: page shows when the count is not asked for (set by ``page``).
        self.count_to = HISTORY_COUNT_LIMIT
        order = sorted(range(len(keys)), key=lambda i: keys[i].day, reverse=True)
        self.keys = [keys[i] for i in order]
        #: Per key, its bound (None: it may hold visits of any time), once read; the keys
        #: not read before then are in order of their bounds, newest first.
        self.bounds: list[Any] = []

    def page(self, page: int, *, count: bool) -> tuple[list[int], _Paging]:
        """The matching visits up to the page's last (ids, newest first) and the paging.

        Without ``count``, the search stops at the page's last visit and one more (whether
        there is a next page): a broad prefix's newest are under the newest few keys, so only
        counting its matches reads under every key (bench/README.md, "Counting on request")."""
        page = max(1, page)
        if not count:
            self.count_to = min(page * HISTORY_PAGE_SIZE, HISTORY_COUNT_LIMIT)
        # A name may have two words that start alike ("Berg Bergström"), so a visit can match
        # twice. Rather than DISTINCT over every match (which makes the database hash or sort
        # them all), read a bounded number of rows, newest first, and remove the rare repeats
        # here. The rows give the count (up to the limit) and the page.
        fetch = self.count_to * 2 + 2
        found = self.newest(fetch)
        unique = list(dict.fromkeys(found))
        while len(unique) <= self.count_to and len(found) == fetch:
            # Names with many alike words filled the rows read: read further.
            fetch *= 2
            found = self.newest(fetch)
            unique = list(dict.fromkeys(found))
        paging = _paging(len(unique), self.count_to, page)
        return unique[: paging.wanted], paging

    def newest(self, limit: int) -> list[int]:
        """The visit ids of the newest matching index rows (a visit twice when two of its
        words match): up to ``limit`` rows, or fewer once they hold more visits than the
        count goes to (HISTORY_COUNT_LIMIT)."""
        rows: list[tuple[int, Any]] = []
        start, size, count = 0, FIRST_KEYS, len(self.keys)
        while start < count:
            rows = self.merge(rows, self._read(start, start + size, limit), limit)
            start += size
            if start >= count:
                break
            enough = _enough_visits(rows, self.count_to + 1)
            if enough is None and len(rows) < limit:
                # Short: as many keys again as the matches per key so far say are needed for
                # the visits wanted (the rows' limit leaves room for repeats, rare).
                wanted = min(limit, self.count_to + 1)
                needed = max(wanted - len(rows), 1) * start / max(len(rows), 1)
                size = max(size * 2, int(needed * 1.25) + 1)
                if not rows or start + size >= count:
                    size = count - start  # all the rest at once: no order needed
                    continue
            if not self.bounds:
                self._order_by_bounds(start)
            if enough is not None or len(rows) == limit:
                # Only keys whose visits can be as new as the oldest row needed matter.
                last = len(rows) - 1 if enough is None else enough
                oldest = rows[last][1]
                end = start
                while end < count and (self.bounds[end] is None or self.bounds[end] >= oldest):
                    end += 1
                if end == start:
                    rows = rows[: last + 1]
                    break
                size = end - start
        return [visit_id for visit_id, _ in rows]

    def _order_by_bounds(self, start: int) -> None:
        """Put the keys not read yet (from ``start``) in order of their bounds, newest first;
        keys with none first (they may hold visits of any time)."""
        known = token_day_bounds(self.session, NameTokenDay.__table__, self.site_ids)
        bounds = [known.get((key.site_id, key.day)) for key in self.keys]
        order = list(range(start)) + sorted(
            range(start, len(self.keys)),
            key=lambda i: (bounds[i] is None, bounds[i] or ""),
            reverse=True,
        )
        self.keys = [self.keys[i] for i in order]
        self.bounds = [bounds[i] for i in order]

    def _read(self, start: int, end: int, limit: int) -> list[tuple[int, Any]]:
        """The ``limit`` newest matching index rows under keys ``start`` to ``end``."""
        session = self.session
        words = VisitNameToken
        keys = self.keys[start:end]
        if self.others and session.get_bind().dialect.name == "sqlite":
            return _with_other_words(session, keys, self.first, self.others, limit)
        # On PostgreSQL, where a lookup by primary key costs ~4 µs a row against ~1 on SQLite,
        # the shortest word's matches (likely the most) are read and probed against a list
        # of the visits having each other word (a hash semi-join, the hash built on the rarer
        # words' visits): "anna forsgr" 72-80 -> 54-56 ms at 1,000,000 (25 ms of SQL against
        # 35 with the longest word read and "anna"'s 22,000 visits hashed). The lookups by
        # primary key (as LATERAL subqueries with LIMIT 1, or the planner hashes the whole
        # index) took 1.2-2.4x as long.
        outer, *listed = sorted([self.first, *self.others], key=len)
        statement = select(words.visit_id, raw_time(session, words.checked_in_at)).where(
            token_in(session, words.token, tokens_under(keys, outer))
        )
        for prefix in listed:
            # A visit's tokens are all under one key: these keys' tokens are enough.
            statement = statement.where(_has_word(session, keys, words.visit_id, prefix))
        statement = statement.order_by(words.checked_in_at.desc(), words.visit_id.desc())
        return [(row[0], row[1]) for row in session.execute(statement.limit(limit))]

    @staticmethod
    def merge(
        kept: list[tuple[int, Any]], read: list[tuple[int, Any]], limit: int
    ) -> list[tuple[int, Any]]:
        if not kept:
            return read
        both = sorted(kept + read, key=lambda row: (row[1], row[0]), reverse=True)
        return both[:limit]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: A search counts its matches up to this many; beyond, it says "more than" and pages through
#: the newest this many (counting a broad search's every match is most of its time).
HISTORY_COUNT_LIMIT = 1000


@dataclass(frozen=True)
class HistoryPage:
    visits: Sequence[Visit]
    page: int
    #: The pages, or when the visits were not counted (``total`` None) the next page's number
    #: if there is one, else this page's.
    pages: int
    #: The visits found, up to HISTORY_COUNT_LIMIT; None when they were not counted.
    total: int | None
    #: More than ``total`` (``HISTORY_COUNT_LIMIT``) visits match.
    more: bool = False

    @property
    def reached(self) -> int:
        """How many of the newest matches this page and the ones before it hold."""
        return (self.page - 1) * HISTORY_PAGE_SIZE + len(self.visits)

    @classmethod
    def paged(cls, visits: Sequence[Visit], paging: _Paging) -> HistoryPage:
        return cls(visits, paging.page, paging.pages, paging.total, paging.more)


def search_history(
    session: Session, query: HistoryQuery, *, page: int = 1, count: bool = True
) -> HistoryPage:
    """One page of matching visits, newest first, with the keys sealing them read (the page
    shows each one's name and company).

    Without ``count``, a search by name or company looks no further than the page's visits
    and one more, and gives no total when there is a next page (counting a broad name's
    matches is most of its time); a search by host or date counts, from one index."""
    found = _search_history(session, query, page, count)
    load_keys(store_for(session), found.visits)
    return found


def _search_history(session: Session, query: HistoryQuery, page: int, count: bool) -> HistoryPage:
    if not query.site_ids:
        return HistoryPage([], 1, 1, 0)
    name_only = not (query.company or query.host_id is not None or query.date_from or query.date_to)
    if name_only and _typed_words(query):
        return _search_by_name(session, query, page, count)
    statement = _history_select(session, query)
    if query.company:
        return _search_with_company(session, query, statement, page, count)
    counted = statement.with_only_columns(Visit.id).limit(HISTORY_COUNT_LIMIT + 1)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    more = total > HISTORY_COUNT_LIMIT
    total = min(total, HISTORY_COUNT_LIMIT)
    pages = max(1, -(-total // HISTORY_PAGE_SIZE))
    page = min(max(1, page), pages)
    visits = session.scalars(
        statement.options(joinedload(Visit.host), joinedload(Visit.site))
        .order_by(Visit.checked_in_at.desc(), Visit.id.desc())
        .offset((page - 1) * HISTORY_PAGE_SIZE)
        .limit(min(HISTORY_PAGE_SIZE, total - (page - 1) * HISTORY_PAGE_SIZE))
    ).all()
    return HistoryPage(visits, page, pages, total, more)


#: A search by company reads at most this many of the newest visits that match its other
#: terms: companies are sealed (kiosk.sealing), so they are compared here, not in SQL.
HISTORY_COMPANY_SCAN_LIMIT = 20000


def _company_matches(query: HistoryQuery) -> Callable[[str | None], bool]:
    """Whether a visit's company has the company searched for (ignoring case, accents and
    runs of spaces)."""
    wanted = fold(" ".join(query.company.split()))
    return lambda company: wanted in fold(" ".join((company or "").split()))


def _beyond(last: tuple[datetime, int], *, newest_first: bool) -> ColumnElement[bool]:
    """Visits after ``last`` (check-in time, id) in a read ordered by both: older ones when
    the read goes newest first, newer ones otherwise.

    The time's bound stands alone beside the tie-break, so the index of a site's visits by
    check-in time starts each read where the last one ended. Written only as "later, or as
    late with a greater id", the databases read the index from the period's start at every
    batch and dropped what came before: an export of a site's 100,000 visits read ~5 million
    index entries (PostgreSQL 7.0 s, bench/README.md)."""
    at, visit_id = last
    if newest_first:
        return and_(Visit.checked_in_at <= at, or_(Visit.checked_in_at < at, Visit.id < visit_id))
    return and_(Visit.checked_in_at >= at, or_(Visit.checked_in_at > at, Visit.id > visit_id))


#: Candidates of a search by company fetched at a time.
COMPANY_BATCH = 2000


def _search_with_company(
    session: Session, query: HistoryQuery, statement: Select[Visit], page: int, count: bool
) -> HistoryPage:
    """The company is compared after decryption, among the newest visits matching the rest.

    The candidates' ids are put in order from the index alone; of those chosen only the id,
    check-in time, row key and company are read, COMPANY_BATCH rows at a time, and only the
    company is unsealed; then the page's visits are loaded. Loading every candidate as an
    object with its host and site took ~3 s and 71 MB whatever the company (bench/README.md,
    "Search by company")."""
    matches = _company_matches(query)
    store = store_for(session)
    page = max(1, page)
    count_to = HISTORY_COUNT_LIMIT if count else min(page * HISTORY_PAGE_SIZE, HISTORY_COUNT_LIMIT)
    found: list[int] = []
    newest = (Visit.checked_in_at.desc(), Visit.id.desc())
    newest_ids = statement.with_only_columns(Visit.id).order_by(*newest)
    # The newest COMPANY_BATCH first (a common company fills the count from them, and the
    # database keeps only the top rows of its sort), then the rest of the scan in one more
    # statement, fetched COMPANY_BATCH rows at a time and closed once enough are found.
    last: tuple[datetime, int] | None = None
    first = min(COMPANY_BATCH, HISTORY_COMPANY_SCAN_LIMIT)
    for limit in (first, HISTORY_COMPANY_SCAN_LIMIT - first):
        if limit <= 0:
            break
        chosen = newest_ids
        if last is not None:
            chosen = chosen.where(_beyond(last, newest_first=True))
        # The ids are ordered from the index alone; only the chosen rows are read.
        top = chosen.limit(limit).subquery()
        rows = session.execute(
            select(
                Visit.id,
                Visit.checked_in_at,
                Visit.row_key,
                Visit.company_sealed,
                Visit.legacy_company,
            )
            .join(top, top.c.id == Visit.id)
            .order_by(*newest)
            .execution_options(yield_per=COMPANY_BATCH)
        )
        read = 0
        try:
            for visit_id, checked_in_at, row_key, sealed, legacy in rows:
                read += 1
                last = (checked_in_at, visit_id)
                if matches(Visit.company.unseal_column(store, sealed, row_key, legacy)):
                    found.append(visit_id)
                    if len(found) > count_to:
                        break
        finally:
            rows.close()
        if read < limit or len(found) > count_to:
            break
    paging = _paging(len(found), count_to, page)
    ids = found[(paging.page - 1) * HISTORY_PAGE_SIZE : paging.wanted]
    loaded = {
        visit.id: visit
        for visit in session.scalars(
            select(Visit)
            .options(joinedload(Visit.host), joinedload(Visit.site))
            .where(Visit.id.in_(ids))
        )
    }
    return HistoryPage.paged([loaded[i] for i in ids if i in loaded], paging)


#: Visits read by one statement of an export; the rows of one batch are all an export holds.
EXPORT_BATCH = 1000


class ExportRow(NamedTuple):
    """One visit as the CSV export writes it (times in UTC; the site's zone alongside)."""

    site_name: str
    timezone: str
    visitor_name: str
    company: str | None
    host_name: str | None
    purpose: str | None
    checked_in_at: datetime
    checked_out_at: datetime | None
    short_code: str


def visits_for_export(
    sessionmaker: Callable[[], Session], query: HistoryQuery
) -> Iterator[list[ExportRow]]:
    """Every matching visit, oldest first, in lists of at most EXPORT_BATCH, for a CSV export.

    A year of a busy site is 100,000 visits: loaded at once as objects that was ~3.3 KB a
    visit, ~330 MB for one download (bench/README.md, "The CSV export, streamed"). Here each
    batch is one statement, read as columns from where the last one ended (check-in time,
    then id), in a session of the export's own whose transaction ends before the batch is
    handed on: a download that stalls or is dropped holds no transaction open, and the
    session is closed when the generator is (its ``finally``).
    """
    session = sessionmaker()
    try:
        statement = (
            _history_select(session, query)
            .with_only_columns(
                Visit.id,
                Visit.site_id,
                *name_columns(Visit),
                Visit.purpose_sealed,
                Visit.legacy_purpose,
                Host.name,
                Visit.checked_in_at,
                Visit.checked_out_at,
                Visit.short_code,
            )
            .outerjoin(Host, Host.id == Visit.host_id)
            .order_by(Visit.checked_in_at, Visit.id)
            .limit(EXPORT_BATCH)
        )
        sites = {
            site.id: (site.name, site.timezone)
            for site in session.scalars(select(Site).where(Site.id.in_(query.site_ids)))
        }
        store = store_for(session)
        wanted = _company_matches(query) if query.company else None
        after: tuple[datetime, int] | None = None
        while True:
            batch = statement
            if after is not None:
                batch = batch.where(_beyond(after, newest_first=False))
            rows = session.execute(batch).all()
            session.rollback()  # read only: end the transaction before the caller writes
            if not rows:
                return
            names = unseal_names(Visit, store, rows, 2)
            purposes = Visit.purpose.unseal_many(store, ((r[7], r[2], r[8]) for r in rows))
            found = [
                ExportRow(
                    *sites[row[1]],
                    visitor_name=name,
                    company=company,
                    host_name=row[9],
                    purpose=purpose,
                    checked_in_at=row[10],
                    checked_out_at=row[11],
                    short_code=row[12],
                )
                for row, (name, company), purpose in zip(rows, names, purposes, strict=True)
                if wanted is None or wanted(company)
            ]
            if found:
                yield found
            last = rows[-1]
            after = (last[10], last[0])
            if len(rows) < EXPORT_BATCH:
                return
    finally:
        session.close()


#: A cell a spreadsheet would run as a formula starts with one of these (OWASP's list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Neutralise formula injection: a leading quote makes the cell text, still readable.

    Every CSV the app writes (the visit export, the evacuation list) passes each cell
    through here.
    """
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def visits_csv(batches: Iterable[Iterable[ExportRow]], headers: Sequence[str]) -> Iterator[str]:
    """The visit log as CSV text, a piece per batch of visits (the header first), times in
    each site's zone, safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    yield out.getvalue()
    for batch in batches:
        out.seek(0)
        out.truncate()
        for visit in batch:
            zone = ZoneInfo(visit.timezone)  # cached by zoneinfo: one object a zone
            out_at = (
                visit.checked_out_at.astimezone(zone).isoformat(timespec="minutes")
                if visit.checked_out_at
                else ""
            )
            row = [
                visit.site_name,
                shown_text(visit.visitor_name),
                shown_text(visit.company),
                visit.host_name or "",
                shown_text(visit.purpose),
                visit.checked_in_at.astimezone(zone).isoformat(timespec="minutes"),
                out_at,
                visit.short_code,
            ]
            writer.writerow([spreadsheet_safe(cell) for cell in row])
        yield out.getvalue()


def check_out_at_end_of_day(session: Session, *, now: datetime) -> dict[int, list[Visit]]:
    """Check out visitors still on site once their site's end-of-day time has passed.

    Each visit checked in before today's end-of-day instant (site clock) is checked out at
    that instant, and each site with such visits gets one audit entry (by "system"). Running it
    again changes nothing. Returns {site id: the visits checked out}; the caller commits (and
    tells the sites' webhook subscriptions, kiosk.notifications.events.queue_checked_out).
    """
    done: dict[int, list[Visit]] = {}
    for site in session.scalars(select(Site).where(Site.end_of_day.is_not(None))):
        if site.end_of_day is None:  # narrowed by the query; keeps the type checker informed
            continue
        zone = ZoneInfo(site.timezone)
        cutoff = datetime.combine(site_today(site, now), site.end_of_day, tzinfo=zone)
        if now < cutoff:
            cutoff -= timedelta(days=1)  # today's has not come yet: apply yesterday's
            cutoff = datetime.combine(cutoff.date(), site.end_of_day, tzinfo=zone)
        visits = session.scalars(
            select(Visit).where(
                Visit.site_id == site.id,
                Visit.checked_out_at.is_(None),
                Visit.checked_in_at < cutoff,
            )
        ).all()
        for visit in visits:
            visit.checked_out_at = cutoff.astimezone(now.tzinfo)
        if visits:
            done[site.id] = list(visits)
            record_event(
                session,
                actor="system",
                action="end_of_day_check_out",
                target_type="site",
                target_id=site.id,
                now=now,
            )
    return done
