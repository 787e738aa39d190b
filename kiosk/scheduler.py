"""The served app's periodic jobs, in one thread per gunicorn worker.

Every worker on every machine ticks the same jobs every ``TICK_SECONDS``; each job decides for
itself whether something is due and makes sure it happens once where that matters:
- the retention purge, daily at ``PURGE_TIME`` and once at start-up (kiosk.privacy.schedule,
  exactly once across workers and machines under the purge lock);
- the destruction of keys replaced by erasures and corrections by request, once settled
  (kiosk.privacy.schedule, under the purge lock);
- the end-of-day check-out (kiosk.services.daily), cheap and idempotent, so every worker does
  it at every tick without a lock.

The notification outbox needs no job here: each sender releases stale claims on every pass
(kiosk.notifications.sender), and delivered or dismissed messages are erased as they go.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Protocol

from flask import Flask

from kiosk.clock import Clock
from kiosk.db import get_database
from kiosk.notifications.events import queue_checked_out
from kiosk.notifications.sender import wake_sender
from kiosk.privacy.schedule import PurgeScheduler, ReplacedKeyShredder
from kiosk.services.daily import check_out_at_end_of_day

log = logging.getLogger(__name__)

#: How often the scheduler thread looks at the clock.
TICK_SECONDS = 30.0


class PeriodicJob(Protocol):
    """Something the scheduler ticks: it looks at the app's clock and does what is due."""

    name: str

    def tick(self) -> object: ...


class EndOfDayCheckOut:
    """Checks out visitors left on site after their site's end-of-day time."""

    name = "end-of-day check-out"

    def __init__(self, app: Flask) -> None:
        self.app = app

    def tick(self) -> None:
        clock: Clock = self.app.config["CLOCK"]
        with self.app.app_context():
            session = get_database(self.app).sessionmaker()
            try:
                moment = clock.now()
                done = check_out_at_end_of_day(session, now=moment)
                left = [visit for visits in done.values() for visit in visits]
                told = queue_checked_out(session, left, now=moment)
                session.commit()
                if told:
                    wake_sender()
            except Exception as exc:  # noqa: BLE001 - tried again at the next tick
                session.rollback()
                log.error("end-of-day check-out failed: %s", type(exc).__name__)
            finally:
                session.close()


def periodic_jobs(app: Flask, *, startup_id: str | None) -> list[PeriodicJob]:
    """The jobs of a served app, in the order each tick runs them."""
    return [
        PurgeScheduler(app, startup_id=startup_id),
        ReplacedKeyShredder(app),
        EndOfDayCheckOut(app),
    ]


class Scheduler:
    """Ticks the periodic jobs (:func:`periodic_jobs`); a job that fails does not stop the
    others."""

    def __init__(self, app: Flask, *, startup_id: str | None) -> None:
        self.app = app
        #: Built now, so a malformed setting (e.g. ``PURGE_TIME``) fails at start-up.
        self.jobs: Sequence[PeriodicJob] = periodic_jobs(app, startup_id=startup_id)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        """Give every job its turn."""
        for job in self.jobs:
            try:
                job.tick()
            except Exception as exc:  # noqa: BLE001 - the thread must outlive a bad tick
                log.error("scheduler: %s: %s", job.name, type(exc).__name__)

    def run_forever(self) -> None:
        """Tick now and then every ``TICK_SECONDS`` until stopped."""
        while True:
            self.tick()
            if self._stop.wait(TICK_SECONDS):
                return

    def start(self) -> None:
        """Run the scheduler in a daemon thread (it dies with the worker)."""
        self._thread = threading.Thread(
            target=self.run_forever, name="kiosk-scheduler", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def start_scheduler(app: Flask, *, startup_id: str) -> Scheduler:
    """Start the periodic jobs in this (gunicorn worker) process; called by ``kiosk serve``.

    It always runs: with no purge configured there is still the end-of-day check-out.
    """
    scheduler = Scheduler(app, startup_id=startup_id)
    scheduler.start()
    return scheduler
