"""Staff single sign-on, the domain side: which kiosk role and sites a user's groups at the
identity provider give (the SSO_GROUPS setting), and the staff user linked to the provider's
subject, created at the first login and brought in line with the groups at every login."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.enums import Role
from kiosk.models import Site, StaffUser

#: Stored as the password hash of accounts made by single sign-on: no password matches it (it
#: is no argon2 hash), so such an account can never log in with a password.
NO_PASSWORD = "!sso"  # noqa: S105 - a marker that matches no password
#: A user in several mapped groups gets the highest of their roles.
_ROLE_RANK: dict[str, int] = {Role.RECEPTION: 0, Role.PRIVACY: 1, Role.ADMIN: 2}


class SsoRefused(Exception):
    """The provider vouched for the user, but kiosk does not let them in; ``reason`` is a short
    code safe to log."""

    def __init__(self, reason: str, user_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        #: The linked staff user who was refused, if there is one (for the audit trail).
        self.user_id = user_id


@dataclass(frozen=True)
class Access:
    """What the mapped groups give: one role, and the names of the sites served."""

    role: str
    site_names: frozenset[str]


def group_names(claim: object) -> list[str]:
    """The groups in the configured claim: a list of strings, or one string (some providers
    send a single role so); anything else counts as no group."""
    if isinstance(claim, str):
        return [claim]
    if isinstance(claim, list | tuple):
        return [item for item in claim if isinstance(item, str)]
    return []


def map_groups(groups: Iterable[str], mapping: Mapping[str, object]) -> Access | None:
    """The role and sites the groups map to, or None when no group is mapped.

    ``mapping`` is SSO_GROUPS: ``{"group": {"role": "reception", "sites": ["Stockholm"]}}``.
    Several mapped groups: the highest role (admin > privacy > reception), the sites of all.
    An entry with an unknown role is ignored.
    """
    roles: list[str] = []
    sites: set[str] = set()
    for group in groups:
        entry = mapping.get(group)
        if not isinstance(entry, Mapping) or entry.get("role") not in _ROLE_RANK:
            continue
        roles.append(str(entry["role"]))
        entry_sites = entry.get("sites") or []
        if isinstance(entry_sites, str):
            entry_sites = [entry_sites]
        if isinstance(entry_sites, list | tuple):
            sites.update(name for name in entry_sites if isinstance(name, str))
    if not roles:
        return None
    return Access(role=max(roles, key=lambda role: _ROLE_RANK[role]), site_names=frozenset(sites))


def find_sso_user(session: Session, subject: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.sso_subject == subject))


def sso_login(
    session: Session,
    *,
    subject: str,
    groups: Iterable[str],
    mapping: Mapping[str, object],
    username_hint: str | None,
    now: datetime,
) -> tuple[StaffUser, bool]:
    """Find or create the staff user linked to ``subject`` and set role and sites from the
    groups; return the user and whether it was created. The caller commits, also after
    :class:`SsoRefused`: a linked user whom no mapped group lets in any more has every session
    ended, so access ends at once, not only at the next login."""
    user = find_sso_user(session, subject)
    access = map_groups(groups, mapping)
    if access is None:
        if user is not None:
            user.end_sessions()
        raise SsoRefused("no_mapped_group", user.id if user is not None else None)
    if user is not None and not user.active:
        raise SsoRefused("inactive", user.id)
    sites = list(
        session.scalars(
            select(Site).where(Site.name.in_(sorted(access.site_names))).order_by(Site.id)
        )
    )
    if user is None:
        user = StaffUser(
            username=_free_username(session, username_hint, subject),
            password_hash=NO_PASSWORD,
            role=access.role,
            active=True,
            created_at=now,
            sso_subject=subject,
            sites=sites,
        )
        session.add(user)
        session.flush()
        return user, True
    user.role = access.role
    if {site.id for site in user.sites} != {site.id for site in sites}:
        user.sites = sites
    return user, False


def _free_username(session: Session, hint: str | None, subject: str) -> str:
    """The provider's preferred username when it is free, else one made from the subject (an
    existing local account is never taken over by its name)."""
    if hint:
        hint = hint.strip()
        taken = session.scalar(
            select(func.count())
            .select_from(StaffUser)
            .where(func.lower(StaffUser.username) == hint.lower())
        )
        if 0 < len(hint) <= 80 and not taken:
            return hint
    digest = hashlib.sha256(subject.encode()).hexdigest()
    return f"sso-{digest[:16]}"
