"""Load with faults, on the production server (`kiosk serve`, gunicorn) on SQLite and PostgreSQL.

Twenty kiosks, each a separately paired browser in a thread of its own, check visitors in and
out as fast as the server answers. Sixteen are at "Head Office", where 1,500 visits have
expired and 300 have not; `kiosk purge` runs while the kiosks work. Four are at "Annex", whose
badge printer (a CUPS queue) is stopped throughout, and whose mail server and webhook target are
down for the first three quarters of the load. Afterwards: every check-in a kiosk confirmed is in
the database exactly once, badge tokens are unique, every answer was a 200, the purge erased
what had expired and nothing else, the failed prints and notifications are on the dashboard,
the outbox delivered by itself what was still waiting when the servers came back, and a retry
or a reprint from the dashboard goes out.

The figures of each run go to test-artifacts/reliability/ (docs/reliability.md quotes them).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock, SystemClock
from kiosk.enums import NotificationStatus
from kiosk.models import Notification, PrintJob, PurgeRun, Visit
from tests.load import Fleet, add_kiosks, check_visits, seed_visits, write_figures
from tests.servers import cups_pdf_queue, smtp_server, webhook_server
from tests.support import WebClient, free_port, kiosk_env, require_tool, run_kiosk, start_server

pytestmark = pytest.mark.slow

#: Check-ins per backend; each is followed by a check-out, except the last few per kiosk,
#: so a run makes about twice as many check-ins and check-outs together: about 850
#: on each backend by default (docs/reliability.md says why, and how to run more).
CHECK_INS = int(os.environ.get("KIOSK_TEST_LOAD_CHECK_INS", "450"))
HQ_KIOSKS = 16
ANNEX_KIOSKS = 4
#: Failed notifications reception sends again from the dashboard.
RETRIED = 10
ADMIN_PASSWORD = "load test admin password"


@pytest.fixture
def clock() -> FrozenClock:
    """The served app reads the real clock: so do the test's own records (pairing codes,
    retention periods)."""
    return FrozenClock(SystemClock().now())


def test_twenty_kiosks_with_purge_and_printer_mail_and_webhook_down(
    backend: str,
    database_url: str,
    session: Session,
    clock: FrozenClock,
    make_site: Any,
    make_host: Any,
    make_staff: Any,
    tmp_path: Path,
):
    now = clock.now()
    smtp_port, hook_port = free_port(), free_port()  # nothing listens there until the end
    hq = make_site(name="Head Office", retention_days=30)
    annex = make_site(name="Annex", webhook_url=f"http://127.0.0.1:{hook_port}/hooks/T000/B000")
    annex_hosts = [
        make_host(annex, name=f"Annex Host {n}", email=f"host{n}@example.com") for n in range(3)
    ]
    make_staff(role="admin", username="admin", password=ADMIN_PASSWORD)
    # Visits the purge must erase (checked out 60 days ago at a 30-day site) and visits it
    # must keep (20 days ago), at the site the load is heaviest on.
    expired = seed_visits(session, hq, 1500, checked_out=now - timedelta(days=60), label="Old")
    kept = seed_visits(session, hq, 300, checked_out=now - timedelta(days=20), label="Recent")

    with cups_pdf_queue() as queue:
        annex.print_backend, annex.cups_printer = "cups", queue
        session.commit()
        cupsenable = require_tool("cupsenable", "cups")
        subprocess.run([require_tool("cupsdisable", "cups"), queue], check=True)
        kiosks = add_kiosks(session, hq, HQ_KIOSKS, now=now, hosts=[]) + add_kiosks(
            session, annex, ANNEX_KIOSKS, now=now, hosts=annex_hosts
        )
        env = {
            **kiosk_env(tmp_path / "instance", database_url),
            "KIOSK_SMTP_HOST": "127.0.0.1",
            "KIOSK_SMTP_PORT": str(smtp_port),
            "KIOSK_SMTP_STARTTLS": "false",
            "KIOSK_SMTP_TIMEOUT_SECONDS": "2",
            "KIOSK_WEBHOOK_TIMEOUT_SECONDS": "2",
            "KIOSK_NOTIFY_MAX_ATTEMPTS": "3",
            "KIOSK_NOTIFY_RETRY_SECONDS": "1",
            "KIOSK_NOTIFY_POLL_SECONDS": "0.5",
            # The purge is started by hand in the middle of the load, not by the server.
            "KIOSK_PURGE_ON_START": "false",
            "KIOSK_PURGE_TIME": "false",
            "KIOSK_PURGE_BATCH_SIZE": "200",
        }
        server = start_server(env)
        try:
            with ExitStack() as servers_back:
                fleet = Fleet(server.base, kiosks, check_ins=CHECK_INS)
                fleet.start()
                fleet.wait_for(CHECK_INS // 4, timeout=600)
                before_purge = fleet.tally.check_ins
                started = time.monotonic()
                purge_output = run_kiosk(["purge"], env)
                purge_seconds = time.monotonic() - started
                during_purge = fleet.tally.check_ins - before_purge
                # The mail server and the webhook target come back for the last quarter.
                fleet.wait_for(CHECK_INS * 3 // 4, timeout=600)
                _port, inbox = servers_back.enter_context(smtp_server(smtp_port))
                _url, hook = servers_back.enter_context(webhook_server(hook_port))
                fleet.join(timeout=600)
                figures = fleet.figures()
                # What was still waiting goes out by itself; what used up its attempts
                # while the servers were down stays failed.
                settled = wait_for_outbox_to_settle(session)

                # Nothing lost, nothing twice, no server error.
                visits = check_visits(session, fleet)
                assert set(fleet.tally.statuses) == {200}, fleet.tally.server_errors[:3]
                assert figures["requests_without_answer"] == 0
                assert figures["check_ins_acknowledged"] >= CHECK_INS
                # A kiosk keeps at most three of its visitors on site.
                assert figures["check_ins_and_outs"] >= 2 * CHECK_INS - 3 * len(kiosks)
                assert during_purge > 0, "no check-in happened while the purge ran"

                # The purge erased exactly what had expired.
                assert "Head Office: erased 1500 visits" in purge_output, purge_output
                left = set(session.scalars(select(Visit.id).where(Visit.id.in_(expired + kept))))
                assert left == set(kept)
                [run] = session.scalars(select(PurgeRun)).all()
                assert (run.status, run.trigger, run.visits_erased) == ("succeeded", "cli", 1500)

                # The printer was down throughout: every Annex badge failed to print, and the
                # dashboard lists the visitors still on site, each with a reprint button.
                annex_visits = session.scalars(select(Visit).where(Visit.site_id == annex.id)).all()
                annex_on_site = [visit for visit in annex_visits if visit.checked_out_at is None]
                assert annex_on_site
                failed_prints = session.scalars(
                    select(PrintJob).where(PrintJob.status == "failed")
                ).all()
                assert sorted(job.visit_id for job in failed_prints) == sorted(
                    visit.id for visit in annex_visits
                )
                assert {job.error for job in failed_prints} == {"printer_stopped"}
                reception = WebClient(server.base, language="en")
                status, _page = reception.submit(
                    "/dashboard/login", {"username": "admin", "password": ADMIN_PASSWORD}
                )
                assert status == 200
                status, prints_page = reception.request("/dashboard/prints")
                assert status == 200
                assert f'<span class="count">{len(annex_on_site)}</span>' in prints_page
                assert "The printer is stopped or refuses jobs." in prints_page
                for visit in annex_on_site:
                    assert visit.visitor_name in prints_page
                    assert f"/dashboard/visits/{visit.id}/reprint" in prints_page

                # Notifications: those that failed three times while the servers were down
                # are on the dashboard; others were delivered by a retry once they were back.
                failed = settled[NotificationStatus.FAILED]
                assert failed > 0
                attempts = dict(
                    session.execute(
                        select(Notification.status, func.min(Notification.attempts)).group_by(
                            Notification.status
                        )
                    ).all()
                )
                assert (
                    attempts[NotificationStatus.FAILED] == 3
                )  # tried three times before giving up
                retried_by_itself = session.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(
                        Notification.status == NotificationStatus.SENT, Notification.attempts > 1
                    )
                )
                assert retried_by_itself > 0
                status, outbox_page = reception.request("/dashboard/notifications")
                assert status == 200
                assert f"failed:</span> {failed}</span>" in outbox_page
                assert "ConnectionRefusedError" in outbox_page
                assert outbox_page.count("/retry") == min(failed, 200)
                # Reception sends some again.
                retried = retry_failed(reception, outbox_page, limit=RETRIED)
                after = wait_for_outbox_to_settle(session)
                assert after[NotificationStatus.FAILED] == failed - len(retried)
                assert after[NotificationStatus.SENT] == settled.get(
                    NotificationStatus.SENT, 0
                ) + len(retried)
                assert len(inbox.messages) + len(hook.items) == after[NotificationStatus.SENT]
                for notification_id in retried:
                    assert (
                        session.get(Notification, notification_id).status == NotificationStatus.SENT
                    )

            # The printer comes back: a reprint from the dashboard prints.
            subprocess.run([cupsenable, queue], check=True)
            reprinted = annex_on_site[0]
            status, page = reception.request(
                f"/dashboard/visits/{reprinted.id}/reprint",
                {"csrf_token": csrf(prints_page), "back": "prints"},
            )
            assert status == 200
            assert "The badge was sent to the printer." in page
            session.expire_all()
            newest = session.scalars(
                select(PrintJob.status)
                .where(PrintJob.visit_id == reprinted.id)
                .order_by(PrintJob.id.desc())
            ).first()
            assert newest == "sent"
        finally:
            server.stop()

    figures.update(
        backend=backend,
        visits_in_database=visits["found"],
        acknowledged_check_ins_missing=visits["missing"],
        acknowledged_check_ins_twice=visits["twice"],
        acknowledged_check_outs_not_recorded=visits["check_outs_missing"],
        badge_tokens=visits["tokens"],
        badge_tokens_distinct=visits["tokens_distinct"],
        purge_visits_erased=1500,
        purge_seconds=round(purge_seconds, 1),
        check_ins_during_purge=during_purge,
        unexpired_visits_kept=len(kept),
        annex_check_ins=len(annex_visits),
        failed_prints=len(failed_prints),
        notifications=sum(settled.values()),
        notifications_failed_after_three_attempts=failed,
        notifications_delivered_once_servers_were_back=settled.get(NotificationStatus.SENT, 0),
        notifications_delivered_by_an_automatic_retry=retried_by_itself,
        notifications_retried_from_dashboard_and_delivered=len(retried),
    )
    write_figures(f"load-{backend}", figures)


def wait_for_outbox_to_settle(session: Session, timeout: float = 60) -> dict[str, int]:
    """Wait until no notification is waiting or being sent; return the count per status."""
    deadline = time.monotonic() + timeout
    while True:
        counts = outbox(session)
        if not counts.get(NotificationStatus.PENDING) and not counts.get(
            NotificationStatus.SENDING
        ):
            return counts
        assert time.monotonic() < deadline, counts
        time.sleep(0.2)


def outbox(session: Session) -> dict[str, int]:
    """How many notifications are in each state, read afresh."""
    session.expire_all()
    rows = session.execute(
        select(Notification.status, func.count()).group_by(Notification.status)
    ).all()
    session.commit()
    return {status: count for status, count in rows}


def csrf(page: str) -> str:
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, page
    return token[1]


def retry_failed(reception: WebClient, page: str, *, limit: int) -> list[int]:
    """Press Retry on the first ``limit`` failed notifications the dashboard lists."""
    ids = [int(n) for n in re.findall(r"/dashboard/notifications/(\d+)/retry", page)][:limit]
    for notification_id in ids:
        status, _page = reception.request(
            f"/dashboard/notifications/{notification_id}/retry", {"csrf_token": csrf(page)}
        )
        assert status == 200
    return ids
