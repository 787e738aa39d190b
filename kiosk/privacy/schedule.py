"""The purge schedule of the served app: daily at ``PURGE_TIME`` and once at start-up.

Every gunicorn worker, on every machine, ticks a :class:`PurgeScheduler` (one of the periodic
jobs of kiosk/scheduler.py). Each scheduled occurrence has a name (its *slot*:
``daily:<UTC time>``, or ``startup:<server id>`` for one start of ``kiosk serve``); under the
purge lock a scheduler runs a slot only if no run has recorded it yet, so each occurrence runs
exactly once however many workers wake for it. All decisions read the app's clock.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select

from kiosk.clock import Clock
from kiosk.db import get_database
from kiosk.models import PurgeRun
from kiosk.privacy.lock import purge_lock
from kiosk.privacy.purge import PurgeSettings, run_purge
from kiosk.privacy.shredding import REPLACED_KEY_SETTLE, shred_replaced_keys
from kiosk.sealing import store_for

log = logging.getLogger(__name__)


def purge_time(config: Any) -> time | None:
    """``PURGE_TIME`` as a time of day, or None when the app runs no daily purge."""
    value = config.get("PURGE_TIME")
    if value is None or value == "" or value is False:
        return None
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"PURGE_TIME must be HH:MM (24-hour clock), not {value!r}") from None


def _occurrence(day: datetime, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day.date(), at, tzinfo=zone).astimezone(UTC)


def last_daily_run(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The newest daily occurrence at or before ``now``."""
    local = now.astimezone(zone)
    occurrence = _occurrence(local, at, zone)
    if occurrence > now:
        occurrence = _occurrence(local - timedelta(days=1), at, zone)
    return occurrence


def next_daily_run(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first daily occurrence after ``now``."""
    local = now.astimezone(zone)
    occurrence = _occurrence(local, at, zone)
    if occurrence <= now:
        occurrence = _occurrence(local + timedelta(days=1), at, zone)
    return occurrence


def next_scheduled_run(config: Any, now: datetime) -> datetime | None:
    """When the served app purges next, or None when it has no daily schedule."""
    at = purge_time(config)
    if at is None:
        return None
    return next_daily_run(now, at, ZoneInfo(config["PURGE_TIMEZONE"]))


def daily_slot(occurrence: datetime) -> str:
    return f"daily:{occurrence.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


class PurgeScheduler:
    """Decides, at each tick, whether a scheduled purge is due, and runs it (once).

    An occurrence that finds another purge running stays due and is tried again at the next
    tick, until it has run here or its slot shows it ran elsewhere.
    """

    name = "purge"

    def __init__(self, app: Flask, *, startup_id: str | None) -> None:
        self.app = app
        self.startup_id = startup_id
        self._started = False
        self._last_daily: str | None = None
        #: Due occurrences not yet run: slot -> trigger.
        self._due: dict[str, str] = {}
        # Fail at start-up, not at 03:30, on a malformed setting.
        self._at = purge_time(app.config)
        self._zone = ZoneInfo(app.config["PURGE_TIMEZONE"])

    @property
    def due(self) -> list[str]:
        """Occurrences waiting to run (another purge was running when they were tried)."""
        return list(self._due)

    def tick(self) -> list[PurgeRun]:
        """Run what is due now; returns the runs this scheduler made."""
        clock: Clock = self.app.config["CLOCK"]
        now = clock.now()
        if not self._started:
            self._started = True
            if self.app.config["PURGE_ON_START"] and self.startup_id:
                self._due[f"startup:{self.startup_id}"] = "startup"
                if self._at is not None:
                    # The start-up run does today's work; wait for the next occurrence.
                    self._last_daily = daily_slot(last_daily_run(now, self._at, self._zone))
        if self._at is not None:
            slot = daily_slot(last_daily_run(now, self._at, self._zone))
            if slot != self._last_daily:
                if self._last_daily is not None:
                    self._due.pop(self._last_daily, None)  # a newer one replaces it
                self._last_daily = slot
                self._due[slot] = "schedule"
        runs: list[PurgeRun] = []
        for slot, trigger in list(self._due.items()):
            if self._run(slot, trigger, runs):
                del self._due[slot]
        return runs

    def _run(self, slot: str, trigger: str, runs: list[PurgeRun]) -> bool:
        """Try one occurrence; whether it is done (here, elsewhere, or failed)."""
        with self.app.app_context():
            session = get_database(self.app).sessionmaker()
            try:
                run = run_purge(
                    session,
                    clock=self.app.config["CLOCK"],
                    trigger=trigger,
                    settings=PurgeSettings.from_config(self.app.config),
                    slot=slot,
                )
                if run is None:
                    # Skipped: done if the slot ran elsewhere, else another purge was running.
                    return (
                        session.scalar(select(PurgeRun.id).where(PurgeRun.slot == slot)) is not None
                    )
            except Exception as exc:  # noqa: BLE001 - recorded as failed; the next slot retries
                log.error("scheduled purge %s failed: %s", trigger, type(exc).__name__)
                return True
            finally:
                session.close()
        runs.append(run)
        return True


class ReplacedKeyShredder:
    """Destroys the keys that erasures and corrections by request replaced, once they have
    settled (kiosk.privacy.shredding): copies of the database taken before such a request lose
    the person's values within minutes, not at the next daily purge. A tick that finds none
    costs one read of the key store; one that finds some works under the purge lock, so one
    worker does it, and waits for the next tick while a purge runs."""

    name = "replaced keys"

    def __init__(self, app: Flask) -> None:
        self.app = app

    def tick(self) -> int:
        """Destroy what is due; returns how many keys were destroyed."""
        clock: Clock = self.app.config["CLOCK"]
        with self.app.app_context():
            session = get_database(self.app).sessionmaker()
            try:
                now = clock.now()
                if not store_for(session).replaced_before(now - REPLACED_KEY_SETTLE):
                    return 0
                with purge_lock(session.get_bind()) as taken:
                    if not taken:
                        return 0
                    destroyed = shred_replaced_keys(session, now=now)
                    session.commit()
                    return len(destroyed)
            except Exception as exc:  # noqa: BLE001 - tried again at the next tick
                session.rollback()
                log.error("replaced keys: %s", type(exc).__name__)
                return 0
            finally:
                session.close()
