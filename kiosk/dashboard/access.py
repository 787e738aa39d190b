"""Who the staff user is, which sites they serve, and the checks every staff page makes.

Objects of a site the user does not serve answer 404, as if they did not exist; pages for a
role the user lacks answer 403. Every staff action or view of personal data is audited here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import ParamSpec, Protocol, TypeVar

from flask import abort, g
from flask_login import current_user

from kiosk.clock import now
from kiosk.db import get_session
from kiosk.models import Site, StaffUser
from kiosk.services.audit import record_event, record_events, staff_actor
from kiosk.services.sites import sites_served_by


class OfSite(Protocol):
    """A row that belongs to one site."""

    @property
    def site_id(self) -> int: ...


P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=OfSite)


def current_staff() -> StaffUser:
    """The logged-in staff user."""
    user: StaffUser = current_user._get_current_object()
    return user


def served_sites() -> list[Site]:
    """The sites the logged-in user serves: all for admins. Read once per request (a page
    and its navigation both ask)."""
    served: list[Site] | None = g.get("served_sites")
    if served is None:
        served = g.served_sites = list(sites_served_by(get_session(), current_staff()))
    return served


def served_site(site_id: int | None) -> Site:
    """A site the logged-in user serves (else 404)."""
    site = get_session().get(Site, site_id) if site_id is not None else None
    if site is None or site.id not in {served.id for served in served_sites()}:
        abort(404)
    return site


def served_or_404(model: type[M], object_id: int) -> M:
    """The ``model`` row with this id, if it belongs to a site the user serves (else 404)."""
    found = get_session().get(model, object_id)
    if found is None or found.site_id not in {site.id for site in served_sites()}:
        abort(404)
    return found


def audit(action: str, target_type: str, target_id: int | None) -> None:
    """Record what the logged-in staff user did (ids only); the caller commits."""
    record_event(
        get_session(),
        actor=staff_actor(current_staff()),
        action=action,
        target_type=target_type,
        target_id=target_id,
        now=now(),
    )


def audit_each(action: str, target_type: str, target_ids: Iterable[int]) -> None:
    """One audit entry per target (ids only), in one statement; the caller commits."""
    record_events(
        get_session(),
        actor=staff_actor(current_staff()),
        action=action,
        target_type=target_type,
        target_ids=target_ids,
        now=now(),
    )


def require_admin() -> StaffUser:
    """The current user, who must be an admin (else 403): for checks inside a view."""
    user = current_staff()
    if not user.is_admin:
        abort(403)
    return user


def admin_required(view: Callable[P, R]) -> Callable[P, R]:
    """The view is for admins only (403 for other staff)."""

    @functools.wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        require_admin()
        return view(*args, **kwargs)

    return guarded


def requests_required(view: Callable[P, R]) -> Callable[P, R]:
    """The view is for staff who handle data-subject requests: admins and the privacy role."""

    @functools.wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_staff().handles_requests:
            abort(403)
        return view(*args, **kwargs)

    return guarded
