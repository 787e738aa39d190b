"""`make test` needs only Python and make: a test that needs a system program (the CUPS
client, poppler, Chromium, Redis, cupsd, initdb...) skips with a visible reason where it is
missing, and fails in CI (the CI environment variable set), where it must be installed.
One helper decides, ``tests.support.unavailable``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parents[1]
#: What only tests/support.py may do: look for programs or modules, or read CI.
PRIVATE_TO_SUPPORT = re.compile(r"shutil\.which\(|importorskip\(|environ(?:\.get\(|\[)\"CI\"")


def test_only_the_helper_looks_for_programs_or_reads_ci():
    """Every test reaches programs through require_tool/require_file/require_module/
    require_redis, so none can skip silently or fail on a machine without them."""
    offenders = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name not in {"support.py", Path(__file__).name}
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE_TO_SUPPORT.search(line)
    ]
    assert offenders == []


#: Tests that run the CUPS client, poppler or a QR decoder on rendered badges.
PRINTING = [
    "tests/badges/test_badges.py",
    "tests/badges/test_kiosk_printing.py",
    "tests/badges/test_cups.py",
]


def _run_without_programs(
    tmp_path: Path, *, ci: bool, select: str
) -> subprocess.CompletedProcess[str]:
    """Run tests with an empty PATH: no lp, lpstat, cupsd, pdftoppm, chromium... at all."""
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CI", "KIOSK_TEST_DATABASE_URL", "PYTEST_ADDOPTS"}
    }
    env["PATH"] = str(empty)
    if ci:
        env["CI"] = "1"
    return subprocess.run(  # noqa: S603 - our own interpreter on our own tests
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "-k",
            select,
            *PRINTING,
        ],
        cwd=TESTS.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_printing_tests_skip_visibly_without_the_cups_client_and_fail_in_ci(tmp_path: Path):
    select = "sqlite and (unreachable or each_kiosk_prints or queue or decode or qr)"
    outside = _run_without_programs(tmp_path, ci=False, select=select)
    assert outside.returncode == 0, outside.stdout[-3000:]
    assert "failed" not in outside.stdout.splitlines()[-1]
    assert "lpstat is missing (apt-get install cups-client)" in outside.stdout
    assert "pdftoppm is missing (apt-get install poppler-utils)" in outside.stdout  # QR decoding

    in_ci = _run_without_programs(tmp_path, ci=True, select=select)
    assert in_ci.returncode == 1, in_ci.stdout[-3000:]
    assert "lpstat is missing: CI must provide it" in in_ci.stdout
    assert "skipped" not in in_ci.stdout.splitlines()[-1]
