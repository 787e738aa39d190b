"""Waiting for a started server: a connection accepted before any worker answers is "not yet".

CI once failed a crash test before it began: gunicorn's master had accepted the first probe while
its workers were still booting on a busy machine, the probe's read timed out after 2 s, and the
wait treated that timeout as an error instead of trying again.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support import answers


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A socket that listens on 127.0.0.1 and accepts nothing by itself."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield sock


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}/static/css/kiosk.css"


def test_an_accepted_connection_that_stays_silent_is_not_yet_an_answer(listener: socket.socket):
    # The kernel completes the handshake from the listen queue: the probe connects, then waits.
    assert answers(url_of(listener), timeout=0.3) is False


def test_a_refused_connection_is_not_an_answer():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = url_of(sock)  # bound, never listening: the port refuses
    assert answers(url, timeout=0.3) is False


def test_a_worker_that_answers_is_an_answer(listener: socket.socket):
    def answer_once() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            )

    worker = threading.Thread(target=answer_once, daemon=True)
    worker.start()
    assert answers(url_of(listener), timeout=5) is True
    worker.join(timeout=5)
