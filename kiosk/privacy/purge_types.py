"""The purge's evidence per visitor type (issue 15): a type may keep its visits for less time
than its site (``VisitorType.kept_days``), so each :class:`~kiosk.models.PurgeRun` records,
beside each site's cutoffs (``PurgeRunSite``), every type's own cutoff and how many of its
visits it erased (``PurgeRunType``). No personal data: ids, days, times and counts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kiosk.db import id_in
from kiosk.models import PurgeRunType, Site, Visit
from kiosk.privacy.rules import SiteCutoffs


def type_records(sites: Sequence[Site], cutoffs: Sequence[SiteCutoffs]) -> list[PurgeRunType]:
    """A record for every type of these sites (retired ones too: their visits are still
    erased), with the cutoff the purge uses for it: its own when it keeps visits for less
    time than its site, else its site's."""
    by_site = {c.site_id: c for c in cutoffs}
    records = []
    for site in sites:
        cut = by_site.get(site.id)
        if cut is None:
            continue
        for visitor_type in site.visitor_types:
            records.append(
                PurgeRunType(
                    visitor_type_id=visitor_type.id,
                    site_id=site.id,
                    kept_days=visitor_type.kept_days,
                    visit_cutoff=cut.types.get(visitor_type.id, cut.visit),
                    visits_erased=0,
                )
            )
    return records


def count_erased_types(session: Session, run_id: int, visit_ids: Sequence[int]) -> None:
    """Add the visits about to be erased (locked, in the erasing transaction) to their types'
    counts in the run."""
    if not visit_ids:
        return
    connection = session.connection()
    rows = connection.execute(
        select(Visit.visitor_type_id, func.count())
        .where(id_in(session, Visit.id, visit_ids), Visit.visitor_type_id.is_not(None))
        .group_by(Visit.visitor_type_id)
    )
    for type_id, number in rows:
        connection.execute(
            update(PurgeRunType)
            .where(PurgeRunType.run_id == run_id, PurgeRunType.visitor_type_id == type_id)
            .values(visits_erased=PurgeRunType.visits_erased + number)
        )
