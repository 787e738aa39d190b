"""Real local servers for the notification tests: an SMTP server (aiosmtpd), a webhook receiver
(http.server), and a port that accepts connections but never answers. All on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar

from aiosmtpd.controller import Controller

from tests.support import free_port

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
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server on a free local port: (port, inbox)."""
    inbox = Inbox()
    port = free_port()
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


@contextmanager
def webhook_server() -> Iterator[tuple[str, Hook]]:
    """A real HTTP server taking JSON POSTs, like a Slack or Teams incoming webhook."""
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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
