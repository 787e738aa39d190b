"""kiosk.forms.html_params writes exactly what WTForms' own html_params writes, and the app has
every WTForms widget and label write with it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from wtforms import (
    BooleanField,
    Form,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)
from wtforms.widgets import core

from kiosk.forms import WTFORMS_HTML_PARAMS, html_params

AWKWARD = [
    'say "hi"',
    "it's",
    "<script>&amp;",
    "",
    " ",
    "\u2028line\u2029para",
    "Ölund 北京",
    "\x00nul",
    "a" * 300,
]


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"name": "visitor", "id": "name", "class_": "input wide", "for_": "name"},
        {"required": True, "disabled": False, "autofocus": True},
        {"data_osk_open": "1", "aria_describedby": "name-hint", "data_a_b_c": "x"},
        {"maxlength": 200, "min": -1, "step": 0.5, "value": None},
        {"value": Markup('<b class="x">bold</b>'), "title": Markup("a & b")},
        *({"value": text, "placeholder": text} for text in AWKWARD),
        {"zeta": "1", "alpha": "2", "Mixed": "3", "_under": "4"},
    ],
)
def test_the_same_attributes_as_wtforms(attributes: dict[str, Any]) -> None:
    assert str(html_params(**attributes)) == str(WTFORMS_HTML_PARAMS(**attributes))
    assert isinstance(html_params(**attributes), Markup)


_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
_VALUES = st.one_of(
    st.booleans(),
    st.none(),
    st.integers(),
    st.text(),
    st.text().map(Markup),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_NAMES, _VALUES, max_size=8))
def test_any_attributes_as_wtforms(attributes: dict[str, Any]) -> None:
    assert str(html_params(**attributes)) == str(WTFORMS_HTML_PARAMS(**attributes))


def test_a_translated_value_is_written_in_the_language(app: Flask) -> None:
    """A lazy string (a placeholder from ``lazy_gettext``) is written as it reads now."""
    with app.test_request_context(), force_locale("sv"):
        placeholder = _l("Your name")
        assert str(html_params(placeholder=placeholder)) == str(
            WTFORMS_HTML_PARAMS(placeholder=placeholder)
        )


class _EveryWidget(Form):
    name = StringField("Name", render_kw={"data_osk_open": "1"})
    note = TextAreaField("Note")
    pick = SelectField("Pick")
    grouped = SelectField("Grouped")
    way = RadioField("Way")
    agree = BooleanField("Agree")
    send = SubmitField("Send")


def _every_widget_html() -> str:
    form = _EveryWidget(data={"name": 'Eve "E"', "note": "<hi>", "pick": "b", "way": "y"})
    # Set as the app sets them (WTForms warns of tuples given to the field's constructor).
    form.pick.choices = [("a", 'A "one"'), ("b", "B & b")]
    form.grouped.choices = {"North": [("1", "Ann")], "South": [("2", "Bo")]}
    form.way.choices = [("x", "X <x>"), ("y", "Y")]
    return "".join(f"{field.label}{field(class_='c')}" for field in form)


def test_the_app_writes_every_widget_with_it(app: Flask) -> None:
    """Inputs and buttons through their class's hook, text areas, selects, options and lists
    through the module, labels through the package: each one replaced, and the same page."""
    assert core.Input.html_params is html_params
    assert core.Button.html_params is html_params
    assert core.html_params is html_params
    assert widgets.html_params is html_params
    ours = _every_widget_html()
    try:
        core.Input.html_params = core.Button.html_params = staticmethod(WTFORMS_HTML_PARAMS)
        core.html_params = widgets.html_params = WTFORMS_HTML_PARAMS
        theirs = _every_widget_html()
    finally:
        core.Input.html_params = core.Button.html_params = staticmethod(html_params)
        core.html_params = widgets.html_params = html_params
    assert ours == theirs
    assert 'value="Eve &#34;E&#34;"' in ours
