"""What the dashboard says about the purge: the last runs and whether one is overdue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kiosk.enums import PurgeRunStatus
from kiosk.models import PurgeRun, PurgeRunSite

#: The dashboard warns when no purge succeeded for this long.
OVERDUE_AFTER = timedelta(hours=48)


@dataclass(frozen=True)
class PurgeStatus:
    """What the dashboard says about the purge."""

    last_run: PurgeRun | None
    last_success: PurgeRun | None
    next_run: datetime | None
    #: No purge succeeded within OVERDUE_AFTER.
    overdue: bool


def purge_status(session: Session, *, now: datetime, next_run: datetime | None) -> PurgeStatus:
    """The newest run, the newest successful one, and whether the purge is overdue."""
    last_run = session.scalar(
        select(PurgeRun).order_by(PurgeRun.started_at.desc(), PurgeRun.id.desc()).limit(1)
    )
    last_success = _last_success(session)
    return PurgeStatus(last_run, last_success, next_run, _overdue(last_success, now))


def purge_overdue(session: Session, *, now: datetime) -> bool:
    """Whether the purge is overdue: what every page of an admin warns of, in one query."""
    return _overdue(_last_success(session), now)


def _last_success(session: Session) -> PurgeRun | None:
    return session.scalar(
        select(PurgeRun)
        .where(PurgeRun.status == PurgeRunStatus.SUCCEEDED)
        .order_by(PurgeRun.finished_at.desc(), PurgeRun.id.desc())
        .limit(1)
    )


def _overdue(last_success: PurgeRun | None, now: datetime) -> bool:
    return (
        last_success is None
        or last_success.finished_at is None
        or last_success.finished_at < now - OVERDUE_AFTER
    )


def recent_runs(session: Session, limit: int = 20) -> Sequence[PurgeRun]:
    """The newest purge runs with their per-site records."""
    return session.scalars(
        select(PurgeRun)
        .options(selectinload(PurgeRun.sites).selectinload(PurgeRunSite.site))
        .order_by(PurgeRun.started_at.desc(), PurgeRun.id.desc())
        .limit(limit)
    ).all()
