"""The OpenAPI document is built from the code and covers all of it; the reference page is
served by the app itself, from vendored files, under the strict Content-Security-Policy."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from kiosk.api.openapi import openapi_document
from tests.support import assert_security_headers

ROOT = Path(__file__).parents[2]


def test_document_lists_every_api_route_and_nothing_else(app: Flask, client: FlaskClient) -> None:
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    document = served.get_json()
    assert document == openapi_document()
    assert document["openapi"] == "3.1.0"
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    routed = {
        (method, re.sub(r"<int:(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        and rule.endpoint not in {"api.openapi_json", "api.reference"}
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == routed
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for operations in document["paths"].values():
        for operation in operations.values():
            assert operation["security"] == [{"token": []}]
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert "application/problem+json" in response["content"], (operation, status)


def test_writes_and_conditional_updates_are_described(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    patch = paths["/api/v1/hosts/{host_id}"]["patch"]
    if_match = [p for p in patch["parameters"] if p["name"] == "If-Match"]
    assert [parameter["required"] for parameter in if_match] == [True]
    assert {"412", "428", "409", "415", "422"} <= set(patch["responses"])
    assert "write scope" in patch["description"]
    listing = paths["/api/v1/hosts"]["get"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 200)


def test_reference_page_is_served_from_vendored_files(client: FlaskClient) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert_security_headers(page, "/api/v1/docs")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    for source in sources:
        assert source.startswith("/"), source  # nothing from another origin
        with client.get(source) as response:
            assert response.status_code == 200, source
    assert "<script>" not in page.text  # no inline script (CSP)
    vendored = ROOT / "static" / "vendor" / "swagger-ui"
    assert (vendored / "LICENSE").read_text().startswith("\n") or "Apache" in (
        vendored / "LICENSE"
    ).read_text()
    assert "swagger-ui-dist" in (vendored / "VERSION").read_text()
    assert "sourceMappingURL" not in (vendored / "swagger-ui-bundle.js").read_text()[-500:]
