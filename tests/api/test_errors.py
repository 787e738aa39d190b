"""The API's errors: one JSON shape (RFC 9457 problem details) for every status, bad input of
every class answered with a 4xx, never an HTML page and never a 500."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from kiosk.models import Site
from tests.api.conftest import assert_problem
from tests.support import LEAKS, assert_security_headers


@pytest.fixture
def writer(make_site: Callable[..., Site], make_token: Callable[..., str], api: Any) -> Any:
    site = make_site()
    client = api(make_token(site, write=True, personal=True))
    client.site = site
    return client


def _host(site: Site, **changes: Any) -> dict[str, Any]:
    return {"site_id": site.id, "name": "Hanna Host", "email": "hanna@example.com", **changes}


def test_head_answers_as_get_without_the_body(app: Flask, writer: Any) -> None:
    """Every path that answers GET answers HEAD: the same status and headers, no body."""
    paths = [
        rule.rule.removeprefix("/api/v1").replace("<int:", "").replace(">", "")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and "GET" in (rule.methods or set())
    ]
    assert len(paths) >= 8, paths
    for path in paths:
        # An id of 1 (found or not, the answer is the same for both methods).
        concrete = "/".join("1" if part.endswith("_id") else part for part in path.split("/"))
        got, head = writer.get(concrete), writer.request("HEAD", concrete)
        assert head.status_code == got.status_code, (concrete, head.status_code, head.text)
        assert head.get_data() == b"", concrete
        assert head.headers.get("Content-Type") == got.headers.get("Content-Type"), concrete
        assert head.headers.get("ETag") == got.headers.get("ETag"), concrete


def test_routing_errors_are_problems(writer: Any) -> None:
    assert_problem(writer.get("/no-such-thing"), 404)
    assert_problem(writer.get("/hosts/99999999999999999999"), 404)
    assert_problem(writer.get("/hosts/%D9%A1"), 404)  # an Arabic-Indic digit one
    not_allowed = writer.request("DELETE", "/hosts")
    assert_problem(not_allowed, 405)
    assert set(not_allowed.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert_problem(writer.get("/hosts?site_id=1%00"), 400)
    response = writer.get("/sites")
    assert_security_headers(response, "/api/v1/sites")
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{", "application/json", 400),
        ("", "application/json", 400),
        ("null", "application/json", 422),
        ("[]", "application/json", 422),
        ('"text"', "application/json", 422),
        ('{"site_id": NaN}', "application/json", 422),
        ('{"site_id": 1e400}', "application/json", 422),
        ('{"site_id": ' + "9" * 5000 + "}", "application/json", 400),
        ('{"site_id": -1, "name": "A", "email": "a@example.com"}', "application/json", 422),
        ('{"site_id": "1", "name": "A", "email": "a@example.com"}', "application/json", 422),
        ('{"site_id": true, "name": "A", "email": "a@example.com"}', "application/json", 422),
        ('{"site_id": 1.0, "name": "A", "email": "a@example.com"}', "application/json", 422),
        ("[" * 200_000 + "]" * 200_000, "application/json", 413),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400),
        ('{"a": ' * 5000 + "1" + "}" * 5000, "application/json", 400),
        ("name=x", "application/x-www-form-urlencoded", 415),
        ("{}", "text/plain", 415),
        ("{}", "application/json; charset=latin-1", 415),
        ("{}", "", 415),
        ("{}", "application/jsonx", 415),
    ],
)
def test_bodies_of_every_class(writer: Any, body: str, content_type: str, status: int) -> None:
    response = writer.post("/hosts", data=body.encode(), content_type=content_type)
    problem = assert_problem(response, status)
    assert not any(leak in response.text for leak in LEAKS)
    assert "9999999999" not in problem["detail"]


def test_bytes_that_are_not_utf8(writer: Any) -> None:
    response = writer.post("/hosts", data=b'{"name": "\xff\xfe"}', content_type="application/json")
    assert_problem(response, 400, "body_not_json")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"name": "   "}, "name", "blank"),
        ({"name": "\u3000\u00a0\t"}, "name", "text_invalid"),
        ({"name": "\u2028"}, "name", "text_invalid"),
        ({"name": "Ann\u2029Other"}, "name", "text_invalid"),
        ({"name": "Ann\u202eevil"}, "name", "text_invalid"),
        ({"name": "Ann\x00"}, "name", "text_invalid"),
        ({"name": "\u200b\u200d"}, "name", "name_invalid"),
        ({"name": "x" * 201}, "name", "string_too_long"),
        ({"name": ""}, "name", "string_too_short"),
        ({"name": 5}, "name", "string_type"),
        ({"name": ["A"]}, "name", "string_type"),
        ({"email": "a@b"}, "email", "email_invalid"),
        ({"email": "a b@example.com"}, "email", "email_invalid"),
        ({"locale": "xx"}, "locale", "language_unknown"),
        ({"active": "yes"}, "active", "bool_type"),
        ({"site_id": 2**31}, "site_id", "less_than_equal"),
        ({"site_id": 2**64}, "site_id", "less_than_equal"),
        ({"site_id": 0}, "site_id", "greater_than_equal"),
        ({"unknown": 1}, "unknown", "extra_forbidden"),
        ({"Name": "A"}, "Name", "extra_forbidden"),
    ],
)
def test_fields_of_every_class(writer: Any, changes: dict[str, Any], field: str, code: str) -> None:
    response = writer.post("/hosts", json=_host(writer.site, **changes))
    problem = assert_problem(response, 422, "invalid_body")
    assert {"in": "body", "field": field, "code": code} in [
        {key: error[key] for key in ("in", "field", "code")} for error in problem["errors"]
    ], problem
    # What was sent is never echoed back (it can be personal data).
    assert all(set(error) == {"in", "field", "code", "message"} for error in problem["errors"])
    assert "example.com" not in json.dumps(problem)


def test_query_values_of_every_class(writer: Any) -> None:
    for query in (
        "site_id=abc",
        "site_id=" + "1" * 400,
        "site_id=%E2%80%A8",
        "active=maybe",
        "limit=%20",
        "date=2026-02-30",
        "date=yesterday",
    ):
        path = "/visits" if query.startswith("date") else "/hosts"
        assert_problem(writer.get(f"{path}?{query}"), 400, "invalid_parameter")
    assert_problem(writer.get("/sites?site_id=1"), 400)
    assert_problem(writer.get("/hosts/1?x=1"), 400, "unknown_parameter")


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "2200-01-01", "9999-12-31"])
def test_days_at_the_ends_of_the_calendar_are_refused_by_name(
    writer: Any, make_host: Callable[..., Any], day: str
) -> None:
    """Real dates, but a day's bounds on a site's clock (or the day after) fall outside
    Python's calendar: each date parameter and field refuses them (they were 500s)."""
    for path, parameter in (("/visits", "date"), ("/invitations", "expected_on")):
        problem = assert_problem(
            writer.get(path, query_string={parameter: day}), 400, "invalid_parameter"
        )
        assert [(error["field"], error["code"]) for error in problem["errors"]] == [
            (parameter, "day_out_of_range")
        ]
    invitation = {
        "site_id": writer.site.id,
        "visitor_name": "Ivy Invited",
        "expected_on": day,
        "host_id": make_host(writer.site).id,
    }
    problem = assert_problem(writer.post("/invitations", json=invitation), 422, "invalid_body")
    assert [(error["field"], error["code"]) for error in problem["errors"]] == [
        ("expected_on", "day_out_of_range")
    ]
    assert writer.get("/visits", query_string={"date": "2000-01-01"}).status_code == 200


class _NeverSent(io.RawIOBase):
    """A request body announced and never sent: reading it would wait for the client."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, _offset: int, _whence: int = 0) -> int:
        return 0

    def tell(self) -> int:
        return 0

    def readinto(self, _buffer: Any) -> int:
        raise AssertionError("the server waited for a body the operation does not take")


@pytest.mark.parametrize(
    "length", [{"CONTENT_LENGTH": "5"}, {"HTTP_TRANSFER_ENCODING": "chunked"}], ids=str
)
def test_a_body_announced_where_none_is_taken_is_refused_unread(
    writer: Any, length: dict[str, str]
) -> None:
    """An outside fuzz held a worker for 20 s with a GET saying Content-Length: 5 and sending
    nothing: the API read the body to refuse it. It refuses what the headers announce."""
    response = writer.get("/sites", input_stream=_NeverSent(), environ_overrides=length)
    assert_problem(response, 400, "body_not_expected")


def test_a_body_where_none_is_taken(writer: Any, make_visit: Callable[..., Any]) -> None:
    visit = make_visit(writer.site)
    response = writer.post(f"/visits/{visit.id}/check-out", json={"at": "now"})
    assert_problem(response, 400, "body_not_expected")
    files = writer.post(
        "/hosts", data={"file": (io.BytesIO(b"x"), "x.csv")}, content_type="multipart/form-data"
    )
    assert_problem(files, 400)


def test_unexpected_errors_are_problems_too(
    app: Flask, writer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk.api import sites

    def broken(_site: Any) -> Any:
        raise RuntimeError("Vera Visitor's secret")

    monkeypatch.setattr(sites, "site_out", broken)
    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = writer.get("/sites")
    problem = assert_problem(response, 500)
    assert "Vera" not in response.text
    assert problem["code"] == "internal_server_error"


def test_an_unreachable_database_is_a_503_problem(tmp_path: Path) -> None:
    from kiosk import create_app
    from kiosk.db import get_database
    from tests.support import free_port

    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": f"postgresql+psycopg://kiosk@127.0.0.1:{free_port()}/kiosk",
            "SECRET_KEY": "test-secret-key",
            "PROPAGATE_EXCEPTIONS": False,
        }
    )
    try:
        response = app.test_client().get(
            "/api/v1/sites", headers={"Authorization": "Bearer kiosk_" + "a" * 43}
        )
    finally:
        get_database(app).engine.dispose()
    assert_problem(response, 503)
    assert response.headers["Retry-After"] == "5"
    assert "127.0.0.1" not in response.text
    assert not any(leak in response.text for leak in LEAKS)
