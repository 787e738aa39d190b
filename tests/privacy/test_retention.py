"""Retention rules and the purge: cutoffs to the second, time zones and daylight saving, contact
fields, invitations, statistics before erasing, batches, idempotence, the run record and the
registry of derived copies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock
from kiosk.models import (
    HostDailyStats,
    Invitation,
    PurgeRun,
    Site,
    SiteDailyStats,
    Visit,
)
from kiosk.privacy.lock import purge_lock
from kiosk.privacy.purge import PurgeSettings, count_expired, run_purge
from kiosk.privacy.rules import cutoffs_for, visit_erased_at
from kiosk.privacy.status import purge_status
from kiosk.sealing import ERASED
from tests.support import named

SECOND = timedelta(seconds=1)


def purge(session: Session, clock: FrozenClock, batch_size: int = 100, **kwargs: Any):
    run = run_purge(
        session,
        clock=clock,
        trigger="cli",
        settings=PurgeSettings(batch_size=batch_size),
        **kwargs,
    )
    assert run is not None
    return run


def remaining(session: Session) -> set[str]:
    session.expire_all()
    return {v.visitor_name for v in session.scalars(select(Visit))}


def test_visit_is_erased_retention_days_after_check_out_to_the_second(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=30, timezone="UTC")
    checked_out = datetime(2026, 3, 4, 17, 30, tzinfo=UTC)
    make_visit(
        site,
        "Out Visitor",
        checked_in_at=checked_out - timedelta(hours=8),
        checked_out_at=checked_out,
    )
    due = checked_out + timedelta(days=30)

    clock.set(due - SECOND)
    assert purge(session, clock).visits_erased == 0
    assert remaining(session) == {"Out Visitor"}

    clock.set(due + SECOND)
    assert purge(session, clock).visits_erased == 1
    assert remaining(session) == set()


def test_a_visit_never_checked_out_counts_from_its_check_in(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=7, timezone="UTC")
    checked_in = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    make_visit(site, "Never Out", checked_in_at=checked_in)
    make_visit(
        site, "Left Late", checked_in_at=checked_in, checked_out_at=checked_in + timedelta(days=2)
    )

    clock.set(checked_in + timedelta(days=7) - SECOND)
    purge(session, clock)
    assert remaining(session) == {"Never Out", "Left Late"}
    clock.set(checked_in + timedelta(days=7) + SECOND)
    purge(session, clock)
    assert remaining(session) == {"Left Late"}
    clock.set(checked_in + timedelta(days=9) + SECOND)
    purge(session, clock)
    assert remaining(session) == set()


def test_each_site_keeps_visits_for_its_own_period(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    short = make_site(retention_days=1, timezone="UTC")
    long = make_site(retention_days=90, timezone="UTC")
    ended = clock.now()
    make_visit(short, "Short Stay", checked_in_at=ended, checked_out_at=ended)
    make_visit(long, "Long Stay", checked_in_at=ended, checked_out_at=ended)

    clock.advance(timedelta(days=2))
    run = purge(session, clock)
    assert remaining(session) == {"Long Stay"}
    by_site = {item.site_id: item for item in run.sites}
    assert (by_site[short.id].visits_erased, by_site[long.id].visits_erased) == (1, 0)
    assert by_site[short.id].visit_cutoff == clock.now() - timedelta(days=1)
    assert by_site[long.id].visit_cutoff == clock.now() - timedelta(days=90)

    clock.advance(timedelta(days=89))
    purge(session, clock)
    assert remaining(session) == set()


@pytest.mark.parametrize(
    ("zone", "checked_out_utc", "due_utc"),
    [
        # Stockholm moves to summer time on 29 March 2026: checked out at 10:00 CET (09:00 UTC)
        # on 20 March, erased from 10:00 CEST (08:00 UTC) on 19 April, 30 calendar days later.
        (
            "Europe/Stockholm",
            datetime(2026, 3, 20, 9, 0, tzinfo=UTC),
            datetime(2026, 4, 19, 8, 0, tzinfo=UTC),
        ),
        # New York moved on 8 March: 12:00 EST (17:00 UTC) -> 12:00 EDT (16:00 UTC).
        (
            "America/New_York",
            datetime(2026, 3, 1, 17, 0, tzinfo=UTC),
            datetime(2026, 3, 31, 16, 0, tzinfo=UTC),
        ),
        # Back to winter time on 25 October: 10:00 CEST (08:00 UTC) -> 10:00 CET (09:00 UTC).
        (
            "Europe/Stockholm",
            datetime(2026, 10, 10, 8, 0, tzinfo=UTC),
            datetime(2026, 11, 9, 9, 0, tzinfo=UTC),
        ),
        # No daylight saving at all: exactly 30 x 24 hours.
        ("UTC", datetime(2026, 3, 20, 9, 0, tzinfo=UTC), datetime(2026, 4, 19, 9, 0, tzinfo=UTC)),
        (
            "Asia/Kolkata",
            datetime(2026, 3, 20, 9, 0, tzinfo=UTC),
            datetime(2026, 4, 19, 9, 0, tzinfo=UTC),
        ),
    ],
)
def test_days_are_calendar_days_on_the_sites_clock_across_daylight_saving(
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    zone: str,
    checked_out_utc: datetime,
    due_utc: datetime,
):
    site = make_site(retention_days=30, timezone=zone)
    checked_out, due = checked_out_utc, due_utc
    visit = make_visit(
        site,
        "Zone Visitor",
        checked_in_at=checked_out - timedelta(hours=1),
        checked_out_at=checked_out,
    )
    assert visit_erased_at(site, visit) == due

    clock.set(due - SECOND)
    purge(session, clock)
    assert remaining(session) == {"Zone Visitor"}
    clock.set(due + SECOND)
    purge(session, clock)
    assert remaining(session) == set()


def test_unused_invitation_counts_from_its_expected_day_on_the_sites_calendar(
    session: Session,
    make_site: Any,
    clock: FrozenClock,
    make_invitation: Any,
):
    site = make_site(retention_days=30, timezone="Europe/Stockholm")
    make_invitation(site, "Expected Guest", expected_on=date(2026, 3, 4))
    # The expected day ends at midnight in Stockholm (23:00 UTC on 3 April, after 30 days).
    end_of_period = datetime(2026, 4, 3, 22, 0, tzinfo=UTC)  # 00:00 CEST on 4 April
    clock.set(end_of_period - SECOND)
    assert purge(session, clock).sites[0].invitations_erased == 0
    assert session.scalar(select(func.count()).select_from(Invitation)) == 1
    clock.set(end_of_period + SECOND)
    run = purge(session, clock)
    assert run.sites[0].invitations_erased == 1
    assert run.sites[0].invitation_cutoff == date(2026, 3, 5)
    assert session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_a_used_invitation_is_erased_with_its_visit(
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    make_invitation: Any,
):
    site = make_site(retention_days=5, timezone="UTC")
    invitation = make_invitation(site, "Invited Guest", expected_on=date(2026, 3, 4))
    visit = make_visit(site, "Invited Guest", checked_out_at=clock.now() + timedelta(hours=2))
    invitation.visit_id = visit.id
    # A later invitation for the same day that nobody used: its own rule (expected day + 5).
    make_invitation(site, "Other Guest", expected_on=date(2026, 3, 8))

    clock.advance(timedelta(days=5, hours=3))
    run = purge(session, clock)
    assert (run.sites[0].visits_erased, run.sites[0].invitations_erased) == (1, 1)
    session.expire_all()
    assert [i.visitor_name for i in session.scalars(select(Invitation))] == ["Other Guest"]


def test_contact_fields_can_be_erased_before_the_visit(
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    make_invitation: Any,
):
    site = make_site(retention_days=30, contact_retention_days=7, timezone="UTC")
    same = make_site(retention_days=30, timezone="UTC")  # default: with the visit
    ended = clock.now()
    visit = make_visit(
        site,
        "Contact Person",
        email="contact@example.com",
        phone="+46 70 111",
        checked_out_at=ended,
    )
    other = make_visit(same, "Kept Contact", email="kept@example.com", checked_out_at=ended)
    invitation = make_invitation(
        site, "Guest", email="guest@example.com", expected_on=date(2026, 3, 4)
    )

    clock.set(ended + timedelta(days=7) - SECOND)
    assert purge(session, clock).sites[0].contacts_erased == 0
    clock.set(ended + timedelta(days=7, hours=17))
    run = purge(session, clock)
    by_site = {item.site_id: item for item in run.sites}
    assert by_site[site.id].contacts_erased == 2  # the visit and the unused invitation
    assert by_site[site.id].visits_erased == 0
    session.expire_all()
    kept = session.get(Visit, visit.id)
    assert kept is not None
    assert (kept.visitor_name, kept.email, kept.phone) == ("Contact Person", None, None)
    assert session.get(Visit, other.id).email == "kept@example.com"
    assert session.get(Invitation, invitation.id).email is None

    clock.set(ended + timedelta(days=30, seconds=1))
    purge(session, clock)
    assert remaining(session) == set()


def test_statistics_are_kept_per_site_and_host_before_the_visits_go(
    session: Session, make_site: Any, make_host: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=1, timezone="Europe/Stockholm")
    host = make_host(site, "Hanna Host")
    # 23:30 UTC on 3 March is 00:30 on 4 March in Stockholm: it counts for the 4th.
    late = datetime(2026, 3, 3, 23, 30, tzinfo=UTC)
    make_visit(
        site, "A", host_id=host.id, checked_in_at=late, checked_out_at=late + timedelta(minutes=30)
    )
    make_visit(
        site,
        "B",
        host_id=host.id,
        checked_in_at=late + timedelta(hours=9),
        checked_out_at=late + timedelta(hours=10, minutes=30),
    )
    make_visit(site, "C", checked_in_at=late + timedelta(hours=10))  # never checked out
    make_visit(
        site,
        "D",
        checked_in_at=late - timedelta(hours=1),
        checked_out_at=late - timedelta(minutes=10),
    )  # 23:30 on the 3rd, local

    clock.set(late + timedelta(days=3))
    assert purge(session, clock).visits_erased == 4
    stats = {row.day: row for row in session.scalars(select(SiteDailyStats))}
    assert set(stats) == {date(2026, 3, 3), date(2026, 3, 4)}
    fourth = stats[date(2026, 3, 4)]
    assert (fourth.visits, fourth.checked_out, fourth.duration_seconds) == (3, 2, 120 * 60)
    assert stats[date(2026, 3, 3)].visits == 1
    host_stats = session.scalars(select(HostDailyStats)).one()
    assert (host_stats.host_id, host_stats.day, host_stats.visits) == (host.id, date(2026, 3, 4), 2)
    assert host_stats.duration_seconds == 120 * 60

    # More visits on the same day, erased later, add to the same rows.
    make_visit(
        site,
        "E",
        checked_in_at=late + timedelta(hours=11),
        checked_out_at=late + timedelta(hours=12),
    )
    clock.advance(timedelta(hours=1))
    purge(session, clock)
    session.expire_all()
    fourth = session.get(SiteDailyStats, (site.id, date(2026, 3, 4)))
    assert (fourth.visits, fourth.checked_out, fourth.duration_seconds) == (4, 3, 180 * 60)


def test_purge_is_idempotent(session: Session, make_site: Any, make_visit: Any, clock: FrozenClock):
    site = make_site(retention_days=1)
    for number in range(7):
        make_visit(site, f"Batch {number}")
    make_visit(site, "Fresh", checked_in_at=clock.now() + timedelta(days=2))
    clock.advance(timedelta(days=2))
    assert purge(session, clock, batch_size=3).visits_erased == 7
    assert remaining(session) == {"Fresh"}
    assert session.get(SiteDailyStats, (site.id, date(2026, 3, 4))).visits == 7

    again = purge(session, clock, batch_size=3)
    assert again.visits_erased == 0
    session.expire_all()
    assert session.get(SiteDailyStats, (site.id, date(2026, 3, 4))).visits == 7


def test_a_run_is_recorded_without_personal_data(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(name="Record Site", retention_days=2, timezone="UTC")
    make_visit(site, "Recorded Visitor")
    started = clock.now() + timedelta(days=3)
    clock.set(started)
    run = purge(session, clock)
    assert (run.status, run.trigger, run.error, run.slot) == ("succeeded", "cli", None, None)
    assert run.started_at == started
    assert run.finished_at == started
    (item,) = run.sites
    assert (item.site_id, item.visits_erased) == (site.id, 1)
    assert item.visit_cutoff == started - timedelta(days=2)
    status = purge_status(session, now=started + timedelta(hours=47), next_run=None)
    assert status.last_success is not None
    assert status.last_success.id == run.id
    assert not status.overdue
    assert purge_status(session, now=started + timedelta(hours=49), next_run=None).overdue


def test_only_the_chosen_sites_are_purged(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    chosen, other = make_site(retention_days=1), make_site(retention_days=1)
    make_visit(chosen, "Chosen")
    make_visit(other, "Other")
    clock.advance(timedelta(days=2))
    run = purge(session, clock, sites=[chosen])
    assert [item.site_id for item in run.sites] == [chosen.id]
    assert remaining(session) == {"Other"}


def test_dry_run_counts_what_the_purge_then_erases(
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    make_invitation: Any,
):
    site = make_site(retention_days=3, contact_retention_days=1, timezone="UTC")
    for number in range(4):
        make_visit(site, f"Old {number}", email="old@example.com")
    make_visit(site, "Middle", phone="+46 1234", checked_in_at=clock.now() + timedelta(days=2))
    make_visit(site, "New", email="new@example.com", checked_in_at=clock.now() + timedelta(days=4))
    invitation = make_invitation(site, "Came", expected_on=date(2026, 3, 4))
    invitation.visit_id = named(session, Visit, "Old 0").id
    session.commit()
    clock.advance(timedelta(days=4, hours=1))
    counts = count_expired(session, [cutoffs_for(site, clock.now())]).site(site.id)
    assert (counts.visits, counts.invitations, counts.contacts) == (4, 1, 1)
    assert remaining(session) == {"Old 0", "Old 1", "Old 2", "Old 3", "Middle", "New"}
    item = purge(session, clock).sites[0]
    assert (item.visits_erased, item.invitations_erased, item.contacts_erased) == (4, 1, 1)


def test_each_batch_is_erased_and_committed_before_the_next_one(
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
):
    from kiosk.privacy import erasure

    seen: list[list[int]] = []
    committed: list[int] = []
    observer = Session(session.get_bind())
    count_statistics = erasure.add_to_daily_stats

    def watch(db_session: Session, rows: Sequence[Any], zones: Any) -> None:
        # Counted before the visits go, in the same transaction: they are still there.
        visit_ids = [row.id for row in rows]
        assert db_session.scalar(select(func.count()).where(Visit.id.in_(visit_ids))) == len(
            visit_ids
        )
        seen.append(visit_ids)
        # What another connection sees: every earlier batch is committed already.
        committed.append(observer.scalar(select(func.count()).select_from(Visit)) or 0)
        observer.rollback()
        count_statistics(db_session, rows, zones)

    monkeypatch.setattr(erasure, "add_to_daily_stats", watch)
    site = make_site(retention_days=1)
    ids = [make_visit(site, f"Copy {n}").id for n in range(5)]
    clock.advance(timedelta(days=2))
    purge(session, clock, batch_size=2)
    observer.close()
    assert seen == [ids[0:2], ids[2:4], ids[4:5]]
    assert committed == [5, 3, 1]


def test_a_failing_batch_erases_nothing_and_the_run_is_marked_failed(
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
):
    class PrinterSpoolGone(Exception):
        pass

    from kiosk.privacy import erasure

    count_statistics = erasure.add_to_daily_stats

    def failing(db_session: Session, rows: Sequence[Any], zones: Any) -> None:
        if len(seen) == 1:
            raise PrinterSpoolGone("Secret Visitor's badge")
        seen.append(rows)
        count_statistics(db_session, rows, zones)

    seen: list[Sequence[Any]] = []
    monkeypatch.setattr(erasure, "add_to_daily_stats", failing)
    site = make_site(retention_days=1)
    for number in range(4):
        make_visit(site, f"Secret Visitor {number}")
    clock.advance(timedelta(days=2))
    with pytest.raises(PrinterSpoolGone):
        run_purge(session, clock=clock, trigger="cli", settings=PurgeSettings(batch_size=2))
    run = session.scalars(select(PurgeRun)).one()
    assert (run.status, run.error) == ("failed", "PrinterSpoolGone")
    assert run.sites[0].visits_erased == 2  # the first batch was committed and recorded
    # The rows of the failed batch are still there, but their keys went first (docs/erasure.md,
    # "The purge"): already unreadable, past their date; the next run deletes them.
    assert session.scalar(select(func.count()).select_from(Visit)) == 2
    assert remaining(session) == {ERASED}
    status = purge_status(session, now=clock.now(), next_run=None)
    assert status.last_run.id == run.id
    assert status.last_success is None
    assert status.overdue


def test_a_second_purge_does_nothing_while_one_holds_the_lock(
    session: Session, make_site: Any, make_visit: Any, clock: FrozenClock
):
    site = make_site(retention_days=1)
    make_visit(site, "Locked Visitor")
    clock.advance(timedelta(days=2))
    with purge_lock(session.get_bind()) as taken:
        assert taken
        with purge_lock(session.get_bind()) as again:
            assert not again
        assert run_purge(session, clock=clock, trigger="cli", settings=PurgeSettings()) is None
    assert remaining(session) == {"Locked Visitor"}
    assert session.scalar(select(func.count()).select_from(PurgeRun)) == 0
    purge(session, clock)
    assert remaining(session) == set()


def test_a_scheduled_slot_runs_once(session: Session, make_site: Any, clock: FrozenClock):
    make_site()
    settings = PurgeSettings()
    first = run_purge(session, clock=clock, trigger="schedule", settings=settings, slot="daily:x")
    assert first is not None
    assert (
        run_purge(session, clock=clock, trigger="schedule", settings=settings, slot="daily:x")
        is None
    )
    assert session.scalar(select(func.count()).select_from(PurgeRun)) == 1


def test_site_contact_days_never_exceed_the_visit(make_site: Any):
    assert make_site(retention_days=30).contact_days == 30
    assert make_site(retention_days=30, contact_retention_days=7).contact_days == 7
    assert make_site(retention_days=10, contact_retention_days=60).contact_days == 10


def test_contact_retention_must_be_a_sensible_number(session: Session, make_site: Any):
    from sqlalchemy.exc import IntegrityError

    site: Site = make_site()
    site.contact_retention_days = 0
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_an_unused_invitation_of_a_type_kept_less_goes_as_its_visit_would(
    session: Session,
    make_site: Any,
    clock: FrozenClock,
    make_invitation: Any,
):
    """Reception said the kind of visit: an expected delivery that never came is kept the
    delivery type's 7 days after its expected day, not the site's 30; its sealing key is that
    day's, and the dashboard says that day. Another invitation of the same day waits 30."""
    from kiosk.models import VisitorType, invitation_erase_days
    from kiosk.privacy.rules import invitation_erased_at

    site = make_site(retention_days=30, timezone="UTC")
    delivery = VisitorType(
        site_id=site.id, key="delivery", position=0, retention_days=7, created_at=clock.now()
    )
    session.add(delivery)
    session.commit()
    expected = date(2026, 3, 4)
    typed = make_invitation(site, "Dora Delivery", expected_on=expected)
    typed.visitor_type_id = delivery.id
    session.commit()
    make_invitation(site, "Una Untyped", expected_on=expected)
    session.expire_all()
    assert invitation_erase_days(session, typed)["invitation"] == (site.id, date(2026, 3, 11))
    end_of_period = datetime(2026, 3, 12, 0, 0, tzinfo=UTC)
    assert invitation_erased_at(site, typed) == end_of_period
    clock.set(end_of_period - SECOND)
    assert purge(session, clock).sites[0].invitations_erased == 0
    clock.set(end_of_period + SECOND)
    assert purge(session, clock).sites[0].invitations_erased == 1
    session.expire_all()
    assert [i.visitor_name for i in session.scalars(select(Invitation))] == ["Una Untyped"]
