"""Schemathesis against a real `kiosk serve`: every operation of the served OpenAPI document,
with inputs generated from its own schemas, must never answer 5xx, and every answer must
match the document (status, content type, headers, body schema).

The server runs on 127.0.0.1 with demo data, a few visits and invitations, and a token that
may write and read personal data (so every path of the API is open to the generator). The
number of examples is bounded and derandomised: the run is the same every time and takes a
couple of minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.conftest import PG_SKIP_REASON, PG_URL
from tests.support import kiosk_env, require_module, run_kiosk, running_server, use_key_store

schemathesis = require_module("schemathesis", "schemathesis>=4.0")

pytestmark = pytest.mark.slow

#: Examples per operation and backend (half as many invalid ones); 16 operations.
EXAMPLES = 25


def _seed(database_url: str, env: dict[str, str]) -> str:
    """Visits, invitations and a purge run beside the demo data; return a token's secret."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from kiosk.clock import SystemClock
    from kiosk.db import make_engine
    from kiosk.models import Host, PurgeRun, PurgeRunSite, Site
    from kiosk.services.api_tokens import create_api_token
    from kiosk.services.invitations import create_invitation
    from kiosk.services.notices import record_generated_notice
    from kiosk.services.visits import VisitorDetails, register_visit

    now = SystemClock().now()
    engine = make_engine(database_url)
    use_key_store(env, engine)
    try:
        with Session(engine) as session:
            site = session.scalars(select(Site)).one()
            host = session.scalars(select(Host).where(Host.site_id == site.id)).first()
            shown = record_generated_notice(session, site, "en", "The first layer.", now=now)
            for number in range(3):
                visit = register_visit(
                    session,
                    site,
                    VisitorDetails(
                        name=f"Vera Visitor {number}", host_id=host.id if host else None
                    ),
                    locale="en",
                    notice_id=shown.id,
                    now=now - timedelta(minutes=number),
                )
                if number == 2:
                    visit.checked_out_at = now
            for number in range(3):
                create_invitation(
                    session,
                    site,
                    visitor_name=f"Ivy Invited {number}",
                    expected_on=now.date() + timedelta(days=number),
                    locale="en",
                    now=now,
                )
            run = PurgeRun(started_at=now, finished_at=now, status="succeeded", trigger="cli")
            run.sites.append(
                PurgeRunSite(
                    site_id=site.id,
                    visit_cutoff=now,
                    contact_cutoff=now,
                    invitation_cutoff=now.date(),
                )
            )
            session.add(run)
            made = create_api_token(
                session,
                name="Schemathesis",
                sites=[site],
                can_write=True,
                personal_data=True,
                created_by=None,
                now=now,
            )
            session.commit()
            return made.secret
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A running server on SQLite or PostgreSQL, and a token for it: (base URL, token)."""
    instance: Path = tmp_path_factory.mktemp("schemathesis") / "instance"
    database_url = f"sqlite:///{instance / 'kiosk.sqlite3'}"
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        database_url = request.getfixturevalue("postgres_schemas").new()
    env = kiosk_env(instance, database_url)
    # Enough for the whole run: the limit itself is tested in test_resources.py.
    env["KIOSK_API_LIMIT_PER_TOKEN"] = "100000 per minute"
    env["KIOSK_PURGE_ON_START"] = "false"
    env["KIOSK_NOTIFY_IN_SERVER"] = "false"
    run_kiosk(["db", "upgrade"], env)
    run_kiosk(["demo"], env)
    token = _seed(database_url, env)
    with running_server(env, workers=1) as base:
        yield base, token


@pytest.fixture(scope="module")
def api_schema(served_api: tuple[str, str]) -> Any:
    """The document as the server serves it (not as the code builds it here)."""
    base, _token = served_api
    return schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")


def _operations() -> list[tuple[str, str]]:
    from kiosk.api.framework import OPERATIONS
    from kiosk.api.openapi import PREFIX, openapi_path

    return [(operation.method, PREFIX + openapi_path(operation.rule)) for operation in OPERATIONS]


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize(("method", "path"), _operations())
def test_api_conforms_to_its_document(
    api_schema: Any, served_api: tuple[str, str], method: str, path: str, mode: str
) -> None:
    from hypothesis import given
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    _base, token = served_api
    operation = api_schema[path][method]
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE

    @given(case=operation.as_strategy(generation_mode=generation))
    @settings(
        max_examples=EXAMPLES if mode == "positive" else EXAMPLES // 2,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: Any) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"},
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_headers_conformance,
                response_schema_conformance,
            ],
            timeout=30,
        )

    conforms()
