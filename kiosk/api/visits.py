"""API: who is on site now, a day's visits, and checking a visitor out.

Ids, times, host and type for every token; what the visitor typed only for a token with the
personal-data scope, and each such read is audited per site, as a staff view would be.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import force_locale
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from kiosk.api import schemas
from kiosk.api.framework import (
    ApiProblem,
    audit,
    current_token,
    decode_cursor,
    not_found,
    operation,
    page_of,
    token_sites,
)
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.models import Invitation, Visit
from kiosk.notifications.events import queue_checked_out
from kiosk.notifications.sender import wake_sender
from kiosk.sealing import fields_state, kept
from kiosk.services.daily import day_bounds
from kiosk.services.invitations import site_today
from kiosk.services.visitor_types import type_name
from kiosk.services.visits import check_out_visit


def visit_out(visit: Visit, invited: set[int], *, personal: bool) -> schemas.Visit:
    visitor = None
    if personal:
        fields = (visit.visitor_name, visit.company, visit.email, visit.phone, visit.purpose)
        name, company, email, phone, purpose = (kept(value) for value in fields)
        visitor = schemas.VisitorFields(
            name=name,
            company=company,
            email=email,
            phone=phone,
            purpose=purpose,
            state=fields_state(*fields),
        )
    return schemas.Visit(
        id=visit.id,
        site_id=visit.site_id,
        host_id=visit.host_id,
        host_name=visit.host.name if visit.host is not None else None,
        type="invited" if visit.id in invited else "walk_in",
        visitor_type_id=visit.visitor_type_id,
        visitor_type=_type_name(visit),
        group_id=visit.group_id,
        checked_in_at=visit.checked_in_at,
        checked_out_at=visit.checked_out_at,
        on_site=visit.checked_out_at is None,
        visitor=visitor,
    )


def _type_name(visit: Visit) -> str | None:
    if visit.visitor_type is None:
        return None
    locale = visit.site.default_locale
    with force_locale(locale):
        return type_name(visit.visitor_type, locale)


def _invited(visits: Sequence[Visit]) -> set[int]:
    """Which of these visits came from an invitation."""
    ids = [visit.id for visit in visits]
    if not ids:
        return set()
    return set(
        get_session().scalars(select(Invitation.visit_id).where(Invitation.visit_id.in_(ids)))
    )


def _visit_list(visits: list[Visit], limit: int) -> schemas.VisitList:
    items, next_cursor = page_of(visits, limit)
    personal = current_token().personal_data
    if personal:
        for site_id in sorted({visit.site_id for visit in items}):
            audit("api_view_visitors", "site", site_id)
        get_session().commit()
    invited = _invited(items)
    return schemas.VisitList(
        items=[visit_out(visit, invited, personal=personal) for visit in items],
        next_cursor=next_cursor,
    )


@operation(
    "GET",
    "/visits/on-site",
    operation_id="list_visits_on_site",
    summary="Visitors on site now",
    tag="Visits",
    query=schemas.OnSiteQuery,
    response=schemas.VisitList,
    errors=(404,),
)
def on_site(query: schemas.OnSiteQuery) -> schemas.VisitList:
    """Visits checked in and not out, at the token's sites (or one), by id."""
    sites = token_sites(query.site_id)
    rows = list(
        get_session().scalars(
            select(Visit)
            .options(joinedload(Visit.host))
            .where(
                Visit.site_id.in_([site.id for site in sites]),
                Visit.checked_out_at.is_(None),
                Visit.id > decode_cursor(query.cursor),
            )
            .order_by(Visit.id)
            .limit(query.limit + 1)
        )
    )
    return _visit_list(rows, query.limit)


@operation(
    "GET",
    "/visits",
    operation_id="list_visits_of_day",
    summary="A day's visits",
    tag="Visits",
    query=schemas.DayQuery,
    response=schemas.VisitList,
    errors=(404,),
)
def of_day(query: schemas.DayQuery) -> schemas.VisitList:
    """Every visit that checked in on the day (each site's own calendar; default today),
    on site or gone, by id."""
    sites = token_sites(query.site_id)
    at = now()
    ranges = []
    for site in sites:
        start, end = day_bounds(site, query.date or site_today(site, at))
        ranges.append(
            and_(Visit.site_id == site.id, Visit.checked_in_at >= start, Visit.checked_in_at < end)
        )
    # The day's visits come from the index by site and check-in time, then are put in order
    # of id: ``id + 0`` keeps SQLite from walking the whole table in id order instead, as it
    # chose after an ANALYZE (0.3 s at a million visits, 11 ms this way).
    by_id = Visit.id + 0
    rows = list(
        get_session().scalars(
            select(Visit)
            .options(joinedload(Visit.host))
            .where(or_(*ranges), by_id > decode_cursor(query.cursor))
            .order_by(by_id)
            .limit(query.limit + 1)
        )
    )
    return _visit_list(rows, query.limit)


def _visit(visit_id: int) -> Visit:
    visit = get_session().get(Visit, visit_id)
    if visit is None or visit.site_id not in current_token().site_ids:
        raise not_found()
    return visit


def _one(visit: Visit) -> schemas.Visit:
    personal = current_token().personal_data
    if personal:
        audit("api_view_visitor", "visit", visit.id)
        get_session().commit()
    return visit_out(visit, _invited([visit]), personal=personal)


@operation(
    "GET",
    "/visits/<int:visit_id>",
    operation_id="get_visit",
    summary="Get a visit",
    tag="Visits",
    response=schemas.Visit,
    errors=(404,),
)
def get_visit(visit_id: int) -> schemas.Visit:
    """One visit of the token's sites."""
    return _one(_visit(visit_id))


@operation(
    "POST",
    "/visits/<int:visit_id>/check-out",
    operation_id="check_out_visit",
    summary="Check a visitor out",
    tag="Visits",
    response=schemas.Visit,
    write=True,
    errors=(404, 409),
)
def check_out(visit_id: int) -> schemas.Visit:
    """Check the visitor out now, as reception's button does; 409 when they have left."""
    visit = _visit(visit_id)
    if not check_out_visit(visit, now=now()):
        raise ApiProblem(409, "already_checked_out", "The visitor was checked out already.")
    audit("check_out", "visit", visit.id)
    told = queue_checked_out(get_session(), [visit], now=now())
    get_session().commit()
    if told:
        wake_sender()
    return _one(visit)
