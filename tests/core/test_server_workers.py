"""What each `kiosk serve` worker does once its app is made (kiosk.server)."""

from __future__ import annotations

import gc
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

import kiosk.server
from kiosk.server import _worker_ready, run_server


def test_serve_calls_the_worker_ready_hook(monkeypatch: pytest.MonkeyPatch):
    started: list[dict[str, Any]] = []

    class Recorder:
        def __init__(self, options: dict[str, Any]) -> None:
            started.append(options)

        def run(self) -> None:
            pass

    monkeypatch.setattr(kiosk.server, "KioskServer", Recorder)
    run_server(host="127.0.0.1", port=8123, workers=2)
    assert started[0]["post_worker_init"] is _worker_ready


def test_a_ready_worker_sets_its_start_objects_aside_from_the_collector(app: Flask):
    """Everything alive once the app is made lives as long as the worker: frozen, each full
    collection no longer walks it (~100 ms per pass, bench/README.md)."""
    app.config["NOTIFY_IN_SERVER"] = False
    made_at_start: list[str] = []  # a container: the collector tracks it
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        _worker_ready(SimpleNamespace(wsgi=app))
        assert gc.get_freeze_count() > 1000
        # Not in any generation the collector walks: only in the frozen ones.
        assert not any(made_at_start is found for found in gc.get_objects())
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_a_ready_worker_collects_its_youngest_objects_less_often(app: Flask):
    """CPython's default collects the youngest generation every 700 allocations: about twelve
    collections in a dashboard page of 400 visitors, 1.3-2.4 ms of it (bench/README.md)."""
    app.config["NOTIFY_IN_SERVER"] = False
    thresholds = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        _worker_ready(SimpleNamespace(wsgi=app))
        assert gc.get_threshold() == (kiosk.server.YOUNG_COLLECTION_EVERY, 10, 10)
        assert kiosk.server.YOUNG_COLLECTION_EVERY >= 10 * 700
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_worker_registers_the_badge_fonts_and_a_command_does_not(
    app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    """A third of a second per process: a served worker pays it before its first visitor's
    badge; `kiosk purge`, `kiosk db upgrade` and the other commands print no badge."""
    from kiosk.app import create_app
    from kiosk.badges.fonts import load_fonts
    from kiosk.db import get_database

    monkeypatch.setattr("kiosk.scheduler.start_scheduler", lambda app, startup_id: None)
    for name, value in app_config.items():
        monkeypatch.setenv(f"KIOSK_{name}", str(value))
    load_fonts.cache_clear()
    command_app = create_app(app_config)
    get_database(command_app).engine.dispose()
    assert load_fonts.cache_info().currsize == 0
    worker_app = kiosk.server.KioskServer({"bind": "127.0.0.1:0", "workers": 1}).load()
    get_database(worker_app).engine.dispose()
    assert load_fonts.cache_info().currsize == 1
