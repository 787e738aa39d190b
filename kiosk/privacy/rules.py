"""The retention rules: when each kind of visitor data must be gone.

- A visit is erased ``site.retention_days`` after it ended: its check-out, or its check-in when
  it was never checked out; a visit whose visitor type keeps visits for less time
  (``VisitorType.kept_days``, never more than the site's) that many days after it ended.
  Days are calendar days on the site's clock, so a visit that ended at 10:00 is erased from
  10:00 that many days later, across a daylight-saving change too.
- Email and phone (``CONTACT_FIELDS``) are erased ``site.contact_days`` after the visit ended
  when the site keeps them for less time than the visit.
- An invitation that was never used is erased ``retention_days`` after its expected day ended,
  or its visitor type's ``kept_days`` when reception said the kind of visit and that type keeps
  visits for less time; a used one goes with its visit.

The purge (:mod:`kiosk.privacy.purge`) applies these rules; access exports and the dashboard
quote them to say when a record will be gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.models import Invitation, Site, Visit


@dataclass(frozen=True)
class SiteCutoffs:
    """What the purge erases at one site at one moment."""

    site_id: int
    site_name: str
    zone: ZoneInfo
    #: Visits that ended at or before this are erased.
    visit: datetime
    #: Email and phone of visits that ended at or before this are erased.
    contact: datetime
    #: Unused invitations expected before this day are erased.
    invitation: date
    #: The email of unused invitations expected before this day is erased.
    contact_invitation: date
    #: Visitor type id -> visits of that type that ended at or before this are erased, for
    #: the types kept for less time than the site keeps visits.
    types: Mapping[int, datetime] = field(default_factory=dict)
    #: Visitor type id -> unused invitations of that type expected before this day are
    #: erased, for the same types.
    invitation_types: Mapping[int, date] = field(default_factory=dict)
    #: Signed documents whose own period ends at or before this are erased (the run's time:
    #: each copy carries its ``erase_after``); None: none are.
    documents: datetime | None = None

    @property
    def contacts_sooner(self) -> bool:
        return self.contact > self.visit


def _days_before(moment: datetime, zone: ZoneInfo, days: int) -> datetime:
    # Aware datetime arithmetic in a ZoneInfo zone is wall-clock arithmetic: 10:00 minus 30
    # days is 10:00, whatever daylight-saving change lies between.
    return (moment.astimezone(zone) - timedelta(days=days)).astimezone(UTC)


def _days_after(moment: datetime, zone: ZoneInfo, days: int) -> datetime:
    return (moment.astimezone(zone) + timedelta(days=days)).astimezone(UTC)


def cutoffs_for(site: Site, now: datetime) -> SiteCutoffs:
    """The site's cutoffs at ``now``."""
    zone = ZoneInfo(site.timezone)
    today = now.astimezone(zone).date()
    sooner = [kind for kind in site.visitor_types if kind.kept_days < site.retention_days]
    return SiteCutoffs(
        site_id=site.id,
        site_name=site.name,
        zone=zone,
        visit=_days_before(now, zone, site.retention_days),
        contact=_days_before(now, zone, site.contact_days),
        invitation=today - timedelta(days=site.retention_days),
        contact_invitation=today - timedelta(days=site.contact_days),
        types={kind.id: _days_before(now, zone, kind.kept_days) for kind in sooner},
        invitation_types={kind.id: today - timedelta(days=kind.kept_days) for kind in sooner},
        documents=now,
    )


def kept_days(site: Site, record: Visit | Invitation) -> int:
    """Days after it ended (a visit) or after its expected day (an unused invitation) until
    it is erased: its type's (never more than its site's), else its site's."""
    if record.visitor_type is not None:
        return record.visitor_type.kept_days
    return site.retention_days


def visit_erased_at(site: Site, visit: Visit) -> datetime:
    """From when the purge erases this visit (it runs daily, so up to a day later)."""
    ended = visit.checked_out_at or visit.checked_in_at
    return _days_after(ended, ZoneInfo(site.timezone), kept_days(site, visit))


def contacts_erased_at(site: Site, visit: Visit) -> datetime:
    """From when the purge erases this visit's email and phone."""
    ended = visit.checked_out_at or visit.checked_in_at
    days = min(site.contact_days, kept_days(site, visit))
    return _days_after(ended, ZoneInfo(site.timezone), days)


def invitation_erased_at(site: Site, invitation: Invitation) -> datetime:
    """From when the purge erases this invitation, if it is never used."""
    zone = ZoneInfo(site.timezone)
    day_after = invitation.expected_on + timedelta(days=kept_days(site, invitation) + 1)
    return datetime(day_after.year, day_after.month, day_after.day, tzinfo=zone).astimezone(UTC)
