"""Row URLs built once per list give exactly what url_for gives for each row."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, render_template_string, url_for
from markupsafe import Markup
from werkzeug.routing import PathConverter, UnicodeConverter
from werkzeug.routing.rules import Rule

from kiosk import create_app
from kiosk.db import get_database
from kiosk.urls import ROW_ID, IdConverter, IdUrl, for_row

ROW_ENDPOINTS = [
    ("dashboard.badge_reprint", "visit_id"),
    ("dashboard.badge_download", "visit_id"),
    ("dashboard.check_out", "visit_id"),
    ("dashboard.cancel_invitation", "invitation_id"),
]


@pytest.fixture
def backend() -> str:
    """A URL does not depend on the database: these run on SQLite only."""
    return "sqlite"


@pytest.mark.parametrize(("endpoint", "key"), ROW_ENDPOINTS)
@pytest.mark.parametrize("base_url", ["http://localhost/", "https://reception.example/kiosk/"])
def test_row_url_is_url_for(app: Flask, endpoint: str, key: str, base_url: str):
    with app.test_request_context(base_url=base_url):
        row_url = IdUrl(endpoint, key)
        for row_id in (0, 1, 7, 42, 10**9, 2**63 - 1):
            assert row_url(row_id) == url_for(endpoint, **{key: row_id})


def test_other_values_stay_in_the_url(app: Flask):
    with app.test_request_context():
        row_url = IdUrl("dashboard.check_out", "visit_id", back="today")
        assert row_url(5) == url_for("dashboard.check_out", visit_id=5, back="today")
        assert "back=today" in row_url(5)


def test_a_row_fragment_is_what_each_row_would_render(app: Flask):
    """A row's buttons written once with ROW_ID and given each row's id (``for_row``) are
    what writing them in every row gives: each URL with the row's id, each label escaped
    once (not again per row, and not twice)."""
    written_once = (
        "{% set reprint = id_url('dashboard.badge_reprint', 'visit_id') %}"
        "{% set check_out = id_url('dashboard.check_out', 'visit_id') %}"
        '{% set buttons %}<button formaction="{{ reprint|with_id(ROW_ID) }}">{{ label }}'
        '</button><button formaction="{{ check_out|with_id(ROW_ID) }}">{{ label }}</button>'
        "{% endset %}{% for id in ids %}<td>{{ buttons|for_row(id) }}</td>{% endfor %}"
    )
    written_per_row = (
        "{% for id in ids %}<td><button formaction=\"{{ url_for('dashboard.badge_reprint', "
        'visit_id=id) }}">{{ label }}</button><button formaction="{{ url_for('
        "'dashboard.check_out', visit_id=id) }}\">{{ label }}</button></td>{% endfor %}"
    )
    ids = [1, 42, 2**63 - 1]
    label = 'Skriv ut <igen> & "nu"'
    with app.test_request_context():
        once = render_template_string(written_once, ids=ids, label=label)
        per_row = render_template_string(written_per_row, ids=ids, label=label)
    assert once == per_row
    assert once.count("Skriv ut &lt;igen&gt; &amp; &#34;nu&#34;") == 2 * len(ids)
    assert str(ROW_ID) not in once


def test_a_row_fragment_takes_only_an_integer_id():
    fragment = Markup(f'<a href="/visits/{ROW_ID}">x</a>')  # noqa: S704 - no input in it
    assert for_row(fragment, 12) == '<a href="/visits/12">x</a>'
    assert isinstance(for_row(fragment, 12), Markup)
    with pytest.raises(ValueError, match="invalid literal"):
        for_row(fragment, '1"><script>')  # type: ignore[arg-type]


def test_the_suites_shared_url_builders_build_what_werkzeug_builds(
    app_config: dict[str, Any],
) -> None:
    """tests/conftest.py shares each URL rule's compiled builder between the suite's apps.
    Every rule, with and without extra query values, builds the same URL as in an app whose
    rules Werkzeug compiled itself."""
    shared_builder = Rule._compile_builder
    werkzeug_builder = shared_builder.__wrapped__  # type: ignore[attr-defined]
    shared = create_app(app_config)
    Rule._compile_builder = werkzeug_builder  # type: ignore[method-assign]
    try:
        own = create_app(app_config)
    finally:
        Rule._compile_builder = shared_builder  # type: ignore[method-assign]
    samples = {IdConverter: 42, PathConverter: "x/y z", UnicodeConverter: "a b ä"}
    pairs = list(zip(own.url_map.iter_rules(), shared.url_map.iter_rules(), strict=True))
    for own_rule, shared_rule in pairs:
        assert own_rule.rule == shared_rule.rule
        assert own_rule._build is not shared_rule._build
        values = {name: samples[type(c)] for name, c in own_rule._converters.items()}
        for extra in ({}, {"next": "/a?b=c", "page": 2}):
            for append_unknown in (True, False):
                assert shared_rule.build({**values, **extra}, append_unknown) == own_rule.build(
                    {**values, **extra}, append_unknown
                )
    assert len(pairs) > 100
    get_database(shared).engine.dispose()
    get_database(own).engine.dispose()
