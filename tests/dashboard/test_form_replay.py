"""Staff clicking through the dashboard: every form a page shows, submitted as it stands.

A staff member follows the page's links (or opens any dashboard page, with a real id or a
stale one) and now and then submits one of the page's forms with what it holds: its default
values, its first choice in each list, one of its buttons. Settings saved unchanged, a visit
checked out twice, an invitation cancelled, a search repeated, a data-subject request run on
what the page offers: each answer must be a page, a redirect or a refusal, never a 5xx. The
route and form fuzzing sends hostile values to forms someone listed or to routes one request
at a time; this submits every form the pages really offer, in sequences. Seeds are fixed.
"""

from __future__ import annotations

import random
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlparse

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from tests.security.test_fuzz_routes import app, build_path, routes, world

__all__ = ["app", "world"]  # fixtures, used by name

pytestmark = pytest.mark.slow

STEPS = 400


class PageForms(HTMLParser):
    """A page's links into the dashboard and its POST forms: each form's action, the values
    a browser would send as the page stands, and its submit buttons (by the form's id too,
    for buttons outside their form)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: list[Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "a" and found.get("href", "").startswith("/dashboard"):
            if "logout" not in found["href"]:
                self.links.append(found["href"])
        elif tag == "form":
            self._form = {
                "action": found.get("action", ""),
                "post": found.get("method", "").lower() == "post",
                "id": found.get("id"),
                "fields": [],
                "buttons": [],
            }
            self.forms.append(self._form)
        elif tag in {"input", "button", "textarea", "select"}:
            self._field(tag, found)
        elif (
            tag == "option"
            and self._select is not None
            and (self._select[1] is None or "selected" in found)
        ):
            self._select[1] = found.get("value", "")

    def _field(self, tag: str, found: dict[str, str]) -> None:
        form = self._form
        if found.get("form"):
            form = next((each for each in self.forms if each["id"] == found["form"]), form)
        if form is None:
            return
        kind = found.get("type", "submit" if tag == "button" else "text").lower()
        name = found.get("name")
        if kind == "submit":
            form["buttons"].append((name, found.get("value", ""), found.get("formaction")))
        elif tag == "select" and name:
            self._select = [name, None]
            form["fields"].append(self._select)
        elif name and kind != "file" and (kind not in {"checkbox", "radio"} or "checked" in found):
            form["fields"].append([name, found.get("value", "")])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def submission(page: str, form: dict[str, Any], rnd: random.Random) -> tuple[str, MultiDict]:
    """Where a click on one of the form's buttons sends it, and what it sends."""
    data = [(name, value or "") for name, value in form["fields"] if name]
    action = form["action"]
    if form["buttons"]:
        name, value, formaction = rnd.choice(form["buttons"])
        if name:
            data.append((name, value))
        action = formaction or action
    url = urlparse(urljoin("http://localhost" + page, action or page))
    return url.path + (f"?{url.query}" if url.query else ""), MultiDict(data)


@pytest.mark.parametrize("seed", range(6))
def test_every_form_on_the_pages_submitted_as_it_stands(
    seed: int,
    app: Flask,
    world: dict[str, Any],
    make_staff: Any,
    login: Any,
    make_visit: Any,
    make_invitation: Any,
    session: Any,
):
    rnd = random.Random(seed)
    site = world["site"]
    for number in range(5):
        make_visit(site, f"Visitor {number}")
        make_invitation(site, f"Invitee {number}")
    client = login(make_staff(role="admin" if seed % 3 else "reception", sites=(site,)))
    ids = world["ids"]
    pages = [
        build_path(
            rule,
            {
                name: rnd.choice(ids) if "Id" in type(rule._converters[name]).__name__ else "en"
                for name in rule.arguments
            },
        )
        for rule, method in routes(app)
        if method == "GET" and rule.rule.startswith("/dashboard") and "logout" not in rule.rule
    ]
    failed, submitted = [], 0
    page = "/dashboard/"
    for number in range(STEPS):
        response = client.get(page)
        if response.status_code >= 500:
            failed.append((number, "GET", page, response.status_code))
        found = PageForms()
        if response.status_code == 200 and response.mimetype == "text/html":
            found.feed(response.text)
        forms = [
            form for form in found.forms if form["post"] and (form["buttons"] or form["action"])
        ]
        if forms and rnd.random() < 0.7:
            path, data = submission(page, rnd.choice(forms), rnd)
            if "logout" not in path and "revoke" not in path:
                answer = client.post(path, data=data)
                submitted += 1
                if answer.status_code >= 500 or b"Traceback" in answer.get_data():
                    failed.append((number, "POST", path, list(data.items())[:6]))
                location = urlparse(answer.location or "").path
                if answer.status_code in {302, 303} and location.startswith("/dashboard"):
                    page = location
                    continue
        page = rnd.choice(found.links) if found.links and rnd.random() < 0.6 else rnd.choice(pages)
        session.expire_all()
    assert not failed, failed[:8]
    assert submitted >= 30, submitted
