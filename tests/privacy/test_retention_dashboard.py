"""The dashboard's retention status and statistics, and the notice's retention periods."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock
from kiosk.models import SiteDailyStats
from kiosk.privacy.purge import PurgeSettings, run_purge
from kiosk.services.notices import publish_notice

WARNING = "No deletion run has succeeded in the last 48 hours."


def test_retention_status_last_run_next_run_and_the_overdue_warning(
    session: Session,
    make_site: Any,
    make_visit: Any,
    make_staff: Any,
    login: Any,
    clock: FrozenClock,
):
    mine = make_site(name="Mine", retention_days=1, contact_retention_days=1)
    other = make_site(name="Other", retention_days=1)
    make_visit(mine, "Gone Soon")
    make_visit(other, "Gone Too")
    officer_user = make_staff(role="privacy", sites=(mine,))
    officer = login(officer_user)
    reception = login(make_staff(role="reception", sites=(mine,)))

    page = officer.get("/dashboard/retention").text
    assert WARNING in page
    assert "never" in page
    # 08:00 UTC now: the next daily run is tomorrow at 03:30 UTC (PURGE_TIME, PURGE_TIMEZONE).
    assert "Mar 5, 2026, 3:30:00\u202fAM" in page
    assert WARNING in officer.get("/dashboard/statistics").text
    assert WARNING not in reception.get("/dashboard/statistics").text

    clock.advance(timedelta(days=2))
    officer = login(officer_user)  # two days on, the earlier staff session has expired
    run_purge(session, clock=clock, trigger="schedule", settings=PurgeSettings())
    page = officer.get("/dashboard/retention").text
    assert WARNING not in page
    assert "Mar 6, 2026, 8:00:00\u202fAM: succeeded" in page
    assert "daily schedule" in page
    assert "Mine: 1 visit, 0 invitations" in page
    assert "Other" not in page  # another site's counts are not this officer's business
    assert "Gone Soon" not in page

    clock.advance(timedelta(hours=49))
    officer = login(officer_user)
    assert WARNING in officer.get("/dashboard/retention").text


def test_retention_periods_are_listed_per_site(make_site: Any, staff_client: FlaskClient):
    make_site(name="Short Contacts", retention_days=30, contact_retention_days=7)
    make_site(name="Plain", retention_days=14)
    page = staff_client.get("/dashboard/retention").text
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", page, re.S)
    assert ("Plain", "14 days after check-out", "with the visit") in rows
    assert ("Short Contacts", "30 days after check-out", "7 days after check-out") in rows


def test_statistics_chart_combines_kept_visits_and_stored_counts(
    session: Session,
    make_site: Any,
    make_host: Any,
    make_visit: Any,
    staff_client: FlaskClient,
    clock: FrozenClock,
):
    site = make_site(name="Chart Site", timezone="Europe/Stockholm")
    host = make_host(site, "Hanna Host")
    # Erased earlier: two visits on 2 March, kept as counts only.
    session.add(
        SiteDailyStats(
            site_id=site.id,
            day=date(2026, 3, 2),
            visits=2,
            checked_out=2,
            duration_seconds=2 * 3600,
        )
    )
    session.commit()
    # Kept: three visits today (4 March), one at 23:30 UTC yesterday = 00:30 today locally.
    make_visit(site, "One", host_id=host.id, checked_out_at=clock.now() + timedelta(minutes=30))
    make_visit(site, "Two", host_id=host.id)
    make_visit(site, "Three", checked_in_at=datetime(2026, 3, 3, 23, 30, tzinfo=UTC))

    page = staff_client.get("/dashboard/statistics?days=7").text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script
    assert "5 visits" in page
    bars = dict(re.findall(r"<title>([^<:]+): (\d+)</title></rect>", page))
    assert len(bars) == 7
    assert bars["Mar 4, 2026"] == "3"
    assert bars["Mar 3, 2026"] == "0"
    assert bars["Mar 2, 2026"] == "2"
    assert re.search(r"<td>Hanna Host</td><td>2</td><td>30 min</td>", page)
    assert "One" not in page.replace("Chart", "")  # no visitor names, only counts
    assert 'aria-current="page"' in page


def test_the_notice_states_the_contact_period_from_the_same_setting(
    session: Session, make_site: Any, pair: Any, clock: FrozenClock
):
    asks_email = make_site(
        retention_days=30, contact_retention_days=7, field_email="optional", field_host="hidden"
    )
    publish_notice(
        session,
        asks_email,
        "en",
        "Email: {contact_retention_days} days, the rest: {retention_days} days.",
        now=clock.now(),
    )
    session.commit()
    no_email = make_site(retention_days=30, contact_retention_days=7, field_host="hidden")
    with_visit = make_site(retention_days=30, field_email="required", field_host="hidden")

    def notice(site: Any) -> str:
        kiosk = pair(site)
        kiosk.post("/language", data={"locale": "en"})
        kiosk.post("/check-in", data={"name": "Nina Notice", "email": "nina@example.com"})
        return kiosk.get("/notice").text

    page = notice(asks_email)
    assert "Deleted automatically 30 days after you check out." in page
    assert "Your email address and phone number: 7 days after you check out." in page
    assert "Email: 7 days, the rest: 30 days." in page
    public = pair(asks_email).get(f"/privacy/{asks_email.id}/en").text
    assert "Your email address and phone number: 7 days after you check out." in public

    for site in (no_email, with_visit):
        page = notice(site)
        assert "Deleted automatically 30 days after you check out." in page
        assert "Your email address and phone number" not in page
