"""End to end on the production server: a check-in at the kiosk makes `kiosk serve` email the
host from a background sender, and the check-in's answer does not wait for the mail server."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kiosk.services.demo import DEMO_HOSTS
from tests.servers import smtp_server
from tests.support import (
    VENV_BIN,
    WebClient,
    demo_pairing_code,
    kiosk_env,
    run_kiosk,
    running_server,
)

pytestmark = pytest.mark.slow

#: The mail server takes this long to accept a message; the check-in must not feel it.
SLOW_SMTP_SECONDS = 3.0


@pytest.fixture
def served_env(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    url = None if backend == "sqlite" else request.getfixturevalue("empty_database_url")
    return kiosk_env(tmp_path / "instance", url)


def test_check_in_emails_the_host_without_waiting_for_the_mail_server(
    served_env: dict[str, str],
):
    run_kiosk(["db", "upgrade"], served_env)
    demo = run_kiosk(["demo"], served_env)
    host_name, host_email = DEMO_HOSTS[2]

    with smtp_server() as (port, inbox):
        inbox.delay = SLOW_SMTP_SECONDS
        env = {
            **served_env,
            "KIOSK_SMTP_HOST": "127.0.0.1",
            "KIOSK_SMTP_PORT": str(port),
            "KIOSK_SMTP_STARTTLS": "false",
            "KIOSK_MAIL_FROM": "reception@example.com",
            # Only the wake-up from the check-in can make it arrive in time.
            "KIOSK_NOTIFY_POLL_SECONDS": "60",
        }
        with running_server(env, workers=1) as base:
            visitor = WebClient(base)
            status, _page = visitor.submit("/pair", {"code": demo_pairing_code(demo)})
            assert status == 200
            status, _page = visitor.submit(
                "/check-in", {"name": "Linnea Larsson", "host_query": host_name}
            )
            assert status == 200
            started = time.monotonic()
            status, done = visitor.submit("/notice", {"read": "1"})
            took = time.monotonic() - started
            assert status == 200
            assert "Linnea" in done
            assert took < SLOW_SMTP_SECONDS - 1, f"the check-in waited {took:.1f} s"
            assert inbox.messages == []  # still being accepted while the visitor is done

            [message] = inbox.wait_for(1, timeout=30)
            assert message["To"] == host_email
            assert "Linnea Larsson" in str(message["Subject"])
            # The demo site speaks Swedish and the demo hosts have no language of their own.
            assert str(message["Subject"]).startswith("Din besökare")


def test_notify_run_delivers_until_stopped(served_env: dict[str, str]):
    run_kiosk(["db", "upgrade"], served_env)
    env = {**served_env, "KIOSK_NOTIFY_POLL_SECONDS": "0.2"}
    with subprocess.Popen(
        [str(VENV_BIN / "kiosk"), "notify", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        watchdog = threading.Timer(30, process.kill)  # a hung sender fails, never hangs the run
        watchdog.start()
        try:
            assert process.stdout is not None
            assert "Delivering notifications every 0.2 s" in process.stdout.readline()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()
