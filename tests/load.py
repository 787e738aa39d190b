"""Simulated kiosks for the load and fault tests: each one a thread with a browser of its own
(tests.support.WebClient) paired as a separate kiosk device, checking visitors in and out on
the production server as fast as the server answers, and keeping a record of every answer."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import threading
import time
import urllib.error
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.models import Host, Site, Visit
from kiosk.services.kiosks import create_device
from kiosk.services.visits import new_badge_token, new_short_code
from tests.support import WebClient

#: Where the figures of each run are written (not committed; see .gitignore).
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "reliability"

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_BADGE_CODE = re.compile(r'class="badge-code">(\w+)<')


@dataclass(frozen=True)
class Pairing:
    """A kiosk device to be: its one-time pairing code and the hosts its visitors ask for."""

    code: str
    host_ids: list[int]


def add_kiosks(
    session: Session, site: Site, count: int, *, now: datetime, hosts: list[Host]
) -> list[Pairing]:
    """Create ``count`` kiosk devices for a site; their visitors take turns at ``hosts``."""
    pairings = []
    for number in range(1, count + 1):
        _device, code = create_device(session, site, f"{site.name} kiosk {number}", now=now)
        pairings.append(Pairing(code, [host.id for host in hosts]))
    session.commit()
    return pairings


def seed_visits(
    session: Session, site: Site, count: int, *, checked_out: datetime, label: str
) -> list[int]:
    """``count`` visits checked in an hour before ``checked_out`` and out then; their ids."""
    visits = [
        Visit(
            site_id=site.id,
            visitor_name=f"{label} Visitor {number}",
            badge_token=new_badge_token(checked_out),
            short_code=new_short_code(checked_out),
            locale="sv",
            checked_in_at=checked_out - timedelta(hours=1),
            checked_out_at=checked_out,
        )
        for number in range(count)
    ]
    session.add_all(visits)
    session.commit()
    return [visit.id for visit in visits]


def check_visits(session: Session, fleet: Fleet) -> dict[str, int]:
    """Compare what the kiosks were told with the database; return the counts."""
    session.expire_all()
    attempted = {visitor.name: visitor for visitor in fleet.tally.visitors}
    # Names are sealed: compared after decryption.
    rows = [visit for visit in session.scalars(select(Visit)) if visit.visitor_name in attempted]
    found = Counter(row.visitor_name for row in rows)
    stored = {row.visitor_name: row for row in rows}
    acknowledged = fleet.tally.acknowledged()
    missing = [v.name for v in acknowledged if found[v.name] == 0]
    twice = [name for name, times in found.items() if times > 1]
    wrong_code = [
        v.name for v in acknowledged if v.name in stored and stored[v.name].short_code != v.code
    ]
    check_outs_missing = [
        v.name for v in acknowledged if v.checked_out and stored[v.name].checked_out_at is None
    ]
    tokens, distinct = session.execute(
        select(func.count(Visit.badge_token), func.count(Visit.badge_token.distinct()))
    ).one()
    session.commit()
    assert not missing, f"{len(missing)} acknowledged check-ins are missing: {missing[:5]}"
    assert not twice, f"{len(twice)} visitors are in the database more than once: {twice[:5]}"
    assert not wrong_code, f"badge codes differ from the confirmation: {wrong_code[:5]}"
    assert not check_outs_missing, f"acknowledged check-outs not recorded: {check_outs_missing[:5]}"
    assert tokens == distinct, f"{tokens - distinct} badge tokens are not unique"
    return {
        "found": len(rows),
        "missing": len(missing),
        "twice": len(twice),
        "check_outs_missing": len(check_outs_missing),
        "unacknowledged_but_stored": len(rows) - len(acknowledged),
        "tokens": tokens,
        "tokens_distinct": distinct,
    }


class NoAnswer(Exception):
    """The server could not be reached or dropped the connection (it is down or restarting)."""


@dataclass
class Visitor:
    """One visitor's attempt at a kiosk; the name is unique to the attempt."""

    name: str
    kiosk: int
    host_id: int | None
    #: The confirmation page was shown, with this badge code.
    code: str | None = None
    #: When (time.monotonic()) the confirmation was shown.
    acknowledged_at: float | None = None
    #: The goodbye page was shown.
    checked_out: bool = False

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


@dataclass
class Answer:
    """A response the kiosks got that was not a plain success, kept for the report."""

    status: int
    path: str
    at: float
    excerpt: str


@dataclass
class Tally:
    """Everything the kiosks saw, shared by their threads (guarded by ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    visitors: list[Visitor] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[Answer] = field(default_factory=list)
    no_answer: int = 0
    requests: int = 0
    #: (time, path) of every request that got no answer at all.
    no_answer_at: list[float] = field(default_factory=list)

    def record(self, status: int, path: str, body: str) -> None:
        with self.lock:
            self.requests += 1
            self.statuses[status] += 1
            if status >= 500:
                self.server_errors.append(Answer(status, path, time.monotonic(), body[:4000]))

    def lost_connection(self) -> None:
        with self.lock:
            self.requests += 1
            self.no_answer += 1
            self.no_answer_at.append(time.monotonic())

    @property
    def check_ins(self) -> int:
        """Check-ins the kiosks showed as done (a confirmation with a badge code)."""
        return sum(1 for visitor in self.visitors if visitor.code)

    @property
    def check_outs(self) -> int:
        return sum(1 for visitor in self.visitors if visitor.checked_out)

    def acknowledged(self) -> list[Visitor]:
        return [visitor for visitor in self.visitors if visitor.code]

    def kiosks_confirming_after(self, moment: float) -> set[int]:
        """The kiosks that showed a confirmation after ``moment`` (time.monotonic())."""
        with self.lock:
            return {
                visitor.kiosk
                for visitor in self.visitors
                if visitor.acknowledged_at is not None and visitor.acknowledged_at > moment
            }


class Kiosk(threading.Thread):
    """One kiosk: pairs itself, then checks visitors in, and out again once ``keep`` newer
    ones are on site, until the fleet says stop. A failure abandons that visitor (the next
    one starts afresh at the start screen), as a person at a kiosk would."""

    def __init__(self, fleet: Fleet, number: int, pairing: Pairing) -> None:
        super().__init__(name=f"kiosk-{number}", daemon=True)
        self.fleet = fleet
        self.number = number
        self.pairing_code = pairing.code
        self.host_ids = pairing.host_ids
        self.client = WebClient(fleet.base, language=fleet.language)
        self.on_site: deque[Visitor] = deque()
        self.token: str | None = None
        self.paired = threading.Event()
        self.serial = 0
        self.crash: BaseException | None = None

    # HTTP ------------------------------------------------------------------------------------

    def _request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        self.client.base = self.fleet.base
        try:
            status, page = self.client.request(path, data)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            self.fleet.tally.lost_connection()
            raise NoAnswer(path) from exc
        self.fleet.tally.record(status, path, page)
        # Like a browser, a form is sent with the token of the page it is on: a page without a
        # form (the confirmation, the goodbye) leaves none, and the next form is fetched first.
        token = _CSRF.search(page)
        self.token = token[1] if token else None
        return status, page

    def _post(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        """Submit a form with the CSRF token of the last page shown (as the form on it would),
        or of the form's own page when the last one had none."""
        if self.token is None:
            status, page = self._request(path)
            if self.token is None:
                return status, page
        return self._request(path, {"csrf_token": self.token, **fields})

    # Visitors --------------------------------------------------------------------------------

    def check_in(self) -> Visitor | None:
        self.serial += 1
        visitor = Visitor(
            name=f"V{self.number:02d}x{self.serial:05d} Lindqvist-Öberg",
            kiosk=self.number,
            host_id=self.host_ids[self.serial % len(self.host_ids)] if self.host_ids else None,
        )
        with self.fleet.tally.lock:
            self.fleet.tally.visitors.append(visitor)
        fields = {"name": visitor.name}
        if visitor.host_id is not None:
            fields["host_id"] = str(visitor.host_id)
        else:
            fields["ask_reception"] = "y"
        # The details (followed to the notice), then "I have read it" (followed to the
        # confirmation): the visitor counts as checked in only when the confirmation shows.
        status, page = self._post("/check-in", fields)
        if status != 200 or 'name="read"' not in page:
            return None
        status, page = self._post("/notice", {"read": "1"})
        code = _BADGE_CODE.search(page)
        if status != 200 or code is None or visitor.first_name not in page:
            return None
        visitor.code = code[1]
        visitor.acknowledged_at = time.monotonic()
        return visitor

    def check_out(self, visitor: Visitor) -> bool:
        assert visitor.code
        status, page = self._post("/check-out", {"code": visitor.code})
        if status == 200 and f"{visitor.first_name}!" in page and 'name="code"' not in page:
            visitor.checked_out = True
            return True
        return False

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # a bug in the test itself must fail the test
            self.crash = exc
            raise

    def _run(self) -> None:
        while not self.fleet.stopping.is_set():
            try:
                status, _page = self._post("/pair", {"code": self.pairing_code})
            except NoAnswer:
                time.sleep(0.2)
                continue
            if status == 200:
                break
            time.sleep(0.2)
        self.paired.set()
        while not self.fleet.stopping.is_set() and self.fleet.want_more():
            try:
                if len(self.on_site) > self.fleet.keep_on_site:
                    # A check-out that fails is not tried again (the visitor leaves the badge
                    # at reception): its outcome is then unknown, and not counted.
                    if not self.check_out(self.on_site.popleft()):
                        self._after_failure()
                    continue
                visitor_in = self.check_in()
                if visitor_in is None:
                    self._after_failure()
                else:
                    self.on_site.append(visitor_in)
            except NoAnswer:
                self._after_failure()

    def _after_failure(self) -> None:
        """Wait a moment and go back to the start screen (a fresh form for the next one)."""
        self.token = None
        time.sleep(self.fleet.pause_after_failure)
        with contextlib.suppress(NoAnswer):
            self._request("/reset")


class Fleet:
    """``count`` kiosks run until ``check_ins`` visitors are checked in (or ``stop()``)."""

    def __init__(
        self,
        base: str,
        kiosks: list[Pairing],
        *,
        check_ins: int,
        keep_on_site: int = 2,
        language: str = "sv",
        pause_after_failure: float = 0.2,
    ) -> None:
        self.base = base
        self.target = check_ins
        self.keep_on_site = keep_on_site
        self.language = language
        self.pause_after_failure = pause_after_failure
        self.tally = Tally()
        self.stopping = threading.Event()
        self.kiosks = [Kiosk(self, number, pairing) for number, pairing in enumerate(kiosks, 1)]
        self.started = 0.0
        self.finished = 0.0

    def want_more(self) -> bool:
        return self.tally.check_ins < self.target

    def start(self) -> None:
        self.started = time.monotonic()
        for kiosk in self.kiosks:
            kiosk.start()
        for kiosk in self.kiosks:
            if not kiosk.paired.wait(60):
                raise AssertionError(f"kiosk {kiosk.number} could not pair")

    def wait_for(self, check_ins: int, timeout: float) -> None:
        """Block until the kiosks have checked in this many visitors in total."""
        deadline = time.monotonic() + timeout
        while self.tally.check_ins < check_ins:
            self._raise_crash()
            if time.monotonic() > deadline or not any(k.is_alive() for k in self.kiosks):
                raise AssertionError(f"{self.tally.check_ins} of {check_ins} check-ins in time")
            time.sleep(0.05)

    def join(self, timeout: float) -> None:
        """Wait for the kiosks to finish; fail if one is stuck or crashed."""
        deadline = time.monotonic() + timeout
        for kiosk in self.kiosks:
            kiosk.join(max(0.1, deadline - time.monotonic()))
        self.finished = time.monotonic()
        self._raise_crash()
        stuck = [kiosk.number for kiosk in self.kiosks if kiosk.is_alive()]
        if stuck:
            self.stopping.set()
            raise AssertionError(f"kiosks {stuck} did not finish in {timeout} s")

    def stop(self, timeout: float = 30) -> None:
        self.stopping.set()
        self.join(timeout)

    def _raise_crash(self) -> None:
        for kiosk in self.kiosks:
            if kiosk.crash is not None:
                raise AssertionError(f"kiosk {kiosk.number} crashed") from kiosk.crash

    @property
    def duration(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def figures(self) -> dict[str, Any]:
        """What this run measured, for test-artifacts/reliability/ and docs/reliability.md."""
        tally = self.tally
        return {
            "kiosks": len(self.kiosks),
            "visitors_attempted": len(tally.visitors),
            "check_ins_acknowledged": tally.check_ins,
            "check_outs_acknowledged": tally.check_outs,
            "check_ins_and_outs": tally.check_ins + tally.check_outs,
            "requests": tally.requests,
            "responses_by_status": {str(k): v for k, v in sorted(tally.statuses.items())},
            "responses_5xx": sum(v for k, v in tally.statuses.items() if k >= 500),
            "requests_without_answer": tally.no_answer,
            "duration_seconds": round(self.duration, 1),
            "check_ins_per_second": round(tally.check_ins / self.duration, 1)
            if self.duration
            else None,
        }


def write_figures(name: str, figures: dict[str, Any]) -> Path:
    """Keep a run's figures as test-artifacts/reliability/<name>.json."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
