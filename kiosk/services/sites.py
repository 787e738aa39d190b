"""Sites and their hosts as the kiosk and dashboard see them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import Host, Site, StaffUser


def kiosk_site(session: Session, name: str | None) -> Site | None:
    """The site a kiosk serves: the one named in the settings, else the first one created."""
    if name:
        return session.scalar(select(Site).where(Site.name == name))
    return session.scalar(select(Site).order_by(Site.id).limit(1))


def active_hosts(session: Session, site: Site) -> Sequence[Host]:
    """The hosts a visitor of this site can choose, by name."""
    return session.scalars(
        select(Host).where(Host.site_id == site.id, Host.active.is_(True)).order_by(Host.name)
    ).all()


def sites_served_by(session: Session, user: StaffUser) -> Sequence[Site]:
    """The sites a staff user may see: all for admins, the assigned ones for reception."""
    if user.is_admin:
        return session.scalars(select(Site).order_by(Site.name)).all()
    return sorted(user.sites, key=lambda site: site.name)
