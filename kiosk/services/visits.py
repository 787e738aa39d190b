"""Visits: registering a visitor at the kiosk, checking out, listing who is on site."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, object_session

from kiosk.blind_index import search_keys, token_in, tokens_under
from kiosk.db import begin_write, read_again_for_change, savepoint
from kiosk.enums import PrintStatus
from kiosk.models import (
    Host,
    Invitation,
    KioskDevice,
    PrintJob,
    Site,
    Visit,
    VisitNameToken,
    VisitorType,
)
from kiosk.sealing import store_for
from kiosk.services.codes import (
    CODE_ALPHABET,
    day_number,
    is_code,
    new_code,
    new_token,
    normalise_code,
    scanned_token,
)
from kiosk.services.listed_names import name_columns, unseal_names
from kiosk.text import fold, name_words

SHORT_CODE_ALPHABET = CODE_ALPHABET
#: A day's character, then six random ones (887 million codes a day).
SHORT_CODE_LENGTH = 7
#: Codes of badges printed before the day's character (six random ones) still check out.
SHORT_CODE_LENGTH_BEFORE_DAYS = 6


class VisitError(Exception):
    """A registration or check-out that cannot be made; ``code`` says why."""

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
    #: The visitor type chosen at the kiosk (kiosk.services.visitor_types); None at a site
    #: without types.
    visitor_type_id: int | None = None


# Badge tokens and short codes start with their check-in's day, then random characters: their
# unique indexes then keep each day's visits together, so the purge, which deletes a day's
# visits at a time, rewrites a stretch of each index instead of a page for nearly every visit
# (random keys: 8.7 s to delete 150,000 visits of a 1,000,000-visit SQLite file; day-first:
# 1.9 s, bench/README.md). The day is not personal data, and the random part is as long as
# before: 144 bits in a token, six characters (887 million codes) in a short code.


def new_badge_token(now: datetime) -> str:
    """An unguessable badge token: the day number (5 digits), then 144 random bits; never
    derived from personal data."""
    return f"{day_number(now):05d}{new_token()}"


def new_short_code(now: datetime) -> str:
    """A code short enough to type from a badge: the day's character (the alphabet in turn,
    one a day), then six random characters."""
    day = CODE_ALPHABET[day_number(now) % len(CODE_ALPHABET)]
    return day + new_code(SHORT_CODE_LENGTH - 1)


#: How many short codes a check-in tries before giving up: with 887 million codes a clash
#: is rare at any site, and twenty in a row means a broken random number generator.
SHORT_CODE_ATTEMPTS = 20


def _is_short_code_clash(error: IntegrityError) -> bool:
    """Whether the refused INSERT clashed with a kept visit's short code at the same site
    (the unique constraint on (site_id, short_code); SQLite and PostgreSQL both name it or
    its column in their message, which holds no parameters: the engine hides them)."""
    return "short_code" in str(error.orig)


def _insert_with_free_short_code(
    session: Session, visit: Visit, rows_with_visit: Sequence[object]
) -> None:
    """Insert ``visit`` (and ``rows_with_visit``, rows that go with it) in one flush, drawing a new
    short code when the site's unique constraint refuses the one it has.

    No query per attempt looks for a free code: the constraint answers in the INSERT itself.
    Each attempt runs in a savepoint, so a clash undoes only that INSERT and the caller's
    transaction (what it already read or wrote) carries on.
    """
    for _attempt in range(SHORT_CODE_ATTEMPTS):
        try:
            with savepoint(session):
                session.add(visit)
                session.add_all(rows_with_visit)
        except IntegrityError as exc:
            if not _is_short_code_clash(exc):
                raise
            visit.short_code = new_short_code(visit.checked_in_at)
            continue
        return
    raise VisitError("no_short_code")  # 887 million codes: only a broken RNG gets here


def register_visit(
    session: Session,
    site: Site,
    details: VisitorDetails,
    *,
    locale: str,
    notice_id: int,
    now: datetime,
    invitation: Invitation | None = None,
    device: KioskDevice | None = None,
    rows_with_visit: Callable[[Visit], Sequence[object]] | None = None,
) -> Visit:
    """Check a visitor in: insert the visit with a fresh badge token and short code (the
    caller commits).

    ``notice_id`` is the notice version the visitor was shown (by id: its text is not needed
    here), required: a visit is registered only once its visitor saw the notice (Art. 13).
    ``device`` is the kiosk the visitor registered at, whose printer prints the badge.
    ``rows_with_visit`` gives rows that belong to the new visit (its print record) and go into
    the database in the visit's own flush, rather than in a second one."""
    name = " ".join(details.name.split())
    if not name:
        raise VisitError("name_required")
    host: Host | None = None
    if details.host_id is not None:
        host = session.get(Host, details.host_id)
        if host is None or host.site_id != site.id or not host.active:
            raise VisitError("unknown_host")
    if invitation is not None and (
        invitation.site_id != site.id
        or invitation.visit_id is not None
        or invitation.cancelled_at is not None
    ):
        raise VisitError("invitation_used")
    visitor_type: VisitorType | None = None
    if details.visitor_type_id is not None:
        visitor_type = session.get(VisitorType, details.visitor_type_id)
        if visitor_type is None or visitor_type.site_id != site.id or visitor_type.is_retired:
            raise VisitError("unknown_type")
    visit = Visit(
        site=site,
        host=host,
        visitor_name=name,
        company=details.company or None,
        email=details.email or None,
        phone=details.phone or None,
        purpose=details.purpose or None,
        badge_token=new_badge_token(now),
        short_code=new_short_code(now),
        locale=locale,
        notice_version_id=notice_id,
        checked_in_at=now,
        kiosk_device=device,
        visitor_type=visitor_type,
    )
    _insert_with_free_short_code(session, visit, rows_with_visit(visit) if rows_with_visit else ())
    if invitation is not None:
        invitation.visit_id = visit.id
    return visit


#: A host's visitors on site are read and their names compared one by one up to this many; a
#: site with more on site at once for one host (an event) narrows them through the name index.
ON_SITE_SCAN_LIMIT = 200


def on_site_visit_of(session: Session, site: Site, name: str, host_id: int | None) -> Visit | None:
    """The visit still on site at ``site`` of someone with this name (folded: no case, accents
    or extra spaces) visiting the same host (or reception), if there is one; the newest.

    Asked at every check-in, so it reads the visits on site, not the name index: a common
    first name's index rows are every visit the site has kept with it (20,000 of a site's
    100,000), and looking each one up to see whether it is still on site took 100-140 ms on
    PostgreSQL. A host has a handful of visitors on site; only when one has more than
    ON_SITE_SCAN_LIMIT are they narrowed to those having every word of the name first."""
    wanted = fold(" ".join(name.split()))
    words = name_words(name)
    if not wanted or not words:
        return None
    host_match = Visit.host_id.is_(None) if host_id is None else Visit.host_id == host_id
    on_site = select(Visit.id, Visit.row_key, Visit.visitor_name_sealed, Visit.legacy_visitor_name)
    on_site = on_site.where(Visit.site_id == site.id, Visit.checked_out_at.is_(None), host_match)
    on_site = on_site.order_by(Visit.checked_in_at.desc(), Visit.id.desc())
    rows = session.execute(on_site.limit(ON_SITE_SCAN_LIMIT + 1)).all()
    if len(rows) > ON_SITE_SCAN_LIMIT:
        keys = search_keys(session, [site.id])
        for word in words:
            having = select(VisitNameToken.visit_id).where(
                token_in(session, VisitNameToken.token, tokens_under(keys, word))
            )
            on_site = on_site.where(Visit.id.in_(having))
        rows = session.execute(on_site).all()
    names = Visit.visitor_name.unseal_many(
        store_for(session), ((sealed, row_key, legacy) for _id, row_key, sealed, legacy in rows)
    )
    for (visit_id, *_columns), found in zip(rows, names, strict=True):
        if fold(" ".join(found.split())) == wanted:
            return session.get(Visit, visit_id)
    return None


def find_badge(session: Session, site: Site, scanned: str) -> Visit | None:
    """The visit whose badge was scanned (token) or typed (short code) at this site."""
    code = normalise_code(scanned)
    if is_code(code, SHORT_CODE_LENGTH) or is_code(code, SHORT_CODE_LENGTH_BEFORE_DAYS):
        return session.scalar(
            select(Visit).where(Visit.site_id == site.id, Visit.short_code == code)
        )
    token = scanned_token(scanned)
    if token is None:
        return None
    return session.scalar(select(Visit).where(Visit.site_id == site.id, Visit.badge_token == token))


def check_out(session: Session, site: Site, scanned: str, *, now: datetime) -> Visit:
    """Check the visitor with this badge out; raises for unknown or used badges."""
    visit = find_badge(session, site, scanned)
    if visit is None:
        raise VisitError("unknown_badge")
    if not _claim_check_out(session, visit, now):
        raise VisitError("already_checked_out")
    return visit


def _claim_check_out(session: Session, visit: Visit, now: datetime) -> bool:
    """Record ``visit``'s check-out unless another request has: its check-out read again
    under the write lock or the row's lock first. Read before and written after, two
    check-outs at once both said "checked out" and both told the host and the webhooks (an
    outside fuzz). Set through the ORM, so the visit's fields are sealed again under their
    new erase day (kiosk.sealing)."""
    if visit.checked_out_at is not None:
        return False
    if not read_again_for_change(session, visit, "checked_out_at"):
        return False
    if visit.checked_out_at is not None:
        return False
    visit.checked_out_at = now
    return True


def visits_on_site(session: Session, site_ids: Iterable[int]) -> Sequence[Visit]:
    """Visits at these sites that have checked in and not out, newest first.

    Their sites are not loaded with them: callers hold the sites already, and a visit's
    ``site`` is then found in the session without a query (joining the site's many columns
    onto hundreds of rows was most of this query's time)."""
    ids = list(site_ids)
    if not ids:
        return []
    return session.scalars(
        select(Visit)
        .options(joinedload(Visit.host))
        .where(Visit.site_id.in_(ids), Visit.checked_out_at.is_(None))
        .order_by(Visit.checked_in_at.desc(), Visit.id.desc())
    ).all()


class PresentVisit(NamedTuple):
    """A visitor on site as reception's list shows them (read as columns, not as a Visit).
    A named tuple: made 4x faster than a frozen dataclass, for hundreds of rows a page."""

    id: int
    site_id: int
    visitor_name: str
    company: str | None
    #: None: the visitor asked reception to find their host.
    host_name: str | None
    checked_in_at: datetime
    short_code: str
    visitor_type_id: int | None
    group_id: int | None
    #: The newest attempt to print the visitor's badge failed ("Did not print").
    print_failed: bool


def present_visits(session: Session, site_ids: Iterable[int]) -> list[PresentVisit]:
    """:func:`visits_on_site` for reception's list: the same visits in the same order, read
    as columns and unsealed here. Loading a Visit object per row (and its host's) cost more
    than the query; the list needs nine of a visit's fields (400 visitors on site, in one
    process: 10.1 -> 4.6 ms; bench/README.md, "Round three").

    Whether the badge's newest print failed comes in the same statement: each visit's newest
    print job, looked up by the print jobs' visit index (joined to the newest jobs instead,
    PostgreSQL read every print job whenever its statistics said none had failed)."""
    ids = list(site_ids)
    if not ids:
        return []
    newest_print = (
        select(PrintJob.status)
        .where(PrintJob.visit_id == Visit.id)
        .order_by(PrintJob.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Visit.id,
            Visit.site_id,
            *name_columns(Visit),
            Host.name,
            Visit.checked_in_at,
            Visit.short_code,
            Visit.visitor_type_id,
            Visit.group_id,
            newest_print,
        )
        .outerjoin(Host, Host.id == Visit.host_id)
        .where(Visit.site_id.in_(ids), Visit.checked_out_at.is_(None))
        .order_by(Visit.checked_in_at.desc(), Visit.id.desc())
    ).all()
    if not rows:
        return []
    names = unseal_names(Visit, store_for(session), rows, 2)
    return [
        PresentVisit(
            row[0],
            row[1],
            *name,
            host_name=row[7],
            checked_in_at=row[8],
            short_code=row[9],
            visitor_type_id=row[10],
            group_id=row[11],
            print_failed=row[12] == PrintStatus.FAILED,
        )
        for row, name in zip(rows, names, strict=True)
    ]


def first_name(visit: Visit) -> str:
    """The part of the name a greeting uses; empty for a name that cannot be read (its key
    destroyed while the row stayed: a greeting then names nobody)."""
    words = visit.visitor_name.split()
    return words[0] if words else ""


def check_out_visit(visit: Visit, *, now: datetime) -> bool:
    """Check one visit out (reception's button); False when it was checked out already."""
    session = object_session(visit)
    assert session is not None  # noqa: S101 - a visit loaded from the database
    return _claim_check_out(session, visit, now)


def check_out_everyone(session: Session, site: Site, *, now: datetime) -> list[Visit]:
    """Check out every visitor still on site (after an evacuation); return their visits."""
    # Read under the write lock (SQLite) or the rows' locks (PostgreSQL): a visitor another
    # request checks out meanwhile is not checked out (and announced) twice.
    begin_write(session)
    visits = list(
        session.scalars(
            select(Visit)
            .where(Visit.site_id == site.id, Visit.checked_out_at.is_(None))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    for visit in visits:
        visit.checked_out_at = now
    return visits
