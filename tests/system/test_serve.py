"""The thin path end to end on the production server (gunicorn), on SQLite and PostgreSQL:
a visitor checks in at the kiosk and reception sees the visit on the dashboard."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.services.demo import DEMO_HOSTS
from tests.support import (
    WebClient,
    demo_pairing_code,
    demo_password,
    kiosk_env,
    run_kiosk,
    running_server,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def served_env(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    url = None if backend == "sqlite" else request.getfixturevalue("empty_database_url")
    return kiosk_env(tmp_path / "instance", url)


def test_check_in_at_kiosk_then_seen_on_dashboard(served_env: dict[str, str], tmp_path: Path):
    run_kiosk(["db", "upgrade"], served_env)
    demo = run_kiosk(["demo"], served_env)
    password = demo_password(demo)
    host_name = DEMO_HOSTS[1][0]

    with running_server(served_env) as base:
        visitor = WebClient(base)
        assert visitor.request("/")[0] == 403  # not a kiosk until paired
        status, _page = visitor.submit("/pair", {"code": demo_pairing_code(demo)})
        assert status == 200
        status, _page = visitor.submit(
            "/check-in",
            {"name": "Linnea Larsson", "company": "Nordic Labs", "host_query": host_name},
        )
        assert status == 200
        status, done = visitor.submit("/notice", {"read": "1"})
        assert status == 200
        assert "Linnea" in done
        code = re.search(r'class="badge-code">(\w+)<', done)
        assert code

        reception = WebClient(base)
        status, page = reception.submit(
            "/dashboard/login", {"username": "admin", "password": password}
        )
        assert status == 200
        assert "Linnea Larsson" in page
        assert "Nordic Labs" in page
        assert host_name in page
        assert code[1] in page

        status, goodbye = visitor.submit("/check-out", {"code": code[1]})
        assert status == 200
        assert "Linnea" in goodbye
        assert "Linnea Larsson" not in reception.request("/dashboard/")[1]

        # The CSV export is streamed a batch at a time: gunicorn sends the whole of it.
        site_id = re.search(r'<option[^>]*value="(\d+)"', reception.request("/dashboard/export")[1])
        assert site_id
        today = datetime.now(UTC).date()
        status, exported = reception.submit(
            "/dashboard/export",
            {
                "site": site_id[1],
                "date_from": str(today - timedelta(days=1)),
                "date_to": str(today + timedelta(days=1)),
            },
        )
        assert status == 200
        rows = list(csv.reader(io.StringIO(exported.removeprefix("\ufeff"))))
        assert [row[1] for row in rows[1:]] == ["Linnea Larsson"]
        assert (rows[1][2], rows[1][3], rows[1][7]) == ("Nordic Labs", host_name, code[1])

    if "KIOSK_DATABASE_URL" not in served_env:
        # The default database is a SQLite file in the instance folder.
        assert (tmp_path / "instance" / "kiosk.sqlite3").exists()
