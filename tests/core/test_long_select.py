"""kiosk.forms.LongSelect writes exactly what WTForms' Select writes, for any plain choices."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from wtforms import Form, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import Select

from kiosk.forms import LongSelect

AWKWARD = ["Anna <b>Berg</b>", 'Quote " here', "Ampersand & Co", "", "Ölund", "x' onclick='y"]


def rendered(widget: Any, choices: Any, data: Any, coerce: Any = str, **kwargs: Any) -> str:
    class Chooser(Form):
        pick = SelectField("Pick", coerce=coerce, widget=widget)

    form = Chooser()
    # Set as the app sets them (WTForms warns of tuples given to the field's constructor).
    form.pick.choices = choices
    form.pick.data = data
    return str(form.pick(**kwargs))


@pytest.mark.parametrize(
    ("choices", "data", "coerce"),
    [
        ([(0, "Anyone"), *((number, name) for number, name in enumerate(AWKWARD, 1))], 3, int),
        ([(0, "Anyone"), (7, "Eve")], 0, int),
        ([(0, "Anyone"), (7, "Eve")], None, int),
        ([("", "As the site"), ("hidden", "Hidden"), ("<x>", 'a"b')], "<x>", str),
        ([("", "")], "", str),
        ([(True, "Yes"), (False, "No")], True, bool),
    ],
)
def test_the_same_html_as_select(choices: Any, data: Any, coerce: Any) -> None:
    expected = rendered(Select(), choices, data, coerce)
    assert rendered(LongSelect(), choices, data, coerce) == expected
    extra = {"class_": "input", "aria_describedby": "pick-hint"}
    assert rendered(LongSelect(), choices, data, coerce, **extra) == rendered(
        Select(), choices, data, coerce, **extra
    )


def test_choices_it_does_not_handle_go_to_select() -> None:
    grouped = {"North": {"1": "Ann"}, "South": {"2": "Bo"}}
    with_attributes = [SelectChoice("1", "Ann", render_kw={"disabled": True})]
    for choices in (grouped, with_attributes):
        assert rendered(LongSelect(), choices, "1") == rendered(Select(), choices, "1")


def test_a_host_select_escapes_a_host_name(staff_client: Any, app: Flask, make_site: Any) -> None:
    """The history form's host list (every host of the sites served) shows a name as text."""
    from kiosk.db import get_database
    from kiosk.models import Host

    site = make_site()
    with get_database(app).sessionmaker() as session:
        session.add(Host(site_id=site.id, name="<script>Mallory</script>", email="m@example.com"))
        session.commit()
    page = staff_client.get("/dashboard/history").text
    assert "&lt;script&gt;Mallory&lt;/script&gt;</option>" in page
    assert "<script>Mallory" not in page
