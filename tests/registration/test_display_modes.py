"""The visitor's display modes are rendered by the server from their cookie (so the first
paint is already in them), only the known ones, and the reset ends them."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient


def html_classes(page: str) -> list[str]:
    found = re.search(r'<html lang="[^"]*"(?: class="([^"]*)")?>', page)
    assert found, page[:200]
    return (found[1] or "").split()


def cookie_name(page: str) -> str:
    found = re.search(r'data-display-cookie="([^"]*)"', page)
    assert found
    return found[1]


def test_modes_from_the_cookie_are_on_the_html_element(pair: Any, make_site: Any):
    kiosk: FlaskClient = pair(make_site())
    page = kiosk.get("/").text
    assert html_classes(page) == []
    name = cookie_name(page)
    # Whatever order the page wrote them in, and nothing that is not a mode.
    kiosk.set_cookie(name, 'reachable.larger-text.evil"><script>', path="/")
    for path in ("/", "/check-in", "/check-out", "/invitation"):
        assert html_classes(kiosk.get(path).text) == ["larger-text", "reachable"], path


def test_the_reset_ends_the_modes(pair: Any, make_site: Any):
    kiosk: FlaskClient = pair(make_site())
    name = cookie_name(kiosk.get("/").text)
    kiosk.set_cookie(name, "high-contrast", path="/")
    response = kiosk.get("/reset")
    assert response.status_code == 302
    assert any(
        header.startswith(f"{name}=;") and "Max-Age=0" in header
        for header in response.headers.getlist("Set-Cookie")
    )
    assert html_classes(kiosk.get("/").text) == []


def test_a_kiosk_error_page_keeps_the_modes(pair: Any, make_site: Any):
    kiosk: FlaskClient = pair(make_site())
    name = cookie_name(kiosk.get("/").text)
    kiosk.set_cookie(name, "larger-text", path="/")
    response = kiosk.post("/check-in", data={"name": "x" * 300_000})
    assert response.status_code == 413
    assert html_classes(response.text) == ["larger-text"]
