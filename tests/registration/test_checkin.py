"""The check-in use case without HTTP: kiosk.checkin.check_in owns the whole transaction."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.checkin import check_in
from kiosk.clock import FrozenClock
from kiosk.db import get_database
from kiosk.enums import WebhookEvent, WebhookFormat
from kiosk.models import Notification, PrintJob, SessionItem, Site, Visit
from kiosk.notifications.outbox import NotifySettings
from kiosk.services import visits
from kiosk.services.notices import record_generated_notice
from kiosk.services.visits import VisitError, VisitorDetails
from kiosk.services.webhooks import SubscriptionSettings, create_subscription
from tests.support import indexes_name

NO_EMAIL = NotifySettings(email_enabled=False, queue_limit=100, max_attempts=3, retry_seconds=1)
EMAIL = NotifySettings(email_enabled=True, queue_limit=100, max_attempts=3, retry_seconds=1)


def count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def site(make_site: Any) -> Site:
    return make_site()


@pytest.fixture
def notice(session: Session, site: Site, clock: FrozenClock) -> Any:
    shown = record_generated_notice(session, site, "en", "The first layer.", now=clock.now())
    session.commit()
    return shown


def run(app: Flask, session: Session, site: Site, notice: Any, clock: FrozenClock, **kw: Any):
    details = kw.pop("details", None) or VisitorDetails(name="Åsa Öster", company=None)
    with app.app_context():
        return check_in(
            session,
            site,
            details,
            locale="en",
            notice=notice,
            invitation=None,
            device=None,
            notify=kw.pop("notify", NO_EMAIL),
            now=clock.now(),
            **kw,
        )


def test_a_check_in_commits_the_visit_its_words_and_its_print_record(
    app: Flask, session: Session, site: Site, notice: Any, clock: FrozenClock
):
    done = run(app, session, site, notice, clock)
    session.expire_all()
    visit = session.get(Visit, done.visit.id)
    assert visit is not None
    assert visit.notice_version_id == notice.id
    assert indexes_name(session, visit, "Åsa Öster")
    # Browser printing: the print record is in the same commit; nothing is left for after it.
    assert done.print_after_commit is False
    assert [job.visit_id for job in session.scalars(select(PrintJob))] == [visit.id]
    # No email server and no webhook: nobody is told, so there is no sender to wake.
    assert done.messages_queued is False
    assert count(session, Notification) == 0


def test_the_hosts_message_is_queued_with_the_visit(
    app: Flask, session: Session, site: Site, notice: Any, make_host: Any, clock: FrozenClock
):
    host = make_host(site, email="hanna@example.com")
    details = VisitorDetails(name="Åsa Öster", company="Acme", host_id=host.id)
    done = run(app, session, site, notice, clock, details=details, notify=EMAIL)
    assert done.messages_queued is True
    queued = session.scalars(select(Notification)).all()
    assert [(row.visit_id, row.kind) for row in queued] == [(done.visit.id, "host_email")]


def test_a_visit_that_cannot_be_saved_leaves_nothing(
    app: Flask, session: Session, site: Site, notice: Any, make_host: Any, clock: FrozenClock
):
    host = make_host(site, active=False)
    # Something the caller changed in the same transaction goes back with the visit.
    session.add(SessionItem(token="t" * 32, name="pending_visit", value={}, updated_at=clock.now()))
    details = VisitorDetails(name="Åsa Öster", company=None, host_id=host.id)
    with pytest.raises(VisitError) as refused:
        run(app, session, site, notice, clock, details=details)
    assert refused.value.code == "unknown_host"
    assert count(session, Visit) == 0
    assert count(session, SessionItem) == 0
    assert count(session, PrintJob) == 0


def test_the_callers_last_change_commits_together_with_the_visit(
    app: Flask, session: Session, site: Site, notice: Any, clock: FrozenClock
):
    seen_from_outside: list[int] = []

    def erase_details() -> None:
        # Before the commit: another connection cannot see the visit yet.
        with get_database(app).sessionmaker() as other:
            seen_from_outside.append(count(other, Visit))

    done = run(app, session, site, notice, clock, in_same_transaction=erase_details)
    assert seen_from_outside == [0]
    with get_database(app).sessionmaker() as other:
        assert other.get(Visit, done.visit.id) is not None


def test_a_short_code_clash_draws_another_code_and_keeps_the_transaction(
    app: Flask,
    session: Session,
    site: Site,
    notice: Any,
    make_visit: Any,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
):
    # No query looks for a free code: the unique constraint refuses the kept visit's code
    # twice, in a savepoint, and the third code goes in with the rest of the transaction.
    kept = make_visit(site, short_code="AAAAAA")
    codes = iter(["AAAAAA", "AAAAAA", "CCCCCC"])
    monkeypatch.setattr(visits, "new_short_code", lambda _now: next(codes))
    # Written earlier in the same transaction (the kiosk's pending details): it must survive
    # the refused INSERTs and commit with the visit.
    session.add(SessionItem(token="t" * 32, name="pending_visit", value={}, updated_at=clock.now()))
    session.flush()
    done = run(app, session, site, notice, clock)
    session.expire_all()
    visit = session.get(Visit, done.visit.id)
    assert visit is not None
    assert visit.id != kept.id
    assert visit.short_code == "CCCCCC"
    assert indexes_name(session, visit, "Åsa Öster")
    assert [job.visit_id for job in session.scalars(select(PrintJob))] == [visit.id]
    assert count(session, SessionItem) == 1
    codes_at_site = session.scalars(select(Visit.short_code).where(Visit.site_id == site.id))
    assert sorted(codes_at_site) == ["AAAAAA", "CCCCCC"]


def test_a_site_with_a_check_in_webhook_queues_its_call_with_the_visit(
    app: Flask, session: Session, site: Site, notice: Any, make_site: Any, clock: FrozenClock
):
    settings = SubscriptionSettings(
        name="Security desk",
        url="https://example.com/hook",
        format=WebhookFormat.STANDARD,
        events=[WebhookEvent.VISIT_CHECKED_OUT],
        personal=False,
    )
    # A subscription that did not ask for check-ins, and one of another site: nobody is told.
    create_subscription(session, site, settings, now=clock.now())
    create_subscription(
        session,
        make_site(),
        replace(settings, events=[WebhookEvent.VISIT_CHECKED_IN]),
        now=clock.now(),
    )
    session.commit()
    first = run(app, session, site, notice, clock)
    assert first.messages_queued is False
    assert count(session, Notification) == 0
    create_subscription(
        session, site, replace(settings, events=[WebhookEvent.VISIT_CHECKED_IN]), now=clock.now()
    )
    session.commit()
    second = run(app, session, site, notice, clock, details=VisitorDetails(name="Bo Ek"))
    assert second.messages_queued is True
    queued = session.scalars(select(Notification)).all()
    assert [(row.visit_id, row.kind) for row in queued] == [(second.visit.id, "event_webhook")]
