"""API: evidence of the retention purge (when it ran, how it went, what it erased)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kiosk.api import schemas
from kiosk.api.framework import decode_cursor, operation, page_of, token_sites
from kiosk.db import get_session
from kiosk.models import PurgeRun


@operation(
    "GET",
    "/purge-runs",
    operation_id="list_purge_runs",
    summary="List purge runs",
    tag="Privacy",
    query=schemas.PageQuery,
    response=schemas.PurgeRunList,
)
def list_purge_runs(query: schemas.PageQuery) -> schemas.PurgeRunList:
    """Runs of the retention purge, newest first, with the cutoffs and counts of the
    token's sites (a run covers every site; others' figures are left out)."""
    after = decode_cursor(query.cursor)
    statement = select(PurgeRun).options(selectinload(PurgeRun.sites), selectinload(PurgeRun.types))
    if after:
        statement = statement.where(PurgeRun.id < after)
    rows = list(
        get_session().scalars(statement.order_by(PurgeRun.id.desc()).limit(query.limit + 1))
    )
    items, next_cursor = page_of(rows, query.limit)
    site_ids = {site.id for site in token_sites()}
    return schemas.PurgeRunList(
        items=[
            schemas.PurgeRun(
                id=run.id,
                started_at=run.started_at,
                finished_at=run.finished_at,
                status=run.status,
                trigger=run.trigger,
                error=run.error,
                sites=[
                    schemas.PurgeRunSite(
                        site_id=item.site_id,
                        visit_cutoff=item.visit_cutoff,
                        contact_cutoff=item.contact_cutoff,
                        invitation_cutoff=item.invitation_cutoff,
                        visits_erased=item.visits_erased,
                        invitations_erased=item.invitations_erased,
                        contacts_erased=item.contacts_erased,
                        documents_erased=item.documents_erased,
                        types=[
                            schemas.PurgeRunType(
                                visitor_type_id=record.visitor_type_id,
                                kept_days=record.kept_days,
                                visit_cutoff=record.visit_cutoff,
                                visits_erased=record.visits_erased,
                            )
                            for record in run.types
                            if record.site_id == item.site_id
                        ],
                    )
                    for item in run.sites
                    if item.site_id in site_ids
                ],
            )
            for run in items
        ],
        next_cursor=next_cursor,
    )
