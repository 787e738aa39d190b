"""The audit trail: every staff view or change of personal data leaves an event (ids only)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from kiosk.models import AuditEvent, Site, StaffUser


def staff_actor(user: StaffUser) -> str:
    """The audit actor label of a staff user."""
    return f"staff:{user.id}"


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: int | str | None,
    now: datetime,
) -> AuditEvent:
    """Add an audit event to the session (the caller commits with its own change)."""
    event = AuditEvent(
        occurred_at=now,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
    )
    session.add(event)
    return event


def record_site_views(
    session: Session, user: StaffUser, sites: Iterable[Site], *, action: str, now: datetime
) -> None:
    """Audit a staff user seeing the visitors of these sites: one event per site, ids only."""
    for site in sites:
        record_event(
            session,
            actor=staff_actor(user),
            action=action,
            target_type="site",
            target_id=site.id,
            now=now,
        )
