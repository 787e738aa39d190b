"""Every page at 1,000,000 visits: each staff page, the API's lists, the data-subject search
and a kiosk check-in, on the data of bench/dashboard.py (ten sites, an admin serving all).

    .venv/bin/python bench/pages.py                  # SQLite in a temporary folder
    .venv/bin/python bench/pages.py --postgres URL   # also PostgreSQL, in a throwaway schema

bench/dashboard.py times the pages reception lives on against their targets; this one looks
for the page nobody timed, whose work grows with the history: each request through the app
(the Flask test client, in one process), the median of --repeat, and its ratio to the
dashboard page in the same run. A page over SLOW_MS is marked: the three found on 6 Dec (the
on-site check at every check-in, the data-subject search, the statistics) took 0.1-7.4 s.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dashboard import (  # noqa: E402  (bench/ is on the path above)
    HARD_LIMIT_SECONDS,
    STAFF_PASSWORD,
    median_ms,
    post_form,
    prepare,
    visitor_name,
)
from purge import each_backend, key_store_settings  # noqa: E402

#: A page slower than this at a million visits is marked.
SLOW_MS = 100.0

#: Staff pages without a parameter, and those of the first site and the newest visit.
STAFF_PAGES = (
    "/dashboard/",
    "/dashboard/live",
    "/dashboard/today",
    "/dashboard/history",
    "/dashboard/export",
    "/dashboard/audit",
    "/dashboard/prints",
    "/dashboard/notifications",
    "/dashboard/requests",
    "/dashboard/retention",
    "/dashboard/statistics?days=7",
    "/dashboard/statistics",
    "/dashboard/statistics?days=90",
    "/dashboard/statistics?days=365",
    "/dashboard/kiosks",
    "/dashboard/evacuation.csv",
    "/dashboard/evacuation.pdf",
    "/dashboard/expected/new",
    "/dashboard/visits/{visit}",
    "/dashboard/requests/visits/{visit}",
    "/dashboard/admin/",
    "/dashboard/admin/sites",
    "/dashboard/admin/sites/{site}",
    "/dashboard/admin/hosts",
    "/dashboard/admin/staff",
    "/dashboard/admin/webhooks",
    "/dashboard/admin/api-tokens",
    "/dashboard/admin/sites/{site}/notices",
    "/dashboard/admin/sites/{site}/types",
    "/dashboard/admin/sites/{site}/documents",
    "/dashboard/sites/{site}/check-out-all",
)
API_PAGES = (
    "/api/v1/visits",
    "/api/v1/visits?limit=100",
    "/api/v1/visits/on-site",
    "/api/v1/visits/{visit}",
    "/api/v1/invitations",
    "/api/v1/hosts",
    "/api/v1/sites",
    "/api/v1/purge-runs",
)
KIOSK_STEPS = ("GET form", "POST form", "GET notice", "POST notice", "GET done", "GET badge")


@dataclass
class PageTime:
    backend: str
    what: str
    ms: float
    status: int
    size: int


def run(backend: str, url: str, args: argparse.Namespace, folder: Path) -> list[PageTime]:
    from sqlalchemy import select

    from kiosk import create_app
    from kiosk.db import get_database
    from kiosk.models import Host, Site, Visit
    from kiosk.server import freeze_start_objects
    from kiosk.services.api_tokens import create_api_token
    from kiosk.services.kiosks import create_device
    from kiosk.services.staff import create_staff_user

    print(f"{backend}: preparing {args.visits:,} visits across 10 sites", flush=True)
    prepare(url, args.visits, args.invitations, folder / f"{backend}-keys")
    app = create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(folder / f"{backend}-instance"),
            "SECRET_KEY": "bench",
            "LOG_LEVEL": "WARNING",
            **key_store_settings(folder / f"{backend}-keys"),
        }
    )
    database = get_database(app)
    freeze_start_objects()  # as each `kiosk serve` worker does (kiosk.server)
    now = datetime.now(UTC)
    with database.sessionmaker() as session:
        create_staff_user(session, username="bench", password=STAFF_PASSWORD, role="admin", now=now)
        sites = list(session.scalars(select(Site).order_by(Site.id)))
        site = sites[0]
        newest = session.scalars(select(Visit.id).order_by(Visit.id.desc()).limit(1)).one()
        host = session.scalars(
            select(Host).where(Host.site_id == site.id, Host.active.is_(True)).order_by(Host.id)
        ).first()
        if host is None:
            raise RuntimeError("the bench site has no host")
        host_name = host.name
        token = create_api_token(
            session,
            name="bench",
            sites=sites,
            can_write=False,
            personal_data=True,
            created_by=None,
            now=now,
        ).secret
        _device, pairing_code = create_device(session, site, "Bench kiosk", now=now)
        site_id = site.id
        session.commit()

    times: list[PageTime] = []

    def timed(what: str, request: Callable[[], Any], status: int = 200) -> float:
        response = request()
        if response.status_code != status:
            raise RuntimeError(f"{what}: HTTP {response.status_code}, expected {status}")
        ms = median_ms(request, args.repeat)
        times.append(PageTime(backend, what, ms, response.status_code, len(response.data)))
        return ms

    staff = app.test_client()
    login = post_form(staff, "/dashboard/login", {"username": "bench", "password": STAFF_PASSWORD})
    if login.status_code != 302:
        raise RuntimeError(f"could not log in: {login.status_code}")
    for path in STAFF_PAGES:
        page = path.format(site=site_id, visit=newest)
        timed(page, lambda page=page: staff.get(page))

    # The data-subject search by a common name and by a name nobody has (each reads every
    # unused invitation of the sites).
    first, surname = visitor_name(args.visits // 2).split(" ", 1)
    for name in (f"{first} {surname}", "Zyx Qwertyson"):
        timed(
            f"POST /dashboard/requests (name {name!r})",
            lambda name=name: post_form(staff, "/dashboard/requests", {"name": name}),
        )

    # The CSV export of the first site's whole history (a tenth of the visits), read to the
    # end: it is streamed a batch at a time, and only the reading does the work.
    everything = {"site": site_id, "date_from": "2000-01-01", "date_to": now.date().isoformat()}
    timed(
        "POST /dashboard/export (the first site, every day)",
        lambda: _read_to_the_end(post_form(staff, "/dashboard/export", everything)),
    )

    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    for path in API_PAGES:
        page = path.format(visit=newest)
        timed(page, lambda page=page: api.get(page, headers=bearer))

    # A kiosk of the first site checking visitors in with common first names: each of its
    # requests, medians over the visitors (each a new visit, so not repeated as the pages).
    kiosk = app.test_client()
    paired = post_form(kiosk, "/pair", {"code": pairing_code})
    if paired.status_code != 302:
        raise RuntimeError(f"pairing failed: {paired.status_code}")
    steps: dict[str, list[float]] = {step: [] for step in KIOSK_STEPS}
    sizes: dict[str, int] = {}
    serial = itertools.count()

    def step(what: str, request: Callable[[], Any], status: int) -> Any:
        started = time.perf_counter()
        response = request()
        steps[what].append((time.perf_counter() - started) * 1000)
        if response.status_code != status:
            raise RuntimeError(f"kiosk {what}: HTTP {response.status_code}")
        sizes[what] = len(response.data)
        return response

    for number in range(args.repeat + 1):
        name = f"{('Anna', 'Erik', 'Maria')[number % 3]} Benchson{next(serial)}"
        form = step("GET form", lambda: kiosk.get("/check-in"), 200)
        fields = {"csrf_token": _csrf(form.text), "name": name, "host_query": host_name}
        step("POST form", lambda fields=fields: kiosk.post("/check-in", data=fields), 302)
        notice = step("GET notice", lambda: kiosk.get("/notice"), 200)
        read = {"csrf_token": _csrf(notice.text), "read": "1"}
        step("POST notice", lambda read=read: kiosk.post("/notice", data=read), 302)
        step("GET done", lambda: kiosk.get("/done"), 200)
        step("GET badge", lambda: kiosk.get("/badge.pdf"), 200)
        kiosk.get("/reset")
    for what, samples in steps.items():
        warm = sorted(samples[1:])
        times.append(PageTime(backend, f"kiosk {what}", warm[len(warm) // 2], 200, sizes[what]))
    database.engine.dispose()
    return times


def _read_to_the_end(response: Any) -> Any:
    response.get_data()  # a streamed body is produced as it is read
    return response


def _csrf(page: str) -> str:
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("no CSRF token on the kiosk's page")
    return token[1]


def show(times: list[PageTime]) -> None:
    for backend in dict.fromkeys(t.backend for t in times):
        rows = [t for t in times if t.backend == backend]
        dashboard = next(t.ms for t in rows if t.what == "/dashboard/")
        print(f"\n{backend}: ms (median), / the dashboard page in the same run, size")
        for t in rows:
            mark = "  SLOW" if t.ms > SLOW_MS else ""
            print(
                f"  {t.ms:9.1f} ms {t.ms / dashboard:6.2f}x {t.size / 1024:8.1f} KB  {t.what}{mark}"
            )
        slow = [t.what for t in rows if t.ms > SLOW_MS]
        print(f"  over {SLOW_MS:.0f} ms: {len(slow)} of {len(rows)}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--invitations", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per page (median)")
    parser.add_argument("--quick", action="store_true", help="a tiny run, to test the script")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("KIOSK_BENCH_POSTGRES_URL"),
        help="PostgreSQL URL (default: $KIOSK_BENCH_POSTGRES_URL); a throwaway schema is used",
    )
    args = parser.parse_args()
    if args.quick:
        args.visits, args.invitations, args.repeat = 600, 200, 2
    signal.alarm(HARD_LIMIT_SECONDS)
    folder = Path(tempfile.mkdtemp(prefix="kiosk-bench-pages-"))

    def measure(backend: str, url: str) -> list[PageTime]:
        return run(backend, url, args, folder)

    try:
        sqlite_url = f"sqlite:///{folder / 'bench.sqlite3'}"
        times = [timing for each in each_backend(args, sqlite_url, measure) for timing in each]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    show(times)
    return 0


if __name__ == "__main__":
    sys.exit(main())
