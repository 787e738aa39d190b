"""Running the app under gunicorn from inside the ``kiosk serve`` command."""

from __future__ import annotations

import gc
import re
import secrets
from typing import Any

from gunicorn import glogging
from gunicorn.app.base import BaseApplication


class KioskServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with its settings from ``kiosk serve``; each worker creates its own app."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        #: Names this start of the server, so its start-up purge runs once in all workers
        #: (workers fork from this process and inherit it).
        self.startup_id = secrets.token_hex(8)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from kiosk.app import create_app
        from kiosk.scheduler import start_scheduler

        # Each worker reads the same instance file and environment as the command did.
        app = create_app()
        # Registering the badge fonts costs a third of a second: once per worker, at start-up,
        # not in the first visitor's check-in. Only here: a command such as `kiosk purge`
        # prints no badge, and loading them in create_app slowed every command by as much.
        with app.app_context():
            from kiosk.badges.fonts import app_fonts

            app_fonts()
        # Every worker runs the periodic jobs; the purge lock lets one of them run each purge.
        start_scheduler(app, startup_id=self.startup_id)
        return app


def _worker_ready(worker: Any) -> None:
    """gunicorn ``post_worker_init``, once the worker has made its app: start its notification
    sender, then set what it has made so far aside from the garbage collector."""
    _start_notification_sender(worker)
    freeze_start_objects()


def _start_notification_sender(worker: Any) -> None:
    """Each worker delivers notifications in a thread of its own (the thread must start after
    the fork, so it starts here rather than in ``kiosk serve``)."""
    from kiosk.notifications.sender import NotificationSender

    app = worker.wsgi
    if app.config["NOTIFY_IN_SERVER"]:
        NotificationSender(app).start()


#: Allocations (of objects the collector tracks) between two collections of the youngest
#: generation in a worker: one collection per dozen dashboard pages instead of a dozen per page.
YOUNG_COLLECTION_EVERY = 10_000


def freeze_start_objects() -> None:
    """Move every object alive now (the modules, the app, its mappers, catalogs and templates:
    ~230,000) out of the collector's reach for good. They live as long as the worker, yet each
    full collection walked them all: ~100 ms, about once every 20 dashboard requests, which
    was a sixth of the page's mean time (bench/README.md, "Round three"). The objects made
    later, by requests, are collected as before. The garbage there is now is collected first:
    a cycle frozen would never be freed.

    Then the youngest generation is collected every YOUNG_COLLECTION_EVERY allocations rather
    than every 700 (CPython's default): a dashboard page of 400 visitors on site made about
    twelve collections, 1.3-2.4 ms of its time, each walking the rows alive at that moment.
    Nearly everything a request makes is freed by reference counting when it ends; the
    collector is for cycles, and these wait a little longer now."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, older, oldest)


def _stop_notification_sender(_server: Any, worker: Any) -> None:
    """gunicorn ``worker_exit``: let a send in progress finish."""
    from kiosk.notifications.sender import EXTENSION_KEY

    sender = getattr(worker, "wsgi", None) and worker.wsgi.extensions.get(EXTENSION_KEY)
    if sender is not None:
        sender.stop(timeout=5)


#: gunicorn's default access log line without the query string (``%(U)s``, the path, for
#: ``%(r)s``, the request line) and without the referring page (``%(f)s``), whose query it
#: would repeat: a query can carry a one-time pairing code (the link ``kiosk device add``
#: prints) or whatever a future form sends by GET. Personal data stays out of URLs; this keeps
#: what does reach one out of the log.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'

#: Characters that would start a new line, or steer a terminal, in a log read line by line.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def log_safe(text: str) -> str:
    """``text`` with each control character and line separator written as an escape: the
    path gunicorn logs is decoded, so ``/x%0A127.0.0.1 - - ...`` wrote a line of the
    client's own making into the access log (an outside fuzz)."""
    return _UNPRINTABLE.sub(lambda found: found[0].encode("unicode_escape").decode(), text)


class AccessLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger, with the path and the user agent written by :func:`log_safe`."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("U", "a", "u"):
            if isinstance(atoms.get(key), str):
                atoms[key] = log_safe(atoms[key])
        return atoms


def run_server(*, host: str, port: int, workers: int) -> None:
    """Serve until stopped."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": AccessLogger,
        "errorlog": "-",
        # A kiosk at a reception is a handful of clients; long requests mean a stuck database.
        "timeout": 30,
        "graceful_timeout": 10,
        "proc_name": "kiosk",
        # gunicorn's control socket lives at one path per user: two instances would collide.
        "control_socket_disable": True,
        "post_worker_init": _worker_ready,
        "worker_exit": _stop_notification_sender,
    }
    KioskServer(options).run()
