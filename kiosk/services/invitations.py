"""Invitations: visits registered in advance, confirmed by the visitor at the kiosk."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, object_session

from kiosk.db import read_again_for_change
from kiosk.models import Host, Invitation, Site, VisitorType
from kiosk.services.codes import is_code, new_code, new_token, normalise_code, scanned_token

INVITATION_CODE_LENGTH = 6


class InvitationError(Exception):
    """An invitation that cannot be used; ``code`` says why, for a translated message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def site_today(site: Site, now: datetime) -> date:
    """The date on the site's calendar at ``now``."""
    return now.astimezone(ZoneInfo(site.timezone)).date()


def create_invitation(
    session: Session,
    site: Site,
    *,
    visitor_name: str,
    expected_on: date,
    locale: str,
    now: datetime,
    company: str | None = None,
    email: str | None = None,
    host: Host | None = None,
    visitor_type: VisitorType | None = None,
) -> Invitation:
    """Register an expected visitor; the invitation carries a QR token and a typable code.
    ``visitor_type`` (one of the site's) is what the kiosk then does not ask."""
    for _ in range(20):
        code = new_code(INVITATION_CODE_LENGTH)
        taken = session.scalar(
            select(Invitation.id).where(Invitation.site_id == site.id, Invitation.code == code)
        )
        if taken is None:
            break
    else:  # pragma: no cover - 887 million codes
        raise InvitationError("no_code")
    invitation = Invitation(
        site=site,
        host=host,
        visitor_type=visitor_type,
        visitor_name=visitor_name,
        company=company or None,
        email=email or None,
        expected_on=expected_on,
        token=new_token(),
        code=code,
        locale=locale,
        created_at=now,
    )
    session.add(invitation)
    return invitation


def find_invitation(session: Session, site: Site, text: str, *, now: datetime) -> Invitation:
    """The usable invitation for what the visitor scanned or typed, today at this site."""
    query = (
        select(Invitation).options(joinedload(Invitation.host)).where(Invitation.site_id == site.id)
    )
    code = normalise_code(text)
    token = scanned_token(text)
    if is_code(code, INVITATION_CODE_LENGTH):
        invitation = session.scalar(query.where(Invitation.code == code))
    elif token is not None:
        invitation = session.scalar(query.where(Invitation.token == token))
    else:
        invitation = None
    if invitation is None:
        raise InvitationError("unknown")
    if invitation.cancelled_at is not None:
        raise InvitationError("cancelled")
    if invitation.visit_id is not None:
        raise InvitationError("used")
    if invitation.expected_on != site_today(site, now):
        raise InvitationError("not_today")
    return invitation


def cancel_invitation(invitation: Invitation, *, now: datetime) -> None:
    """Cancel an expected visit that will not happen; raises :class:`InvitationError` with
    ``cancelled`` or ``used`` when it is too late for that."""
    session = object_session(invitation)
    # Read again before deciding: two cancellations at once both answered "cancelled", and a
    # visitor arriving with it at that moment was not seen (an outside fuzz). Erased
    # meanwhile: nobody is expected any more.
    if (
        session is not None
        and invitation.cancelled_at is None
        and invitation.visit_id is None
        and not read_again_for_change(session, invitation, "cancelled_at", "visit_id")
    ):
        raise InvitationError("cancelled")
    if invitation.cancelled_at is not None:
        raise InvitationError("cancelled")
    if invitation.visit_id is not None:
        raise InvitationError("used")
    invitation.cancelled_at = now
