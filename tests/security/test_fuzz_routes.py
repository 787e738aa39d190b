"""Every route of the app, fuzzed: never a 5xx, for anyone.

``tests/security/test_fuzz_forms.py`` fuzzes each form from its page, so it reaches only the forms
someone listed. This module takes the routes from ``app.url_map`` itself, so a new route is
fuzzed without anyone remembering to add it: for each rule and each of its methods, for an
anonymous browser, a paired kiosk, a reception user and an admin, Hypothesis draws the URL's
parts (ids of real rows, 0, ids beyond PostgreSQL's integer and beyond 64 bits, odd text), a
query string and a body whose fields are every field name of every form of the app, with
hostile values (whitespace of every kind, line separators, NUL, oversized numbers, invalid
UTF-8, files where text is expected). Each (rule, method, client) also gets the explicit
examples every such pair must survive: huge ids, each hostile class in every field, and a file
in every field.

The answer must never be a 5xx or a trace. Runs are derandomised, so CI cannot flake; the
count is written to test-artifacts/fuzz-routes-counts.json and printed at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule

from kiosk import create_app
from kiosk.db import get_database
from kiosk.enums import WebhookEvent, WebhookFormat
from kiosk.models import Site
from kiosk.services.kiosks import create_device
from kiosk.services.visitor_types import add_default_types
from kiosk.services.webhooks import SubscriptionSettings, create_subscription
from tests.conftest import STAFF_PASSWORD
from tests.documents_support import add_document
from tests.fuzzing import FILE, NASTY, SWEEP, body

pytestmark = pytest.mark.slow

#: Random examples per (rule, method, client), after the explicit ones.
EXAMPLES = {"sqlite": 4, "postgresql": 1}
CLIENTS = ["anonymous", "kiosk", "reception", "admin"]
COUNTS: dict[str, int] = {}
ARTIFACT = Path("test-artifacts/fuzz-routes-counts.json")
#: Ids beyond PostgreSQL's integer, beyond 64 bits, and none at all.
HUGE_IDS = [0, 2**31, 2**63, 10**20]
#: PostgreSQL gets the sweep's classes that reach its driver differently (NUL, separators,
#: out-of-range numbers, files); SQLite gets all of SWEEP.
PG_SWEEP = ["\x00", " ", "\u2028", str(2**31), str(2**63), "9" * 25, FILE]


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if not COUNTS:
        return
    total = sum(COUNTS.values())
    per_backend: dict[str, int] = {}
    for key, count in COUNTS.items():
        per_backend[key.split(":")[0]] = per_backend.get(key.split(":")[0], 0) + count
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps({"total": total, "per_backend": per_backend}, indent=1))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"fuzzed route requests: {total} {per_backend}")


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    # Throttling would answer most requests with 429 before the route runs.
    app = create_app({**app_config, "RATELIMIT_ENABLED": False})
    yield app
    get_database(app).engine.dispose()


def form_field_names() -> list[str]:
    """Every field name of every form class of the app."""
    names: set[str] = set()
    pending: list[type] = [FlaskForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("kiosk."):
            names.update(name for name, _field in cls._unbound_fields or [])
            names.update(
                name
                for name, value in vars(cls).items()
                if hasattr(value, "field_class") and not name.startswith("_")
            )
    return sorted(names)


def routes(app: Flask) -> list[tuple[Rule, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        found += [
            (rule, method) for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        ]
    return found


def build_path(rule: Rule, values: dict[str, Any]) -> str:
    path = rule.rule
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__
        marker = f"<int:{name}>" if "Id" in converter or "Integer" in converter else f"<{name}>"
        value = values[name]
        path = path.replace(marker, quote(str(value), safe="") or "x")
    return path


_VALUE = st.one_of(
    st.sampled_from([*NASTY, *SWEEP]),
    st.text(max_size=30),
    st.binary(max_size=16),
    st.integers(-(2**70), 2**70).map(str),
)


@pytest.fixture
def world(
    app: Flask,
    session: Any,
    make_site: Any,
    make_host: Any,
    make_visit: Any,
    make_invitation: Any,
    clock: Any,
) -> dict[str, Any]:
    site = make_site(name="Route HQ", field_email="optional", field_phone="optional")
    host = make_host(site, "Hanna Host")
    # Visitor types, a document the contractor signs and a webhook subscription: the routes
    # that edit, retire, sign or call them reach their real rows, not only their 404s.
    guest, contractor, *_others = add_default_types(session, site, now=clock.now())
    _document, version = add_document(session, site, clock.now(), signed_by=(contractor,))
    subscription = create_subscription(
        session,
        site,
        SubscriptionSettings(
            name="Security desk",
            url="https://hooks.example.org/kiosk",
            format=WebhookFormat.STANDARD,
            events=list(WebhookEvent),
            personal=False,
        ),
        now=clock.now(),
    )
    visit = make_visit(site, "Vera Visitor", visitor_type_id=guest.id)
    invitation = make_invitation(site, "Ivy Invited", visitor_type=contractor)
    device, _code = create_device(session, site, "Door", now=clock.now())
    session.commit()
    rows = (site, host, visit, invitation, device, guest, contractor, version, subscription)
    ids = sorted({1, 2, 3, version.document_id, *(row.id for row in rows)})
    return {"site": site, "ids": ids}


def make_client(kind: str, app: Flask, site: Site, pair: Any, make_staff: Any) -> FlaskClient:
    """A fresh client of the kind: a fuzzed request may log it out or revoke its kiosk."""
    if kind == "anonymous":
        return app.test_client()
    if kind == "kiosk":
        client: FlaskClient = pair(site)
        return client
    user = make_staff(role=kind, sites=(site,) if kind == "reception" else ())
    client = app.test_client()
    response = client.post(
        "/dashboard/login", data={"username": user.username, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 302, response.text
    return client


def fuzz_route(
    client: FlaskClient,
    rule: Rule,
    method: str,
    *,
    where: str,
    fields: list[str],
    ids: list[int],
    max_examples: int,
    sweep_values: list[Any],
) -> int:
    """Send one rule's method its explicit examples and ``max_examples`` drawn ones."""
    count = 0
    id_args = [n for n in rule.arguments if "Id" in type(rule._converters[n]).__name__]
    text_args = [n for n in rule.arguments if n not in id_args]
    path_values = st.fixed_dictionaries(
        {
            **{
                n: st.one_of(st.sampled_from(ids + HUGE_IDS), st.integers(0, 2**70))
                for n in id_args
            },
            **{n: st.one_of(st.sampled_from(["en", "sv", "xx", " "]), _VALUE) for n in text_args},
        }
    )
    pairs = st.lists(st.tuples(st.sampled_from(fields), _VALUE), max_size=6)
    query = st.lists(st.tuples(st.sampled_from(["q", "site", "next", "page"]), _VALUE), max_size=2)

    def send(values: Any) -> None:
        nonlocal count
        path_args, query_pairs, body_pairs = values
        path = build_path(rule, path_args)
        query_string = "&".join(
            f"{quote(name)}={quote(value if isinstance(value, str | bytes) else str(value))}"
            for name, value in query_pairs
            if value is not FILE
        )
        data, content_type = body(body_pairs)
        if method == "GET":
            response = client.get(path, query_string=query_string)
        else:
            response = client.open(
                path, method=method, data=data, content_type=content_type, query_string=query_string
            )
        count += 1
        context = (where, method, rule.rule, path, response.status_code)
        assert response.status_code < 500, (*context, response.text[:500])
        if response.mimetype == "text/html":
            assert "Traceback" not in response.text, context

    real = {n: ids[0] for n in id_args} | {n: "en" for n in text_args}
    explicit: list[Any] = [
        ({n: huge for n in id_args} | {n: "en" for n in text_args}, [], [(f, " ") for f in fields])
        for huge in HUGE_IDS[1:]
    ]
    explicit += [
        (real, [("q", value)], [(f, value) for f in fields])
        for value in sweep_values
        if value is not FILE
    ]
    explicit.append((real, [], [(f, FILE) for f in fields]))
    test = given(st.tuples(path_values, query, pairs))(send)
    for values in explicit:
        test = example(values)(test)
    settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )(test)()
    return count


@pytest.mark.parametrize("kind", CLIENTS)
def test_every_route_for_every_client(
    app: Flask, backend: str, world: dict[str, Any], pair: Any, make_staff: Any, kind: str
):
    fields = form_field_names()
    assert {"name", "host_id", "code", "username", "visitor_name", "file"} <= set(fields)
    all_routes = routes(app)
    assert len(all_routes) >= 90
    count = 0
    for rule, method in all_routes:
        count += fuzz_route(
            make_client(kind, app, world["site"], pair, make_staff),
            rule,
            method,
            where=kind,
            fields=fields,
            ids=world["ids"],
            max_examples=EXAMPLES[backend],
            sweep_values=SWEEP if backend == "sqlite" else PG_SWEEP,
        )
    COUNTS[f"{backend}:{kind}"] = count
    assert count >= len(all_routes) * (EXAMPLES[backend] + 1)
