"""The benchmark scripts in bench/ still run: each in its tiny --quick mode, on SQLite and, when
configured, PostgreSQL. Their figures mean nothing here (see bench/README.md for real runs);
what this catches is a script broken by a change to the app it measures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_SKIP_REASON, PG_URL
from tests.support import require_file

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run_all(commands: list[list[str]]) -> None:
    """Run the scripts side by side (each mostly waits on its servers) and check each one."""
    processes = [
        subprocess.Popen(  # noqa: S603 - our own scripts with our own interpreter
            [sys.executable, str(BENCH / command[0]), "--quick", *command[1:]],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for command in commands
    ]
    for command, process in zip(commands, processes, strict=True):
        output, _ = process.communicate(timeout=180)
        assert process.returncode == 0, f"{command[0]}:\n{output[-3000:]}"
        checks = (
            EXPECTED[" ".join(command[:2])]
            if command[1:2] == ["--one-process"]
            else (EXPECTED[command[0]])
        )
        if command[0] == "purge.py" and "--no-sqlite" in command:
            # PostgreSQL's checkpoints and WAL settings, to read its worst check-in against.
            checks = [*checks, "begun during the purge (server's max_wal_size ", "wal_compression "]
        for text in checks:
            assert text.lower() in output.lower(), (
                f"{command[0]} did not print {text!r}:\n{output[-3000:]}"
            )


#: What each script must print: its figures against its baseline and target.
EXPECTED = {
    "checkin.py": [
        "check-in POST / baseline:",
        "CSRF form + ORM INSERT",
        "floor",
        "GET badge PDF",
        "errors",
    ],
    "checkin.py --one-process": [
        "one process, cpu ms",
        "floor (csrf form + orm insert)",
        "check-in use case (check_in())",
        "get badge pdf",
        "whole check-in (6 requests, badge included)",
    ],
    "dashboard.py": ["on site now", "expected today", "history", "counted", "index", "app/bare"],
    "erasure.py": [
        "erasure request, keys replaced:",
        "without replacing:",
        "keys destroyed",
        "job/scan",
    ],
    "memory.py": ["peak of any worker", "MB per thousand check-ins", "errors: 0"],
    "pages.py": [
        "/dashboard/statistics?days=365",
        "POST /dashboard/requests",
        "POST /dashboard/export",
        "kiosk POST notice",
        "over 100 ms:",
    ],
    "page_weight.py": ["blank page (baseline)", "welcome", "check-in form", "FCP/blank"],
    "purge.py": ["erased 2,000 of 3,000 visits", "worst check-in", "failed: 0"],
}


def test_bench_scripts_on_sqlite():
    require_file("/usr/bin/chromium", "chromium")
    run_all(
        [
            ["checkin.py", "--postgres", ""],
            ["checkin.py", "--one-process", "--postgres", ""],
            ["dashboard.py", "--postgres", ""],
            ["erasure.py", "--postgres", ""],
            ["memory.py", "--postgres", ""],
            ["page_weight.py"],
            ["pages.py", "--postgres", ""],
            ["purge.py", "--postgres", ""],
        ]
    )


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)
def test_bench_scripts_on_postgresql():
    assert PG_URL
    run_all(
        [
            ["checkin.py", "--no-sqlite", "--postgres", PG_URL],
            ["checkin.py", "--one-process", "--no-sqlite", "--postgres", PG_URL],
            ["dashboard.py", "--no-sqlite", "--postgres", PG_URL],
            ["erasure.py", "--no-sqlite", "--postgres", PG_URL],
            ["memory.py", "--postgres", PG_URL],
            ["pages.py", "--no-sqlite", "--postgres", PG_URL],
            ["purge.py", "--no-sqlite", "--postgres", PG_URL],
        ]
    )
