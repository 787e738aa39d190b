"""The check-in's CPU in one process: the use case called directly, the kiosk's six requests
through Flask's test client, and the floor (a CSRF form and one ORM INSERT), alternating.

Run by ``bench/checkin.py --one-process``. Over HTTP the machine's load moves the floor's CPU
by 20-35% from one run to the next (bench/README.md, "Round two"), which buries a change of
5-10%; in one process, with the three measured turn by turn in the same seconds, it does not.
What this leaves out is the HTTP server's own work per request (gunicorn's parsing and the
socket), which the HTTP runs include.

- **floor**: bench/baseline_app.py's ``POST /floor`` through its test client, on the same
  database: a Flask-WTF form validated with its CSRF token and one ORM INSERT;
- **check-in use case**: ``kiosk.checkin.check_in`` called as the kiosk's view calls it
  (a session, the site, the details, the notice shown, the device, now), one commit each;
- **whole check-in**: a paired kiosk's six requests (form, form POST, notice, the
  acknowledgement that saves the visit, confirmation, badge PDF), CPU per request.

Every visitor leaves between rounds (not timed), so the host has at most two rounds' worth on
site, as at a reception; the HTTP runs leave theirs on site.
"""

from __future__ import annotations

import importlib
import itertools
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: The six requests of a check-in, in order, as bench/checkin.py names them.
STEPS = (
    "GET form",
    "POST form",
    "GET notice",
    "POST notice (saves)",
    "GET confirmation",
    "GET badge PDF",
)
_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def _token(body: bytes) -> str:
    found = _CSRF.search(body)
    if found is None:
        raise RuntimeError("no CSRF token on the page")
    return found[1].decode()


def _cpu_ms(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.process_time()
    result = action()
    return (time.process_time() - start) * 1000, result


@dataclass
class ProcessResult:
    backend: str
    rounds: int
    per_round: int
    #: Median over rounds of each round's median, CPU ms.
    floor_ms: float = 0.0
    use_case_ms: float = 0.0
    steps_ms: dict[str, float] = field(default_factory=dict)

    @property
    def whole_ms(self) -> float:
        return sum(self.steps_ms.values())


class _Floor:
    """bench/baseline_app.py's floor route, in this process, on the same database."""

    def __init__(self, database_url: str) -> None:
        os.environ["BASELINE_DATABASE_URL"] = database_url
        # The module makes its engine from that variable when imported: made again for a
        # second backend.
        if "baseline_app" in sys.modules:
            baseline = importlib.reload(sys.modules["baseline_app"])
        else:
            baseline = importlib.import_module("baseline_app")
        baseline.create_table()
        self.client = baseline.app.test_client()
        self.token = _token(self.client.get("/floor").data)
        self.names = itertools.count()

    def post(self) -> None:
        fields = {
            "csrf_token": self.token,
            "name": f"Floor Visitor {next(self.names)}",
            "company": "Bench AB",
        }
        response = self.client.post("/floor", data=fields)
        if response.status_code != 200:
            raise RuntimeError(f"floor POST: HTTP {response.status_code}")


class _Kiosk:
    """A kiosk paired through /pair, checking visitors in through the test client."""

    def __init__(self, app: Any, pairing_code: str, host_name: str) -> None:
        self.client = app.test_client()
        self.host_name = host_name
        self.names = itertools.count()
        page = self.client.get("/pair").data
        paired = self.client.post("/pair", data={"csrf_token": _token(page), "code": pairing_code})
        if paired.status_code != 302:
            raise RuntimeError(f"pairing failed: HTTP {paired.status_code}")

    def check_in(self, times: dict[str, list[float]]) -> None:
        client = self.client

        def step(name: str, expected: int, action: Callable[[], Any]) -> Any:
            spent, response = _cpu_ms(action)
            if response.status_code != expected:
                raise RuntimeError(f"{name}: HTTP {response.status_code}")
            times[name].append(spent)
            return response

        form = step("GET form", 200, lambda: client.get("/check-in"))
        fields = {
            "csrf_token": _token(form.data),
            "name": f"Process Visitor {next(self.names)}",
            "company": "Bench AB",
            "host_query": self.host_name,
        }
        step("POST form", 302, lambda: client.post("/check-in", data=fields))
        notice = step("GET notice", 200, lambda: client.get("/notice"))
        read = {"csrf_token": _token(notice.data), "read": "1"}
        step("POST notice (saves)", 302, lambda: client.post("/notice", data=read))
        step("GET confirmation", 200, lambda: client.get("/done"))
        badge = step("GET badge PDF", 200, lambda: client.get("/badge.pdf"))
        if not badge.data.startswith(b"%PDF"):
            raise RuntimeError("the badge is not a PDF")


class _UseCase:
    """``kiosk.checkin.check_in`` called directly, as the kiosk's notice POST calls it."""

    def __init__(self, app: Any, host_name: str) -> None:
        from sqlalchemy import select

        from kiosk.db import get_database
        from kiosk.models import Host, KioskDevice, Site
        from kiosk.notifications.outbox import NotifySettings
        from kiosk.services.notices import current_notice

        self.app = app
        self.sessionmaker = get_database(app).sessionmaker
        with self.sessionmaker() as session:
            site = session.scalars(select(Site).where(Site.name == "Demo Office")).one()
            self.site_id = site.id
            self.host_id = session.scalars(
                select(Host.id).where(Host.site_id == site.id, Host.name == host_name)
            ).one()
            self.device_id = session.scalars(
                select(KioskDevice.id).where(KioskDevice.site_id == site.id)
            ).first()
            notice = current_notice(session, site, "en")
            if notice is None:
                raise RuntimeError("the demo site has no notice")
            self.notice_id = notice.id
        self.notify = NotifySettings.from_config(app.config)
        self.names = itertools.count()

    def everyone_leaves(self) -> None:
        """Check every visitor out (not timed), as a day's visitors leave: the check-in form
        compares the name with the host's visitors on site (kiosk.services.visits.
        on_site_visit_of), and one host with hundreds on site is not a reception's day."""
        from sqlalchemy import update

        from kiosk.models import Visit

        with self.sessionmaker() as session:
            session.execute(
                update(Visit)
                .where(Visit.checked_out_at.is_(None))
                .values(checked_out_at=datetime.now(UTC))
            )
            session.commit()

    def call(self) -> float:
        """One check-in; the CPU of the call alone (the objects it is given are read first,
        as the view has them from its request)."""
        from kiosk.checkin import check_in
        from kiosk.models import KioskDevice, NoticeVersion, Site
        from kiosk.services.visits import VisitorDetails

        with self.app.app_context(), self.sessionmaker() as session:
            site = session.get(Site, self.site_id)
            notice = session.get(NoticeVersion, self.notice_id)
            device = session.get(KioskDevice, self.device_id) if self.device_id else None
            if site is None or notice is None:
                raise RuntimeError("the demo site or its notice is gone")
            details = VisitorDetails(
                name=f"Use Case Visitor {next(self.names)}",
                company="Bench AB",
                host_id=self.host_id,
            )
            spent, _done = _cpu_ms(
                lambda: check_in(
                    session,
                    site,
                    details,
                    locale="en",
                    notice=notice,
                    invitation=None,
                    device=device,
                    notify=self.notify,
                    now=datetime.now(UTC),
                )
            )
        return spent


def run_one_process(
    backend: str,
    env: dict[str, str],
    config: dict[str, Any],
    pairing_code: str,
    host_name: str,
    *,
    rounds: int,
    per_round: int,
) -> ProcessResult:
    """Alternate the floor, the use case and whole check-ins, ``per_round`` of each a round;
    report the median of the rounds' medians."""
    from kiosk import create_app
    from kiosk.server import freeze_start_objects

    database_url = env.get("KIOSK_DATABASE_URL") or (
        f"sqlite:///{Path(env['KIOSK_INSTANCE_PATH']) / 'kiosk.sqlite3'}"
    )
    app = create_app(config)
    kiosk = _Kiosk(app, pairing_code, host_name)
    use_case = _UseCase(app, host_name)
    floor = _Floor(database_url)
    # As each `kiosk serve` worker does once its app is made (kiosk.server).
    freeze_start_objects()
    # Warm up: every template compiled, every statement in SQLAlchemy's cache.
    for _ in range(5):
        kiosk.check_in({name: [] for name in STEPS})
        use_case.call()
        floor.post()
    floors: list[float] = []
    use_cases: list[float] = []
    steps: dict[str, list[float]] = {name: [] for name in STEPS}
    for _ in range(rounds):
        use_case.everyone_leaves()
        round_floor: list[float] = []
        round_use_case: list[float] = []
        round_steps: dict[str, list[float]] = {name: [] for name in STEPS}
        for _ in range(per_round):
            round_floor.append(_cpu_ms(floor.post)[0])
            round_use_case.append(use_case.call())
            kiosk.check_in(round_steps)
        floors.append(statistics.median(round_floor))
        use_cases.append(statistics.median(round_use_case))
        for name in STEPS:
            steps[name].append(statistics.median(round_steps[name]))
    result = ProcessResult(backend, rounds, per_round)
    result.floor_ms = statistics.median(floors)
    result.use_case_ms = statistics.median(use_cases)
    result.steps_ms = {name: statistics.median(values) for name, values in steps.items()}
    return result


def show_one_process(
    result: ProcessResult, post_target: float, whole_target: float, floor_ratio: float
) -> None:
    floor = result.floor_ms
    post = result.steps_ms["POST notice (saves)"]
    print(
        f"\n{result.backend}: one process, CPU ms, median of {result.rounds} rounds of"
        f" {result.per_round} (floor, use case and check-in in turn)"
    )
    print(f"  floor (CSRF form + ORM INSERT)     {floor:6.2f}")
    print(
        f"  check-in use case (check_in())     {result.use_case_ms:6.2f}"
        f"  ({result.use_case_ms / floor:.2f} x the floor)"
    )
    for name in STEPS:
        print(f"  {name:<34} {result.steps_ms[name]:6.2f}")
    print(
        f"  check-in POST / floor (CPU): {floor / post:.2f} (target >= {floor_ratio:.2f});"
        f" {post:.2f} ms ({post / post_target:.2f} x the {post_target:.1f} ms target)"
    )
    print(
        f"  whole check-in (6 requests, badge included): {result.whole_ms:.2f} ms"
        f" ({result.whole_ms / whole_target:.2f} x the {whole_target:.0f} ms target;"
        " HTTP adds the server's own work per request)"
    )
    sys.stdout.flush()
