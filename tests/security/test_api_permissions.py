"""The REST API's permission matrix: every API operation, for a request without a token, a
logged-in admin's session cookie without a token, a token of another site (write and
personal data), a read token of the site and a write token of the site.

A new API route fails ``test_every_api_route_is_in_the_matrix`` (and
tests/security/test_permissions.py's every-route test) until it is listed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock
from kiosk.services.api_tokens import create_api_token
from tests.conftest import STAFF_PASSWORD
from tests.support import assert_security_headers

ROLES = ("no_token", "staff_session", "other_site", "read", "write")
READ = (401, 401, 200, 200, 200)
READ_ONE = (401, 401, 404, 200, 200)
WRITE_ONE = (401, 401, 404, 403, 200)


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    #: Status per role, in ROLES order.
    expect: tuple[int, int, int, int, int]
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


API_MATRIX: dict[str, list[Case]] = {
    "api.sites": [Case("GET", "/api/v1/sites", READ)],
    "api.site": [Case("GET", "/api/v1/sites/{site}", READ_ONE)],
    "api.hosts": [
        Case("GET", "/api/v1/hosts", READ),
        Case(
            "POST",
            "/api/v1/hosts",
            (401, 401, 404, 403, 201),
            body={"site_id": "{site}", "name": "New Host", "email": "new@example.com"},
        ),
    ],
    "api.host": [
        Case("GET", "/api/v1/hosts/{host}", READ_ONE),
        Case(
            "PATCH",
            "/api/v1/hosts/{host}",
            WRITE_ONE,
            body={"name": "Renamed Host"},
            headers={"If-Match": "*"},
        ),
    ],
    "api.host_deactivate": [Case("POST", "/api/v1/hosts/{host}/deactivate", WRITE_ONE)],
    "api.visits_on_site": [Case("GET", "/api/v1/visits/on-site", READ)],
    "api.visits": [Case("GET", "/api/v1/visits", READ)],
    "api.visit": [Case("GET", "/api/v1/visits/{visit}", READ_ONE)],
    "api.visit_check_out": [Case("POST", "/api/v1/visits/{visit}/check-out", WRITE_ONE)],
    "api.invitations": [
        Case("GET", "/api/v1/invitations", READ),
        Case(
            "POST",
            "/api/v1/invitations",
            (401, 401, 404, 403, 201),
            body={"site_id": "{site}", "visitor_name": "Ivy", "expected_on": "2026-03-04"},
        ),
    ],
    "api.invitation": [Case("GET", "/api/v1/invitations/{invitation}", READ_ONE)],
    "api.invitation_cancel": [Case("POST", "/api/v1/invitations/{invitation}/cancel", WRITE_ONE)],
    "api.purge_runs": [Case("GET", "/api/v1/purge-runs", READ)],
}


def test_every_api_route_is_in_the_matrix(app: Flask) -> None:
    routed = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        and rule.endpoint not in {"api.openapi_json", "api.reference"}
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    listed = {(endpoint, case.method) for endpoint, cases in API_MATRIX.items() for case in cases}
    assert routed == listed


@pytest.fixture
def world(
    make_site: Any,
    make_host: Any,
    make_visit: Any,
    make_invitation: Any,
    make_staff: Any,
    session: Session,
    clock: FrozenClock,
) -> dict[str, Any]:
    site, elsewhere = make_site(name="The Site"), make_site(name="Elsewhere")
    host = make_host(site)
    visit = make_visit(site, host_id=host.id)
    invitation = make_invitation(site)
    make_staff(role="admin", username="boss")

    def token(sites: list[Any], *, write: bool, personal: bool) -> str:
        return create_api_token(
            session,
            name="Client",
            sites=sites,
            can_write=write,
            personal_data=personal,
            created_by=None,
            now=clock.now(),
        ).secret

    tokens = {
        "other_site": token([elsewhere], write=True, personal=True),
        "read": token([site], write=False, personal=False),
        "write": token([site], write=True, personal=False),
    }
    session.commit()
    ids = {"site": site.id, "host": host.id, "visit": visit.id, "invitation": invitation.id}
    return {"ids": ids, "tokens": tokens}


def _client(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    if role == "staff_session":
        response = client.post(
            "/dashboard/login", data={"username": "boss", "password": STAFF_PASSWORD}
        )
        assert response.status_code == 302
    return client


def _filled(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_matrix_says(app: Flask, world: dict[str, Any], role: str) -> None:
    client = _client(app, role)
    headers: dict[str, str] = {}
    if role in world["tokens"]:
        headers["Authorization"] = f"Bearer {world['tokens'][role]}"
    wrong = []
    for endpoint, cases in API_MATRIX.items():
        for case in cases:
            path = case.path.format(**world["ids"])
            body = (
                {key: _filled(value, world["ids"]) for key, value in case.body.items()}
                if case.body is not None
                else None
            )
            response = client.open(
                path, method=case.method, json=body, headers={**headers, **case.headers}
            )
            assert_security_headers(response, path)
            wanted = case.expect[ROLES.index(role)]
            if response.status_code != wanted:
                wrong.append(f"{endpoint} {case.method}: {response.status_code}, not {wanted}")
            if response.status_code >= 400:
                assert response.mimetype == "application/problem+json", (endpoint, role)
            else:
                assert response.mimetype == "application/json", (endpoint, role)
    assert wrong == []
