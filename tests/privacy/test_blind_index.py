"""The blind index of names (issue 18, docs/erasure.md "Search: a blind index"): the history
search, the "already here?" match and the data-subject search find visits through keyed
tokens of name prefixes, never a word in plain; the tokens follow the key that seals the name
(check-out on a later day, a rectified name) and die with it, so a copy of the database taken
before the purge cannot confirm a guessed name with the keys that remain."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from kiosk import blind_index
from kiosk.blind_index import MAX_PREFIX, search_keys, tokens_under, visit_key
from kiosk.clock import FrozenClock
from kiosk.field_cipher import token_day
from kiosk.models import NameTokenDay, Visit, VisitNameToken, VisitorType
from kiosk.privacy.purge import PurgeSettings, run_purge
from kiosk.privacy.requests import erase_person, find_person
from kiosk.sealing import store_for
from kiosk.services import daily
from kiosk.services.daily import HistoryQuery, search_history
from kiosk.services.visits import check_out_visit, on_site_visit_of
from tests.support import bounds_cover_the_index, indexes_name


def found(session: Session, site_id: int, name: str) -> list[str]:
    page = search_history(session, HistoryQuery(site_ids=(site_id,), name=name))
    return [visit.visitor_name for visit in page.visits]


def tokens_of(session: Session, visit_id: int) -> set[bytes]:
    return set(
        session.scalars(select(VisitNameToken.token).where(VisitNameToken.visit_id == visit_id))
    )


def test_every_search_by_name_goes_through_the_tokens(
    session: Session, make_site: Any, make_visit: Any
):
    site = make_site()
    other = make_site()
    make_visit(site, "Åsa Öberg-Lindqvistsson")
    make_visit(site, "Bo Berg")
    make_visit(other, "Åsa Öberg")
    assert found(session, site.id, "öb") == ["Åsa Öberg-Lindqvistsson"]
    assert found(session, site.id, "LIND ASA") == ["Åsa Öberg-Lindqvistsson"]
    assert found(session, site.id, "berg") == ["Bo Berg"]  # a prefix of a word, not inside one
    assert found(session, site.id, "b") == ["Bo Berg"]
    # A typed word longer than the index keeps is matched on its first MAX_PREFIX characters.
    assert len("lindqvistsson") > MAX_PREFIX
    assert found(session, site.id, "lindqvistsson") == ["Åsa Öberg-Lindqvistsson"]
    assert found(session, site.id, "zed") == []
    # The tokens are made under the searched sites' keys only: the other site's Åsa Öberg,
    # whose words are the same, is never among the matches, by name alone or with a date.
    assert found(session, other.id, "öb åsa") == ["Åsa Öberg"]
    since = search_history(
        session, HistoryQuery(site_ids=(site.id,), name="åsa öb", date_from=date(2000, 1, 1))
    )
    assert [visit.visitor_name for visit in since.visits] == ["Åsa Öberg-Lindqvistsson"]
    assert on_site_visit_of(session, site, "asa oberg-LINDQVISTSSON", None) is not None
    assert on_site_visit_of(session, site, "Åsa", None) is None  # the whole name must match
    person = find_person(session, [site.id], name="Öberg Åsa")
    assert [visit.visitor_name for visit in person.visits] == ["Åsa Öberg-Lindqvistsson"]


def test_the_tokens_follow_the_names_key_and_a_rectified_name(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=30, timezone="UTC")
    visit = make_visit(site, "Tove Token")
    before = tokens_of(session, visit.id)
    # Checked out two days later: sealed again under a later day's key, and so the tokens.
    clock.advance(timedelta(days=2))
    check_out_visit(visit, now=clock.now())
    session.commit()
    after = tokens_of(session, visit.id)
    assert after
    assert not after & before
    # Each token starts with its key's erase day, so a day's tokens lie together in the token
    # index (the purge deletes them as one stretch).
    key = visit_key(session, visit)
    assert key is not None
    assert {token[:2] for token in after} == {token_day(key.erase_day)}
    assert {token[:2] for token in before} == {token_day(key.erase_day - timedelta(days=2))}
    assert indexes_name(session, visit, "Tove Token")
    assert found(session, site.id, "tov") == ["Tove Token"]
    visit.visitor_name = "Tove Tokenson"
    session.commit()
    assert indexes_name(session, visit, "Tove Tokenson")
    assert found(session, site.id, "tokens") == ["Tove Tokenson"]


def test_an_old_copys_tokens_match_nothing_the_remaining_keys_make(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=2, timezone="UTC")
    gone_id = make_visit(site, "Greta Gone", checked_out_at=clock.now()).id
    copy = tokens_of(session, gone_id)  # what a backup taken now holds
    clock.advance(timedelta(days=4))
    make_visit(site, "Greta Stays")
    run = run_purge(session, clock=clock, trigger="cli", settings=PurgeSettings(batch_size=50))
    assert run is not None
    assert run.destroyed_keys
    assert session.scalars(select(Visit.id).where(Visit.id == gone_id)).first() is None
    assert found(session, site.id, "greta") == ["Greta Stays"]
    # Every prefix of the erased name, under every key that is left: none is in the copy.
    keys = search_keys(session, [site.id])
    for prefix in ("g", "gr", "gre", "greta", "gone", "go"):
        assert not set(tokens_under(keys, prefix)) & copy, prefix


@pytest.mark.parametrize("parameters", [2, daily.SQLITE_PARAMETERS])
def test_a_search_of_several_words_across_days_keys_and_sites(
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    parameters: int,
):
    """The other words are checked under each visit's own key (the row of the first word
    that matched says which): the same visits, newest first, from visits sealed under
    different days' keys at two sites. On SQLite, with room for one key's tokens a
    statement, the keys are read in slices and merged, with the same result."""
    monkeypatch.setattr(daily, "SQLITE_PARAMETERS", parameters)
    site = make_site(retention_days=30, timezone="UTC")
    other = make_site(retention_days=30, timezone="UTC")
    names = []
    for day, name in enumerate(["Anna Lundgren", "Lundgren Annika", "Anna Lund", "Bo Lundgren"]):
        clock.advance(timedelta(days=day))  # a later erase day: another key
        names.append(make_visit(site, name).visitor_name)
        make_visit(other, name)
    assert found(session, site.id, "lundgr ann") == ["Lundgren Annika", "Anna Lundgren"]
    assert found(session, site.id, "ANNA lund") == ["Anna Lund", "Anna Lundgren"]
    assert found(session, site.id, "lund ann") == ["Anna Lund", "Lundgren Annika", "Anna Lundgren"]
    assert found(session, site.id, "lundgren bo") == ["Bo Lundgren"]
    assert found(session, site.id, "ann lund lundg") == ["Lundgren Annika", "Anna Lundgren"]
    assert found(session, site.id, "lundgren berit") == []
    both = search_history(session, HistoryQuery(site_ids=(site.id, other.id), name="bo lundg"))
    assert [visit.site_id for visit in both.visits] == [other.id, site.id]
    # Two visitors at the same moment, under the same key: each word is looked for in the
    # same visit's name, not in a neighbour's.
    make_visit(site, "Anna Berg")
    make_visit(site, "Bo Lund")
    assert found(session, site.id, "anna lund") == ["Anna Lund", "Anna Lundgren"]
    assert found(session, site.id, "bo berg") == []


def test_a_new_workers_first_search_reads_its_keys_together(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """A worker's first search makes tokens under every live key, and the page shows names
    sealed under many of them: each key read on a connection of its own took 2.1 s for ten
    sites keeping 400 days. Read together, a search with keys of six days and two sites
    opens the key store a few times whatever the number of keys."""
    site = make_site(retention_days=30, timezone="UTC")
    other = make_site(retention_days=30, timezone="UTC")
    for _day in range(6):
        clock.advance(timedelta(days=1))  # a later erase day: another key
        make_visit(site, "Anna Lundgren")
        make_visit(other, "Anna Lund")
    store = store_for(session)
    assert len(store.live_key_ids(site.id, other.id)) == 12
    blind_index._index_keys_by_id.clear()  # as in a new worker
    store.forget_cache()
    connections: list[object] = []
    listen = lambda *args: connections.append(args[0])  # noqa: E731
    event.listen(store.engine, "checkout", listen)
    try:
        page = search_history(session, HistoryQuery(site_ids=(site.id, other.id), name="lund"))
        assert sorted({visit.visitor_name for visit in page.visits}) == [
            "Anna Lund",
            "Anna Lundgren",
        ]
    finally:
        event.remove(store.engine, "checkout", listen)
    assert len(page.visits) == 12
    # The live ids, the keys, the page's keys (already read): not one a key.
    assert len(connections) <= 3


def index_rows_without_visit(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(VisitNameToken.visit_id).where(VisitNameToken.visit_id.not_in(select(Visit.id)))
        )
    )


def purge_now(app: Flask, session: Session, clock: FrozenClock, sites: Any = None) -> Any:
    """The purge as ``kiosk purge`` runs it: in the app (its key store, its webhook outbox)."""
    with app.app_context():
        run = run_purge(
            session, clock=clock, trigger="cli", settings=PurgeSettings(batch_size=2), sites=sites
        )
    assert run is not None
    return run


def test_no_index_row_outlives_its_visit_or_its_old_key(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """The index has no foreign key to the visit (one B-tree, token first): each way a visit
    goes, or its name is sealed again, takes its index rows along. Under a destroyed key by
    the purge's stretch of passed days (sites in two time zones, so two passes); under a
    live key (a visit erased by request, or purged on its erase day, before the day's key
    goes) made again from the name; the old key's rows at a check-out or a rectified name."""
    site = make_site(retention_days=2, timezone="UTC")
    west = make_site(retention_days=2, timezone="America/Los_Angeles")
    for number in range(3):  # more rows than a batch (batch_size 2 x 8 tokens)
        make_visit(site, f"Greta Gone{number}", checked_out_at=clock.now())
        make_visit(west, f"Wanda West{number}", checked_out_at=clock.now())
    clock.advance(timedelta(days=4))
    purge_now(app, session, clock)
    assert index_rows_without_visit(session) == []
    assert session.scalar(select(func.count()).select_from(VisitNameToken)) == 0

    today = make_visit(site, "Tilda Today", checked_out_at=clock.now())
    asked = make_visit(site, "Erik Erased")
    kept = make_visit(site, "Kim Kept")
    erase_person(session, [asked], [], now=clock.now())
    session.commit()
    assert index_rows_without_visit(session) == []
    clock.advance(timedelta(days=1))
    check_out_visit(kept, now=clock.now())
    kept.visitor_name = "Kim Kepler"
    session.commit()
    clock.advance(timedelta(days=1, minutes=1))
    # Tilda's retention ended a minute ago; her key is today's and lives until the day ends.
    key = visit_key(session, today)
    assert key is not None
    assert key.erase_day == clock.now().date()
    today_id = today.id
    purge_now(app, session, clock)
    session.expire_all()
    assert session.get(Visit, today_id) is None
    assert index_rows_without_visit(session) == []
    assert indexes_name(session, kept, "Kim Kepler")
    assert found(session, site.id, "k") == ["Kim Kepler"]


def test_the_passed_days_index_rows_go_in_batches_on_sqlite_and_at_once_on_postgresql(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """SQLite: a stretch of the index a transaction (its one write lock, left to check-ins
    between them). PostgreSQL locks rows, none of them a check-in's: one statement, without
    reading the rows first to find where a batch ends (a third of the phase), and no second
    pass of the site's own over the same days."""
    site = make_site(retention_days=2, timezone="UTC")
    for number in range(4):  # several batches' worth (batch_size 2 x 32 tokens)
        make_visit(
            site, f"Bartholomew Longername{number} Fitzgeraldson", checked_out_at=clock.now()
        )
    clock.advance(timedelta(days=4))
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "visit_name_tokens" in statement and "name_token_days" not in statement:
            statements.append(statement.split()[0])

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        purge_now(app, session, clock)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert session.scalar(select(func.count()).select_from(VisitNameToken)) == 0
    deletes = statements.count("DELETE")
    if engine.dialect.name == "sqlite":
        assert deletes > 2
    else:
        assert statements == ["DELETE"]


def test_a_purge_of_some_sites_leaves_the_others_index(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=2, timezone="UTC")
    other = make_site(retention_days=2, timezone="UTC")
    make_visit(site, "Greta Gone", checked_out_at=clock.now())
    waiting = make_visit(other, "Greta Waiting", checked_out_at=clock.now())
    clock.advance(timedelta(days=4))
    purge_now(app, session, clock, sites=[site])
    assert index_rows_without_visit(session) == []
    assert indexes_name(session, waiting, "Greta Waiting")
    assert found(session, other.id, "gre") == ["Greta Waiting"]


def test_each_key_s_bound_covers_its_visits_on_every_path(
    app: Flask, session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    """Check-in, check-out on a later day (a new key), a rectified name, a check-in inside a
    savepoint that is rolled back, and the purge: each leaves every index row under a bound
    no earlier than its check-in. A rolled-back bound is written again by the next check-in
    of the hour (this process must not take it for written)."""
    site = make_site(retention_days=30, timezone="UTC")
    clock.set(datetime(2026, 3, 2, 10, 10, tzinfo=UTC))
    first = make_visit(site, "Bo Bound")
    assert bounds_cover_the_index(session)
    clock.advance(timedelta(hours=1))  # 11:10
    savepoint = session.begin_nested()
    session.add(
        Visit(
            site_id=site.id,
            visitor_name="Rolled Back",
            badge_token="rolled-back",
            short_code="RB1",
            locale="en",
            checked_in_at=clock.now(),
        )
    )
    session.flush()
    savepoint.rollback()
    session.commit()
    clock.advance(timedelta(minutes=10))  # 11:20, the same hour as the rolled-back one
    make_visit(site, "Bo Later")
    assert bounds_cover_the_index(session)
    clock.advance(timedelta(days=1))
    check_out_visit(first, now=clock.now())
    first.visitor_name = "Bo Boundsson"
    session.commit()
    assert bounds_cover_the_index(session)
    assert found(session, site.id, "bo") == ["Bo Later", "Bo Boundsson"]
    # The purge forgets the bounds of the days whose keys it destroyed.
    clock.advance(timedelta(days=40))
    purge_now(app, session, clock)
    assert session.scalars(select(NameTokenDay)).all() == []


def keys_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many keys each read of the history search's index looks under, as it reads."""
    reads: list[int] = []
    real = daily._NewestMatches._read

    def counted(self: Any, start: int, end: int, limit: int) -> Any:
        reads.append(len(self.keys[start:end]))
        return real(self, start, end, limit)

    monkeypatch.setattr(daily._NewestMatches, "_read", counted)
    return reads


def test_a_broad_search_stops_once_no_key_left_can_hold_a_newer_visit(
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
):
    """A key's erase day is not its visits' check-in order: a visitor type kept 2 days puts
    today's visits under keys that go long before those of guests kept 30 days. The search
    reads keys by their recorded bound, so it finds the same newest visits as reading every
    key, while reading fewer of them; with no bounds recorded (a key it knows nothing of) it
    reads them first and finds the same."""
    monkeypatch.setattr(daily, "HISTORY_COUNT_LIMIT", 3)
    monkeypatch.setattr(daily, "HISTORY_PAGE_SIZE", 2)
    monkeypatch.setattr(daily, "FIRST_KEYS", 1)
    site = make_site(retention_days=30, timezone="UTC")
    delivery = VisitorType(
        site_id=site.id, key="delivery", position=1, retention_days=2, created_at=clock.now()
    )
    session.add(delivery)
    session.commit()
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    for day in range(8):
        make_visit(site, f"Berg Guest{day}")
        clock.advance(timedelta(minutes=5))
        make_visit(site, f"Berg Delivery{day}", visitor_type_id=delivery.id)
        make_visit(site, f"Lind Delivery{day}", visitor_type_id=delivery.id)
        clock.advance(timedelta(days=1))
    everyone = session.scalars(select(Visit).order_by(Visit.checked_in_at.desc(), Visit.id.desc()))
    newest = [visit.visitor_name for visit in everyone if visit.visitor_name.startswith("Berg")]
    reads = keys_read(monkeypatch)

    def search(name: str, page: int = 1) -> tuple[list[str], int, bool]:
        result = search_history(session, HistoryQuery(site_ids=(site.id,), name=name), page=page)
        return [visit.visitor_name for visit in result.visits], result.total, result.more

    live_keys = len(search_keys(session, [site.id]))
    assert search("berg") == (newest[:2], 3, True)
    assert 0 < sum(reads) < live_keys  # it stopped early
    assert search("berg", page=2) == (newest[2:3], 3, True)
    assert search("del berg") == ([n for n in newest if "Delivery" in n][:2], 3, True)
    assert search("guest4 berg") == (["Berg Guest4"], 1, False)  # read to the end: one match
    session.execute(delete(NameTokenDay))
    reads.clear()
    assert search("berg") == (newest[:2], 3, True)
    assert sum(reads) == live_keys


def test_a_search_from_a_date_looks_only_under_keys_that_can_hold_visits_since(
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
):
    """A key whose bound is before the first day asked for (at its site) holds only earlier
    visits: its tokens are not made. A visit checked in at the very start of that day, under
    a bound exactly that instant, is still found; so are keys with no bound."""
    site = make_site(retention_days=30, timezone="Europe/Stockholm")
    for day in (2, 3, 4, 6, 7):  # March; the 5th's key holds the midnight visit alone
        clock.set(datetime(2026, 3, day, 9, tzinfo=UTC))
        make_visit(site, f"Berg Day{day}")
    # 00:00 on 5 March in Stockholm is 23:00 UTC the day before.
    start = datetime(2026, 3, 4, 23, tzinfo=UTC)
    midnight = make_visit(site, "Berg Midnight", checked_in_at=start)
    key = visit_key(session, midnight)
    assert key is not None
    bound = session.get(NameTokenDay, (site.id, token_day(key.erase_day)))
    assert bound is not None
    bound.checked_in_until = start
    session.commit()
    looked_under: list[int] = []
    real = daily.tokens_under

    def counted(keys: Any, prefix: str) -> Any:
        looked_under.append(len(keys))
        return real(keys, prefix)

    monkeypatch.setattr(daily, "tokens_under", counted)
    query = HistoryQuery(site_ids=(site.id,), name="berg", date_from=date(2026, 3, 5))
    names = [visit.visitor_name for visit in search_history(session, query).visits]
    assert names == ["Berg Day7", "Berg Day6", "Berg Midnight"]
    live = len(search_keys(session, [site.id]))
    assert looked_under == [3]  # the keys of 5, 6 and 7 March's check-ins
    assert live == 6
    session.execute(delete(NameTokenDay))
    looked_under.clear()
    assert [visit.visitor_name for visit in search_history(session, query).visits] == names
    assert looked_under == [live]


def test_without_the_count_a_search_looks_no_further_than_its_page(
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
):
    """Counting a name's matches reads under every key that can hold one (a visit a day is a
    key a day here); the page without its count stops once it has its visits and one more:
    the same visits, under fewer keys, no total while a next page follows, and a count once
    the page asked for holds the last of them."""
    monkeypatch.setattr(daily, "HISTORY_PAGE_SIZE", 2)
    monkeypatch.setattr(daily, "FIRST_KEYS", 1)
    site = make_site(retention_days=30, timezone="UTC")
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    for day in range(8):
        make_visit(site, f"Berg Day{day}")
        clock.advance(timedelta(days=1))
    newest = [f"Berg Day{day}" for day in reversed(range(8))]
    live_keys = len(search_keys(session, [site.id]))
    assert live_keys == 8
    reads = keys_read(monkeypatch)

    def search(page: int, count: bool) -> tuple[list[str], int | None, int]:
        reads.clear()
        query = HistoryQuery(site_ids=(site.id,), name="berg")
        result = search_history(session, query, page=page, count=count)
        return [visit.visitor_name for visit in result.visits], result.total, result.pages

    assert search(1, count=True) == (newest[:2], 8, 4)
    assert sum(reads) == live_keys
    assert search(1, count=False) == (newest[:2], None, 2)
    assert sum(reads) < live_keys
    assert search(2, count=False) == (newest[2:4], None, 3)
    assert sum(reads) < live_keys
    assert search(3, count=False) == (newest[4:6], None, 4)
    # The last page: no visit after it, so what was found is all there is.
    assert search(4, count=False) == (newest[6:], 8, 4)
    # Beyond the last page: the last.
    assert search(9, count=False) == (newest[6:], 8, 4)
