"""Domain model invariants, enforced by the database and the ORM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiosk.models import NoticeVersion, PublishedNoticeChanged, StaffUser, Visit
from kiosk.services.notices import NoticeError, check_notice_text, publish_notice
from kiosk.services.visits import (
    SHORT_CODE_ALPHABET,
    VisitError,
    VisitorDetails,
    new_badge_token,
    register_visit,
)


def test_badge_tokens_are_long_random_and_distinct(clock: Any):
    tokens = {new_badge_token(clock.now()) for _ in range(2000)}
    assert len(tokens) == 2000
    # The 5-digit day, then token_urlsafe(18): 24 characters of base64 = 144 bits.
    assert all(len(token) == 5 + 24 for token in tokens)


def test_register_visit_records_everything(
    session: Session, make_site: Any, shown_notice: Any, clock: Any
):
    site = make_site()
    notice_id = shown_notice(site)
    visit = register_visit(
        session,
        site,
        VisitorDetails(name="  Ada  ", company=""),
        locale="en",
        notice_id=notice_id,
        now=clock.now(),
    )
    session.commit()
    assert visit.notice_version_id == notice_id
    assert visit.visitor_name == "Ada"
    assert visit.company is None
    assert set(visit.short_code) <= set(SHORT_CODE_ALPHABET)
    assert "Ada" not in visit.badge_token


def test_register_visit_refuses_host_of_another_site(
    session: Session, make_site: Any, make_host: Any, shown_notice: Any, clock: Any
):
    here, there = make_site(), make_site()
    host = make_host(there)
    notice_id = shown_notice(here)
    with pytest.raises(VisitError, match="unknown_host"):
        register_visit(
            session,
            here,
            VisitorDetails(name="X", host_id=host.id),
            locale="en",
            notice_id=notice_id,
            now=clock.now(),
        )


def test_badge_token_is_unique(session: Session, make_site: Any, make_visit: Any):
    site = make_site()
    first = make_visit(site)
    with pytest.raises(IntegrityError):
        make_visit(site, badge_token=first.badge_token)


def test_short_code_is_unique_per_site_only(session: Session, make_site: Any, make_visit: Any):
    one, two = make_site(), make_site()
    make_visit(one, short_code="ABC234")
    make_visit(two, short_code="ABC234")
    with pytest.raises(IntegrityError):
        make_visit(one, short_code="ABC234")


def test_foreign_keys_are_enforced(session: Session, make_site: Any, make_visit: Any):
    make_site()
    with pytest.raises(IntegrityError):
        make_visit(type("Fake", (), {"id": 9999})())


def test_unknown_role_is_refused(session: Session, clock: Any):
    session.add(StaffUser(username="x", password_hash="h", role="root", created_at=clock.now()))
    with pytest.raises(IntegrityError):
        session.commit()


def test_retention_days_must_be_positive(make_site: Any):
    with pytest.raises(IntegrityError):
        make_site(retention_days=0)


def test_times_come_back_as_aware_utc(session: Session, make_site: Any, make_visit: Any):
    stockholm_noon = datetime(2026, 6, 1, 12, 0, tzinfo=UTC) + timedelta(hours=0)
    visit = make_visit(make_site(), checked_in_at=stockholm_noon)
    session.expire_all()
    loaded = session.get(Visit, visit.id)
    assert loaded is not None
    assert loaded.checked_in_at == stockholm_noon
    assert loaded.checked_in_at.utcoffset() == timedelta(0)


def test_naive_times_are_refused(session: Session, make_site: Any, make_visit: Any):
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="naive datetime"):
        make_visit(make_site(), checked_in_at=datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001


def test_published_notice_cannot_change_or_be_deleted(session: Session, make_site: Any, clock: Any):
    notice = publish_notice(session, make_site(), "en", "Notice v1", now=clock.now())
    session.commit()
    notice.text = "Rewritten history"
    with pytest.raises(PublishedNoticeChanged):
        session.commit()
    session.rollback()
    session.delete(notice)
    with pytest.raises(PublishedNoticeChanged):
        session.commit()


def test_draft_notice_can_change_and_publishing_numbers_versions(
    session: Session, make_site: Any, clock: Any
):
    site = make_site()
    draft = NoticeVersion(site_id=site.id, locale="en", version=1, text="draft")
    session.add(draft)
    session.commit()
    draft.text = "better draft"
    session.commit()
    second = publish_notice(session, site, "en", "Published", now=clock.now())
    session.commit()
    assert second.version == 2
    versions = session.scalars(select(NoticeVersion.version).order_by(NoticeVersion.version))
    assert list(versions) == [1, 2]


@pytest.mark.parametrize("text", ["{unknown}", "{retention_days", "{0}"])
def test_notice_with_bad_placeholder_is_refused(text: str):
    with pytest.raises(NoticeError):
        check_notice_text(text)


def test_repr_shows_ids_only(make_site: Any, make_visit: Any):
    visit = make_visit(make_site(), visitor_name="Private Person")
    assert repr(visit) == f"<Visit id={visit.id}>"


def test_the_id_of_an_erased_visit_is_never_given_again(
    session: Session, make_site: Any, make_visit: Any, make_invitation: Any
):
    """The newest visit erased by request: the next visitor gets a new id, not its id, which
    the audit log, webhooks and notifications still use for the erased one (SQLite gave a
    new row the id after the largest one left until migration 0028)."""
    from kiosk.models import Invitation, PrintJob
    from kiosk.privacy.erasure import erase_invitations, erase_visits

    site = make_site()
    kept = make_visit(site, visitor_name="Kept Visitor")
    erased = make_visit(site, visitor_name="Erased Visitor")
    session.add(
        PrintJob(
            visit_id=erased.id,
            created_at=erased.checked_in_at,
            requested_by="kiosk",
            backend="none",
            status="sent",
        )
    )
    session.commit()
    erased_id, job_id = erased.id, session.scalar(select(PrintJob.id))
    invitation_id = make_invitation(site).id
    erase_visits(session, [erased_id])
    erase_invitations(session, [invitation_id])
    session.commit()
    session.expire_all()

    following = make_visit(site, visitor_name="Following Visitor")
    assert following.id > erased_id > kept.id
    session.add(
        PrintJob(
            visit_id=following.id,
            created_at=following.checked_in_at,
            requested_by="kiosk",
            backend="none",
            status="sent",
        )
    )
    session.commit()
    assert session.scalar(select(PrintJob.id).where(PrintJob.visit_id == following.id)) > job_id
    assert make_invitation(site).id > invitation_id
    assert session.get(Invitation, invitation_id) is None


def test_a_check_out_another_request_made_first_is_not_made_again(
    app: Any,
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
):
    """Two check-outs of one visit at once (reception's button, the API, the kiosk) both said
    "checked out", and both told the host and the webhooks (an outside fuzz). Made certain
    here: the other request commits its check-out between this one reading the visit and
    writing it."""
    from sqlalchemy import update

    from kiosk import db as kiosk_db
    from kiosk.db import get_database
    from kiosk.services import visits as visit_service

    site = make_site()
    first, second = make_visit(site), make_visit(site)
    other_time = clock.now() + timedelta(minutes=5)
    original = kiosk_db.begin_write

    def other_request_first(db_session: Session) -> None:
        with get_database(app).engine.begin() as other:
            other.execute(
                update(Visit)
                .where(Visit.id.in_([first.id, second.id]))
                .values(checked_out_at=other_time)
            )
        original(db_session)

    monkeypatch.setattr(kiosk_db, "begin_write", other_request_first)
    assert visit_service.check_out_visit(first, now=clock.now()) is False
    assert first.checked_out_at == other_time
    with pytest.raises(visit_service.VisitError, match="already_checked_out"):
        visit_service.check_out(session, site, second.badge_token, now=clock.now())
    session.commit()
    session.expire_all()
    assert {visit.checked_out_at for visit in (first, second)} == {other_time}


def test_an_invitation_another_request_cancelled_or_used_first_is_not_cancelled_again(
    app: Any,
    session: Session,
    make_site: Any,
    make_visit: Any,
    make_invitation: Any,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
):
    """Two cancellations at once both answered "cancelled" (an outside fuzz). Made certain
    here: another request cancels one invitation, and a visitor arrives with the other,
    between this request reading them and cancelling them."""
    from kiosk import db as kiosk_db
    from kiosk.db import get_database
    from kiosk.models import Invitation
    from kiosk.services import invitations as invitation_service

    site = make_site()
    cancelled, used = make_invitation(site), make_invitation(site)
    visit = make_visit(site)
    original = kiosk_db.begin_write

    def other_request_first(db_session: Session) -> None:
        with get_database(app).engine.begin() as other:
            table = Invitation.__table__
            other.execute(
                table.update().where(table.c.id == cancelled.id).values(cancelled_at=clock.now())
            )
            other.execute(table.update().where(table.c.id == used.id).values(visit_id=visit.id))
        original(db_session)

    monkeypatch.setattr(kiosk_db, "begin_write", other_request_first)
    with pytest.raises(invitation_service.InvitationError, match="cancelled"):
        invitation_service.cancel_invitation(cancelled, now=clock.now())
    monkeypatch.setattr(kiosk_db, "begin_write", original)
    session.rollback()
    monkeypatch.setattr(kiosk_db, "begin_write", other_request_first)
    with pytest.raises(invitation_service.InvitationError, match="used"):
        invitation_service.cancel_invitation(used, now=clock.now())
