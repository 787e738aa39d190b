"""Staff accounts: creation, password hashing (argon2id) and authentication."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.enums import Role, values
from kiosk.models import Site, StaffUser


def production_password_hasher() -> PasswordHasher:
    """argon2id with the library's defaults (RFC 9106's low-memory profile)."""
    return PasswordHasher()


#: Tests swap in a cheaper one (tests/conftest.py); production keeps this.
password_hasher = production_password_hasher()

MIN_PASSWORD_LENGTH = 10

# Verifying against a real hash when the username is unknown keeps both failures equally slow,
# so response time does not tell whether an account exists. The hash is made by the hasher in
# use (so with the same cost parameters as the accounts' hashes), once per hasher.
_dummy_hashes: dict[int, str] = {}


def _dummy_hash() -> str:
    key = id(password_hasher)
    if key not in _dummy_hashes:
        _dummy_hashes.clear()
        _dummy_hashes[key] = password_hasher.hash("kiosk-timing-equaliser")
    return _dummy_hashes[key]


class StaffError(Exception):
    """A staff account operation that cannot be done, with a message for the operator."""


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password."""
    return password_hasher.hash(password)


def create_staff_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    site_names: Iterable[str] = (),
    now: datetime,
) -> StaffUser:
    """Create a staff account; raises :class:`StaffError` for a taken name or bad input."""
    username = username.strip()
    if not username or len(username) > 80:
        raise StaffError("the username must be 1 to 80 characters")
    if role not in values(Role):
        raise StaffError(f"the role must be one of: {', '.join(values(Role))}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if find_staff_user(session, username) is not None:
        raise StaffError(f"a staff user named {username!r} exists already")
    sites = []
    for name in site_names:
        site = session.scalar(select(Site).where(Site.name == name))
        if site is None:
            raise StaffError(f"there is no site named {name!r}")
        sites.append(site)
    user = StaffUser(
        username=username,
        password_hash=hash_password(password),
        role=role,
        active=True,
        created_at=now,
        sites=sites,
    )
    session.add(user)
    return user


def find_staff_user(session: Session, username: str) -> StaffUser | None:
    """Find a staff user by username, ignoring case."""
    return session.scalar(
        select(StaffUser).where(func.lower(StaffUser.username) == username.strip().lower())
    )


def set_password(user: StaffUser, password: str) -> None:
    """Replace a user's password; every session of the user ends."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    user.end_sessions()


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    """Return the active user with these credentials, or None (same cost either way)."""
    user = find_staff_user(session, username)
    stored = user.password_hash if user is not None and user.active else _dummy_hash()
    try:
        password_hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if password_hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user
