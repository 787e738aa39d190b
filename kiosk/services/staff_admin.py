"""Staff accounts as an admin manages them: roles, sites, deactivation and password resets.

There is always at least one active admin: the last one can neither be demoted nor
deactivated, or nobody could manage the dashboard any more.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.enums import Role, values
from kiosk.models import Site, StaffUser
from kiosk.services.staff import StaffError


class LastAdminError(StaffError):
    """The change would leave no active admin."""


def staff_users(session: Session) -> Sequence[StaffUser]:
    """Every staff account: active ones first, by username."""
    return session.scalars(
        select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.username)
    ).all()


def _is_last_active_admin(session: Session, user: StaffUser) -> bool:
    if not (user.active and user.is_admin):
        return False
    # Locking the active admins' rows (PostgreSQL) makes two admins demoting each other at
    # the same moment take turns, so the second one sees the first one's change.
    admins = session.scalars(
        select(StaffUser.id)
        .where(StaffUser.role == Role.ADMIN, StaffUser.active.is_(True))
        .with_for_update()
    ).all()
    return list(admins) == [user.id]


def update_staff_user(
    session: Session, user: StaffUser, *, role: str, sites: Sequence[Site]
) -> None:
    """Change a user's role and sites; raises :class:`LastAdminError` for the last admin."""
    if role not in values(Role):
        raise StaffError(f"the role must be one of: {', '.join(values(Role))}")
    if role != Role.ADMIN and _is_last_active_admin(session, user):
        raise LastAdminError("the last active admin cannot lose the admin role")
    user.role = role
    user.sites = list(sites)


def set_staff_active(session: Session, user: StaffUser, active: bool) -> None:
    """Deactivate (they are logged out at their next request) or reactivate a user."""
    if not active and _is_last_active_admin(session, user):
        raise LastAdminError("the last active admin cannot be deactivated")
    user.active = active
