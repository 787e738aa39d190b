"""Visit groups: a visitor who checks in "with others" adds companions at the kiosk; each gets
a visit of their own, all linked to one :class:`~kiosk.models.VisitGroup`.

What a group changes: the host is told once (kiosk.checkin.check_in_group), the dashboard
shows the members together (:func:`with_groups`), and each member still checks out with their
own badge. A group holds no personal data; the purge erases it once no visit names it
(:func:`erase_empty_groups`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from kiosk.models import Site, Visit, VisitGroup

#: The most companions a site may allow one visitor to add (the site admin's setting is
#: bounded to 0..this): a kiosk session holds them all until the check-in.
MAX_COMPANIONS_LIMIT = 30
#: What a site allows when its admin never said.
DEFAULT_MAX_COMPANIONS = 10


def groups_allowed(site: Site) -> bool:
    """Whether the kiosk offers "I am with others" at this site."""
    return companion_limit(site) > 0


def companion_limit(site: Site) -> int:
    """How many companions one visitor may add at this site (bounded, whatever is stored)."""
    stored = site.max_companions if site.max_companions is not None else DEFAULT_MAX_COMPANIONS
    return max(0, min(int(stored), MAX_COMPANIONS_LIMIT))


def new_group(
    session: Session, site: Site, members: Sequence[Visit], *, now: datetime
) -> VisitGroup:
    """Link these just-registered visits as one group (the caller commits)."""
    group = VisitGroup(site_id=site.id, size=len(members), created_at=now)
    session.add(group)
    for visit in members:
        visit.group = group
    return group


class Groupable(Protocol):
    """What :func:`with_groups` needs of a listed visit: a Visit, or a row read as columns
    (kiosk.services.visits.PresentVisit)."""

    @property
    def id(self) -> int: ...
    @property
    def group_id(self) -> int | None: ...


V = TypeVar("V", bound=Groupable)


@dataclass(frozen=True)
class ListedVisit(Generic[V]):
    """A visit in a dashboard list, with where it stands in its group."""

    visit: V
    #: How many of its group are in this list (None: not in a group, or alone in the list).
    group_size: int | None = None
    #: The first row of its group in the list (the group's marker goes there).
    group_start: bool = False
    #: The last row of its group in the list.
    group_end: bool = False

    @property
    def css_class(self) -> str:
        """The row's classes in the dashboard's tables (static/css/dashboard.css)."""
        if not self.group_size:
            return ""
        classes = ["in-group"]
        if self.group_start:
            classes.append("group-start")
        if self.group_end:
            classes.append("group-end")
        return " ".join(classes)


def with_groups(visits: Sequence[V]) -> list[ListedVisit[V]]:
    """The visits in their order, but each group's members together where its first member
    stands; a group with one member left in the list is shown as a single visit."""
    members: dict[int, list[V]] = {}
    for visit in visits:
        if visit.group_id is not None:
            members.setdefault(visit.group_id, []).append(visit)
    listed: list[ListedVisit[V]] = []
    done: set[int] = set()
    for visit in visits:
        group_id = visit.group_id
        if group_id is None or len(members[group_id]) < 2:
            listed.append(ListedVisit(visit))
            continue
        if group_id in done:
            continue
        done.add(group_id)
        # The first visitor (the lowest id: registered first) leads the rows.
        together = sorted(members[group_id], key=lambda member: member.id)
        for position, member in enumerate(together):
            listed.append(
                ListedVisit(
                    member,
                    group_size=len(together),
                    group_start=position == 0,
                    group_end=position == len(together) - 1,
                )
            )
    return listed


def erase_empty_groups(session: Session) -> int:
    """Erase the groups no visit names any more (their visits were erased); the caller
    commits. Returns how many went."""
    result = session.execute(
        delete(VisitGroup).where(~exists(select(Visit.id).where(Visit.group_id == VisitGroup.id)))
    )
    return int(getattr(result, "rowcount", 0) or 0)
