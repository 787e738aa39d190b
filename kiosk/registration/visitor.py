"""The current visitor at a kiosk: the paired site, the session keys of their progress, and
the one way to forget them.

A visitor's details between the steps live on the server (kiosk.session_store: the signed
cookie only names them); the visitor's chosen language lives in the cookie. Both go at the
reset; the details also go when the visitor is done (check-in saved, declined, checked out)
and back on the welcome screen, but the language stays until the reset, so every screen up
to it speaks the visitor's language (see :func:`forget_visitor`).
"""

from __future__ import annotations

from typing import Any

from flask import g, session

from kiosk import session_store
from kiosk.db import get_session
from kiosk.models import Invitation, Site

#: The session key of the language the visitor chose; only the reset removes it.
LOCALE = "locale"
#: The server-side item (kiosk.session_store) holding the details the visitor entered.
PENDING = "pending_visit"
#: Session keys of one visitor's progress (ids only); forget_visitor removes them.
NOTICE_SHOWN = "notice_shown"
JUST_REGISTERED = "just_registered"
#: The visit whose badge the kiosk's browser may fetch (kiosk.registration.badge).
BADGE_SESSION_KEY = "badge_visit_id"
#: When (a UNIX time) the kiosk was last allowed to fetch that badge: its check-in.
BADGE_GRANTED_KEY = "badge_granted_at"


def current_site() -> Site:
    """The site this kiosk is paired with (set by the blueprint's device check)."""
    site: Site = g.site
    return site


def forget_visitor() -> None:
    """Forget everything about the current visitor but the language they chose.

    The one way kiosk handlers drop a visitor's state: the screens that follow (the
    confirmation, the goodbye, "please ask reception") still speak the visitor's language,
    which only :func:`reset` (or a closing screen, see :func:`closing_screen`) forgets.
    """
    locale = session.get(LOCALE)
    session_store.discard_all()
    get_session().commit()
    session.clear()
    if locale:
        session[LOCALE] = locale


def closing_screen(page: str) -> str:
    """A visitor's last screen, rendered in their language: the next visitor starts in the
    site's language even if this one walks away before the reset."""
    session.pop(LOCALE, None)
    return page


def pending_details() -> dict[str, Any]:
    """The details the current visitor entered so far (kept on the server)."""
    return session_store.load(PENDING) or {}


def entered_details() -> dict[str, Any]:
    """The pending details once the details form was saved (they have a name), else empty:
    a visitor who only chose a type or a language has nothing to confirm or sign yet."""
    pending = pending_details()
    return pending if pending.get("name") else {}


def keep_pending(details: dict[str, Any]) -> None:
    """Keep the current visitor's details on the server until the check-in or the reset."""
    session_store.store(PENDING, details)
    get_session().commit()


def pending_invitation(pending: dict[str, Any]) -> Invitation | None:
    """The invitation the current visitor came with, if any (checked again at the check-in)."""
    invitation_id = pending.get("invitation_id")
    return get_session().get(Invitation, invitation_id) if invitation_id else None


#: Why a check-in refused (VisitError.code) that clears one choice of the visitor's: it is
#: asked again on the form, and everything else they typed is kept.
_CLEARED_BY_PROBLEM = {"invitation_used": "invitation_id", "unknown_type": "visitor_type_id"}


def forget_refused_choice(pending: dict[str, Any], problem: str) -> None:
    """After a refused check-in, clear the choice that caused it (if one did) and keep the rest."""
    cleared = _CLEARED_BY_PROBLEM.get(problem)
    if cleared is not None:
        pending[cleared] = None
        keep_pending(pending)
