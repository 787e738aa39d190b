"""Visits: registering a visitor at the kiosk and listing who is on site."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from kiosk.models import Host, NoticeVersion, Site, Visit

#: Badge tokens carry 144 random bits (issue: at least 128), URL-safe, 24 characters.
BADGE_TOKEN_BYTES = 18
#: Short codes avoid characters people confuse when typing (0/O, 1/I/L).
SHORT_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
SHORT_CODE_LENGTH = 6


class VisitError(Exception):
    """A registration that cannot be made; ``code`` says why, for a translated message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class VisitorDetails:
    """What a visitor entered at the kiosk."""

    name: str
    company: str | None = None
    host_id: int | None = None
    email: str | None = None
    phone: str | None = None
    purpose: str | None = None


def new_badge_token() -> str:
    """A random, unguessable badge token; never derived from personal data."""
    return secrets.token_urlsafe(BADGE_TOKEN_BYTES)


def new_short_code() -> str:
    """A random code short enough to type from a badge."""
    return "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH))


def _unused_short_code(session: Session, site: Site) -> str:
    for _ in range(20):
        code = new_short_code()
        taken = session.scalar(
            select(Visit.id).where(Visit.site_id == site.id, Visit.short_code == code)
        )
        if taken is None:
            return code
    raise VisitError("no_short_code")  # 887 million codes: only a broken RNG gets here


def register_visit(
    session: Session,
    site: Site,
    details: VisitorDetails,
    *,
    locale: str,
    notice: NoticeVersion | None,
    now: datetime,
) -> Visit:
    """Check a visitor in: create the visit with a fresh badge token and short code."""
    name = details.name.strip()
    if not name:
        raise VisitError("name_required")
    host: Host | None = None
    if details.host_id is not None:
        host = session.get(Host, details.host_id)
        if host is None or host.site_id != site.id or not host.active:
            raise VisitError("unknown_host")
    visit = Visit(
        site=site,
        host=host,
        visitor_name=name,
        company=details.company or None,
        email=details.email or None,
        phone=details.phone or None,
        purpose=details.purpose or None,
        badge_token=new_badge_token(),
        short_code=_unused_short_code(session, site),
        locale=locale,
        notice_version=notice,
        checked_in_at=now,
    )
    session.add(visit)
    return visit


def visits_on_site(session: Session, site_ids: Iterable[int]) -> Sequence[Visit]:
    """Visits at these sites that have checked in and not out, newest first."""
    ids = list(site_ids)
    if not ids:
        return []
    return session.scalars(
        select(Visit)
        .options(joinedload(Visit.host), joinedload(Visit.site))
        .where(Visit.site_id.in_(ids), Visit.checked_out_at.is_(None))
        .order_by(Visit.checked_in_at.desc(), Visit.id.desc())
    ).all()


def first_name(visit: Visit) -> str:
    """The part of the name a greeting uses."""
    return visit.visitor_name.split()[0]
