"""Server-side session state: what must not travel in the (signed, not encrypted) cookie.

Flask's session cookie can be read by anyone who base64-decodes it, so personal data (a kiosk
visitor's details between the form and the notice, staff history search terms) is kept in
``session_items`` rows instead, and the cookie holds only a random token naming them. Rows
are erased when the state is done with (reset, check-in saved, logout), when they are older
than their lifetime (on the next write of any session, and by the retention purge).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app, session
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kiosk.clock import now
from kiosk.db import get_session
from kiosk.models import SessionItem
from kiosk.services.codes import new_token

#: The cookie key holding the token; nothing else about these items is in the cookie.
COOKIE_KEY = "state"
#: The longest any item is kept: a staff session's day; kiosk items go at the idle reset.
LIFETIME = timedelta(hours=12)
#: How often (at most, per app in a process) a new item also erases the expired ones.
ERASE_INTERVAL = timedelta(minutes=1)
_LAST_ERASE_KEY = "kiosk.session_store.last_erase"


def _token(create: bool) -> str | None:
    token = session.get(COOKIE_KEY)
    if isinstance(token, str) and 20 <= len(token) <= 64:
        return token
    if not create:
        return None
    token = new_token()
    session[COOKIE_KEY] = token
    return token


def load(name: str) -> dict[str, Any] | None:
    """This browser session's item ``name``, if it has one that has not expired."""
    token = _token(create=False)
    if token is None:
        return None
    item = get_session().get(SessionItem, (token, name))
    if item is None or item.updated_at < now() - LIFETIME:
        return None
    return dict(item.value)


def store(name: str, value: dict[str, Any]) -> None:
    """Keep ``value`` as this session's item ``name`` (the caller commits)."""
    db_session = get_session()
    at = now()
    token = _token(create=True)
    assert token is not None  # noqa: S101 - created above
    item = db_session.get(SessionItem, (token, name))
    if item is None:
        db_session.add(SessionItem(token=token, name=name, value=value, updated_at=at))
        # Items left behind by browsers that never came back go with a write: at most one
        # such look a minute per app, not one every new visitor pays (the retention purge
        # erases them too, and load() never returns an expired item).
        last = current_app.extensions.get(_LAST_ERASE_KEY)
        if last is None or not last <= at < last + ERASE_INTERVAL:
            current_app.extensions[_LAST_ERASE_KEY] = at
            erase_expired(db_session, now=at)
    else:
        item.value = value
        item.updated_at = at


def discard(name: str) -> None:
    """Erase this session's item ``name`` (the caller commits)."""
    token = _token(create=False)
    if token is not None:
        get_session().execute(
            delete(SessionItem).where(SessionItem.token == token, SessionItem.name == name)
        )


def discard_all() -> None:
    """Erase every item of this session and forget its token (the caller commits)."""
    _erase_items()
    session.pop(COOKIE_KEY, None)


def _erase_items() -> int:
    """Erase every item of this session; how many there were."""
    token = _token(create=False)
    if token is None:
        return 0
    result = get_session().execute(delete(SessionItem).where(SessionItem.token == token))
    erased: int = result.rowcount  # type: ignore[attr-defined]
    return erased


class AlreadyConsumed(Exception):
    """This session's items were erased by another request since they were read."""


def consume_all() -> None:
    """Erase every item of this session, in the caller's transaction, as the one request
    that acts on them: raises :class:`AlreadyConsumed` when another request erased them first
    (the same form sent twice at once: a double tap on "check me in" saved two visits). The
    erasing DELETE waits for the other transaction and then finds nothing; the caller rolls
    back what it wrote. The cookie is left as it is until the caller commits."""
    if not _erase_items():
        raise AlreadyConsumed
    session.pop(COOKIE_KEY, None)


def erase_expired(db_session: Session, *, now: datetime) -> int:
    """Erase items older than their lifetime; returns how many (the caller commits)."""
    stale = db_session.scalars(
        select(SessionItem.token).where(SessionItem.updated_at < now - LIFETIME).limit(1000)
    ).all()
    if not stale:
        return 0
    result = db_session.execute(
        delete(SessionItem).where(
            SessionItem.token.in_(stale), SessionItem.updated_at < now - LIFETIME
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
