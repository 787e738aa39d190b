"""Real local servers for the notification, print and fault tests: an SMTP server (aiosmtpd), a
webhook receiver (http.server), a port that accepts connections but never answers, a cups-pdf
queue in the machine's CUPS, and a private PostgreSQL cluster. All on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Generic, TypeVar

from aiosmtpd.controller import Controller

from tests.support import free_port, require_tool, unavailable

T = TypeVar("T")


class Received(Generic[T]):
    """What a server received, in order; a test can wait for it."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self._arrived = threading.Condition()

    def add(self, item: T) -> None:
        with self._arrived:
            self.items.append(item)
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[T]:
        """Block until ``count`` items have arrived (a real server works in its own time)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.items) >= count, timeout):
                raise AssertionError(f"{len(self.items)} of {count} arrived in time")
        return list(self.items)


class Inbox(Received[EmailMessage]):
    """What the SMTP server received, and how it should answer the next messages."""

    def __init__(self) -> None:
        super().__init__()
        self.messages = self.items
        #: Seconds the server waits before accepting a message (a slow server).
        self.delay = 0.0
        #: An SMTP reply to refuse messages with, e.g. "451 4.3.0 Try again later".
        self.refuse_with: str | None = None

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse_with:
            return self.refuse_with
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.add(message)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server on a local port (a free one unless given): (port, inbox)."""
    inbox = Inbox()
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


class Hook(Received[tuple[str, dict[str, Any]]]):
    """What the webhook receiver got (content type, JSON body), and how it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.status = 200
        self.delay = 0.0


class _QuietServer(ThreadingHTTPServer):
    """Says nothing when a client gave up before the answer (the webhook timeout tests).

    socketserver prints the traceback, and Python 3.11's traceback parses the source line
    (``ast.parse``) for its carets: in this server's thread, at the same time as the next
    test compiles (Werkzeug's URL rules, Jinja templates), that trips CPython 3.11's AST
    recursion counter, which is not thread-safe ("SystemError: AST constructor recursion depth
    mismatch" in the next test's setup)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@contextmanager
def webhook_server(port: int = 0) -> Iterator[tuple[str, Hook]]:
    """A real HTTP server taking JSON POSTs, like a Slack or Teams incoming webhook (on a
    free local port unless given)."""
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if hook.delay:
                time.sleep(hook.delay)
            if hook.status < 300:
                hook.add((self.headers.get("Content-Type", ""), json.loads(body)))
            self.send_response(hook.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: Any) -> None:
            pass

    server = _QuietServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/B000", hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def silent_port() -> Iterator[int]:
    """A port whose connections are accepted by the kernel and then never answered."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


CUPS_PDF_BACKEND = Path("/usr/lib/cups/backend/cups-pdf")
CUPS_PDF_PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
CUPS_PDF_CONF = Path("/etc/cups/cups-pdf.conf")


def missing(reason: str) -> None:
    """Skip for want of a tool or service, except in CI, where it fails the test."""
    unavailable(reason, "CI's .ci/run installs and starts it")


def cups_pdf_output_dir() -> Path:
    """Where cups-pdf writes this user's jobs (its ``Out`` setting, ${HOME}/PDF by default)."""
    out = "${HOME}/PDF"
    if CUPS_PDF_CONF.exists():
        for line in CUPS_PDF_CONF.read_text(errors="replace").splitlines():
            if line.startswith("Out "):
                out = line.split(None, 1)[1].strip()
    user = pwd.getpwuid(os.getuid())
    return Path(out.replace("${HOME}", user.pw_dir).replace("${USER}", user.pw_name))


@contextmanager
def cups_pdf_queue() -> Iterator[str]:
    """A cups-pdf queue of the caller's own in the machine's CUPS, removed afterwards."""
    lpadmin = require_tool("lpadmin", "cups")
    lpstat = require_tool("lpstat", "cups-client")
    require_tool("lp", "cups-client")
    if not CUPS_PDF_BACKEND.exists() or not CUPS_PDF_PPD.exists():
        missing("the cups-pdf virtual printer is not installed (printer-driver-cups-pdf)")
    running = subprocess.run([lpstat, "-r"], capture_output=True, text=True, check=False)
    if "scheduler is running" not in running.stdout:
        missing("CUPS is not running (start it with: cupsd)")
    name = f"kiosk-test-{uuid.uuid4().hex[:8]}"
    added = subprocess.run(
        [lpadmin, "-p", name, "-E", "-v", "cups-pdf:/", "-P", str(CUPS_PDF_PPD)],
        capture_output=True,
        text=True,
        check=False,
    )
    if added.returncode != 0:
        missing(f"cannot add a CUPS queue (lpadmin needs root): {added.stderr.strip()}")
    out = cups_pdf_output_dir()
    before = set(out.glob("*.pdf")) if out.exists() else set()
    try:
        yield name
    finally:
        # Removing the queue cancels what it still holds; then tidy up what it printed.
        subprocess.run([lpadmin, "-x", name], check=False, capture_output=True)
        for path in (set(out.glob("*.pdf")) if out.exists() else set()) - before:
            path.unlink(missing_ok=True)


class PrivateCluster:
    """A PostgreSQL cluster of the test's own (initdb in a temporary folder, on a free port on
    127.0.0.1), so a test can stop and restart a database server without touching the
    machine's shared one. Run as the ``postgres`` user when the tests run as root."""

    def __init__(self, files_of: PrivateCluster | None = None) -> None:
        """A new cluster, or with ``files_of`` one started from a file-level copy of that
        (stopped) cluster's data directory: what a snapshot or a file backup restores."""
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            missing("PostgreSQL's initdb is not installed (Debian's postgresql)")
        self.bin = found[-1].parent
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        self.data = self.directory / "data"
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            self.as_postgres = [require_tool("runuser", "util-linux"), "-u", "postgres", "--"]
            shutil.chown(self.directory, "postgres", "postgres")
        if files_of is not None:
            assert not (files_of.data / "postmaster.pid").exists(), "copy a stopped cluster"
            # cp -a keeps the owner and modes PostgreSQL insists on.
            subprocess.run(["cp", "-a", str(files_of.data), str(self.data)], check=True)
            return
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(
            [*self.as_postgres, str(self.bin / program), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{program} {args}: {result.stdout}\n{result.stderr}"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def pid(self) -> int:
        """The postmaster's PID, from its pid file."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.directory / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop it; ``immediate`` is a crash: no checkpoint, recovery from the WAL at start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def remove(self) -> None:
        """Stop it if it runs, and delete its folder."""
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop("fast")
            except AssertionError:
                self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivateCluster]:
    """A running private PostgreSQL cluster, removed afterwards."""
    cluster = PrivateCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
