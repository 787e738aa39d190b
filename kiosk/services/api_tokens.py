"""API tokens: made and revoked by admins, presented by clients of the REST API.

A token is ``kiosk_`` and 43 random URL-safe characters (256 bits). Only its SHA-256 is kept:
a stolen database does not give working tokens, and a high-entropy secret needs no slow hash
(there is nothing to guess). The lookup is by the hash; the found row's hash is compared
again in constant time, so nothing about a stored hash leaks through timing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kiosk.models import ApiToken, Site, StaffUser

TOKEN_PREFIX = "kiosk_"  # noqa: S105 - what every token starts with, not a secret
#: Characters of a token shown in lists, so an admin can tell tokens apart.
SHOWN_PREFIX_LENGTH = 12
NAME_MAX_LENGTH = 100
#: Longer than any token we make: anything longer is refused before it is hashed.
TOKEN_MAX_LENGTH = 128
#: last_used_at is written at most this often per token (every request would make each read
#: a write).
LAST_USED_RESOLUTION_SECONDS = 60


class ApiTokenError(Exception):
    """A token that cannot be made as asked; ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def hash_secret(secret: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A token just made: the row, and the secret to show once."""

    token: ApiToken
    secret: str


def create_api_token(
    session: Session,
    *,
    name: str,
    sites: Iterable[Site],
    can_write: bool,
    personal_data: bool,
    created_by: StaffUser | None,
    now: datetime,
) -> NewToken:
    """Make a token for these sites; the caller shows ``secret`` once and commits."""
    name = " ".join(name.split())
    site_list = list(sites)
    if not name or len(name) > NAME_MAX_LENGTH:
        raise ApiTokenError("name")
    if not site_list:
        raise ApiTokenError("sites")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        secret_hash=hash_secret(secret),
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        can_write=can_write,
        personal_data=personal_data,
        created_at=now,
        created_by_id=created_by.id if created_by is not None else None,
        sites=site_list,
    )
    session.add(token)
    return NewToken(token=token, secret=secret)


def find_api_token(session: Session, presented: str) -> ApiToken | None:
    """The live (not revoked) token whose secret this is, else None."""
    if not presented.startswith(TOKEN_PREFIX) or len(presented) > TOKEN_MAX_LENGTH:
        return None
    wanted = hash_secret(presented)
    token = session.scalar(
        select(ApiToken).options(selectinload(ApiToken.sites)).where(ApiToken.secret_hash == wanted)
    )
    if token is None or not hmac.compare_digest(token.secret_hash, wanted):
        return None
    if token.revoked_at is not None:
        return None
    return token


def note_use(token: ApiToken, *, now: datetime) -> None:
    """Record that the token was used (to the minute); the caller commits."""
    last = token.last_used_at
    if last is None or (now - last).total_seconds() >= LAST_USED_RESOLUTION_SECONDS:
        token.last_used_at = now


def revoke_api_token(token: ApiToken, *, now: datetime) -> bool:
    """Stop a token working at once; False when it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    return True


def api_tokens(session: Session) -> Sequence[ApiToken]:
    """Every token, live ones first, newest first."""
    return session.scalars(
        select(ApiToken)
        .options(selectinload(ApiToken.sites))
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()


def api_actor(token: ApiToken) -> str:
    """The audit actor label of an API token."""
    return f"api:{token.id}"
