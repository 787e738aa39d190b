"""Sites and their hosts as the kiosk and dashboard see them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import Host, Site, StaffUser
from kiosk.text import fold


def active_hosts(session: Session, site: Site) -> Sequence[Host]:
    """The hosts a visitor of this site can choose, by name."""
    return session.scalars(
        select(Host).where(Host.site_id == site.id, Host.active.is_(True)).order_by(Host.name)
    ).all()


def host_choices(session: Session, sites: Sequence[Site]) -> list[tuple[int, str]]:
    """(id, name) of the active hosts of these sites, site by site (by site name), by name:
    one query, for a select over many sites."""
    rows = session.execute(
        select(Host.id, Host.name)
        .join(Site, Host.site_id == Site.id)
        .where(Host.site_id.in_([site.id for site in sites]), Host.active.is_(True))
        .order_by(Site.name, Site.id, Host.name)
    )
    return [(host_id, name) for host_id, name in rows]


def sites_served_by(session: Session, user: StaffUser) -> Sequence[Site]:
    """The sites a staff user may see: all for admins, the assigned ones for reception."""
    if user.is_admin:
        return session.scalars(select(Site).order_by(Site.name)).all()
    return sorted(user.sites, key=lambda site: site.name)


#: A search shows at most this many hosts: enough to pick from, never the directory.
HOST_SEARCH_LIMIT = 8
#: Fewer typed characters reveal no names at all.
HOST_SEARCH_MIN_CHARS = 2


def search_hosts(session: Session, site: Site, query: str) -> list[Host]:
    """Active hosts of a site whose name, or a word in it, starts with ``query``.

    Matching ignores case and accents ("asa" finds "Åsa"). Returns nothing for fewer than two
    characters, and at most ``HOST_SEARCH_LIMIT + 1`` hosts so the caller can tell "more than
    fit" from "exactly that many". A site's host list is small (hundreds), so it is matched
    here rather than in SQL, where SQLite's lower() only folds ASCII.
    """
    wanted = _folded(query)
    if len(wanted) < HOST_SEARCH_MIN_CHARS:
        return []
    matches = []
    for host in active_hosts(session, site):
        name = _folded(host.name)
        if name.startswith(wanted) or f" {wanted}" in name:
            matches.append(host)
            if len(matches) > HOST_SEARCH_LIMIT:
                break
    return matches


def _folded(text: str) -> str:
    return fold(" ".join(text.split()))
