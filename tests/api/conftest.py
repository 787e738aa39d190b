"""Fixtures of the API tests: tokens made through the same service as the dashboard's page,
and a client that sends one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from kiosk.clock import FrozenClock
from kiosk.models import Site
from kiosk.services.api_tokens import create_api_token


@pytest.fixture
def make_token(session: Session, clock: FrozenClock) -> Callable[..., str]:
    """Make a token for these sites and return its secret."""

    def make(
        *sites: Site, write: bool = False, personal: bool = False, name: str = "Facility system"
    ) -> str:
        made = create_api_token(
            session,
            name=name,
            sites=[session.merge(site) for site in sites],
            can_write=write,
            personal_data=personal,
            created_by=None,
            now=clock.now(),
        )
        session.commit()
        return made.secret

    return make


class Api:
    """A test client that sends a token with every request."""

    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def request(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = dict(kwargs.pop("headers", {}))
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, **kwargs)


@pytest.fixture
def api(app: Flask) -> Callable[[str | None], Api]:
    def make(token: str | None) -> Api:
        return Api(app.test_client(), token)

    return make


def assert_problem(response: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is a problem details document with this status (and code)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.mimetype == "application/problem+json", response.text
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    assert {"type", "title", "status", "code", "detail"} <= set(body)
    if code is not None:
        assert body["code"] == code, body
    return body
