"""A Brother QL label printer on 127.0.0.1 for the tests: it listens on a TCP port like the
printer's raw port 9100, keeps every byte it receives, and answers status requests the way
Brother's raster command reference describes (32-byte status messages), holding the labels and
the faults a test gives it."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from brother_ql.reader import chunker

STATUS_REQUEST = b"\x1biS"
PRINT_LAST_PAGE = b"\x1a"
#: Status types (byte 18) and error bits (bytes 8 and 9) of a status message.
REPLY, PRINTED, ERROR, PHASE_CHANGE = 0x00, 0x01, 0x02, 0x06
NO_MEDIA, END_OF_MEDIA = 0x01, 0x02
COVER_OPEN = 0x10  # in error information 2
CONTINUOUS, DIE_CUT = 0x0A, 0x0B


def status_message(
    *,
    status_type: int = REPLY,
    media: tuple[int, int] = (62, 0),
    media_type: int = CONTINUOUS,
    error_1: int = 0,
    error_2: int = 0,
    phase: int = 0,
) -> bytes:
    """A QL-820NWB's status message."""
    message = bytearray(32)
    message[0:8] = b"\x80\x20\x42\x34\x41\x30\x30\x00"
    message[8], message[9] = error_1, error_2
    message[10], message[11] = media[0], media_type
    message[17] = media[1]
    message[18], message[19] = status_type, phase
    return bytes(message)


@dataclass
class FakeQlPrinter:
    """What the printer holds and how it behaves; ``jobs`` collects what each connection sent."""

    media: tuple[int, int] = (62, 0)
    media_type: int = CONTINUOUS
    #: Answers status requests (some printers do not, over the network).
    answers: bool = True
    #: Error bits reported at once (error information 1 and 2).
    errors: tuple[int, int] = (0, 0)
    #: The labels run out while printing.
    runs_out: bool = False
    jobs: list[bytes] = field(default_factory=list)
    port: int = 0
    _received: threading.Condition = field(default_factory=threading.Condition)

    def wait_for_jobs(self, count: int = 1) -> list[bytes]:
        """The bytes of the first ``count`` connections, once they have all ended."""
        with self._received:
            assert self._received.wait_for(lambda: len(self.jobs) >= count, timeout=10)
            return self.jobs[:count]

    def status(self, status_type: int = REPLY, errors: tuple[int, int] | None = None) -> bytes:
        error_1, error_2 = self.errors if errors is None else errors
        return status_message(
            status_type=status_type,
            media=self.media if self.media_type else (0, 0),
            media_type=self.media_type,
            error_1=error_1,
            error_2=error_2,
        )

    def serve(self, connection: socket.socket) -> None:
        """One connection: answer each status request, report the print, keep the bytes."""
        received = b""
        answered = 0
        connection.settimeout(10)
        try:
            while chunk := connection.recv(65536):
                received += chunk
                instructions = chunker(received)
                requests = sum(1 for item in instructions if item == STATUS_REQUEST)
                if self.answers:
                    for _ in range(requests - answered):
                        connection.sendall(self.status())
                answered = requests
                if instructions and instructions[-1] == PRINT_LAST_PAGE:
                    if self.answers:
                        connection.sendall(self._outcome())
                    break
        except OSError:
            pass
        finally:
            with self._received:
                self.jobs.append(received)
                self._received.notify_all()

    def _outcome(self) -> bytes:
        if self.runs_out:
            return self.status(ERROR, (END_OF_MEDIA, 0))
        return self.status(PHASE_CHANGE) + self.status(PRINTED)


@contextmanager
def running(printer: FakeQlPrinter) -> Iterator[FakeQlPrinter]:
    """The printer listening on 127.0.0.1 (``printer.port``) until the block ends."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            printer.serve(self.request)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    printer.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield printer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
