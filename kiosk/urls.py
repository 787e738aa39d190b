"""URLs for the rows of long lists: built with ``url_for`` once per list, not once per row.

With hundreds of visitors on site, three ``url_for`` calls a row were a fifth of the
dashboard page's time (bench/dashboard.py).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request, url_for
from markupsafe import Markup
from werkzeug.routing import IntegerConverter

from kiosk.db import ID_MAX

#: Stands for the row's id while the URL is built; no real id is this large.
_PLACEHOLDER = 987_654_321_987_654_321


class IdUrl:
    """``url_for(endpoint, **{key: id}, **values)`` for any integer ``id``.

    The URL is built once with a placeholder id, and each row's id is put in its place: the
    integer converter writes an id as its decimal digits, so the result is what
    ``url_for`` gives.
    """

    def __init__(self, endpoint: str, key: str, **values: Any) -> None:
        arguments: dict[str, Any] = {**values, key: _PLACEHOLDER}
        url = url_for(endpoint, **arguments)
        self._head, _placeholder, self._tail = url.partition(str(_PLACEHOLDER))

    def __call__(self, row_id: int) -> str:
        return f"{self._head}{int(row_id)}{self._tail}"


class IdConverter(IntegerConverter):
    """``<int:...>`` in every rule of the app: ASCII digits up to :data:`kiosk.db.ID_MAX`.

    A larger number, or digits of another script (``١``, which ``int()`` reads), matches no
    rule: a 404, as for an id that does not exist, instead of a database error.
    """

    regex = r"[0-9]{1,19}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


def init_converters(app: Flask) -> None:
    """Bound every integer URL part; called before any blueprint adds its rules."""
    app.url_map.converters["int"] = IdConverter


#: Where a row's id goes in HTML written once for every row (the templates' ``ROW_ID``).
ROW_ID = _PLACEHOLDER
_ROW_ID_TEXT = str(ROW_ID)


def for_row(html: Markup, row_id: int) -> Markup:
    """``{{ buttons|for_row(visit.id) }}``: the part of a long list's row that only its id
    changes (its buttons and links), written once per list with ``ROW_ID`` for the id
    (``{% set buttons %}...{{ check_out|with_id(ROW_ID) }}...{% endset %}``). A row of
    reception's list then writes one output where it wrote six: three URLs and their labels,
    each escaped again in every row."""
    # Safe: ``html`` is escaped already, and only an integer's digits go into it.
    return Markup(str.replace(html, _ROW_ID_TEXT, str(int(row_id))))  # noqa: S704


def with_id(url: IdUrl, row_id: int) -> str:
    """The template filter for a row's URL: ``{{ check_out|with_id(visit.id) }}``. A filter
    because Jinja calls a filter directly, and a function (``check_out(visit.id)``) through
    its context, which cost ~2 µs a call: a fifth of the on-site lists' rendering."""
    return url(row_id)


def init_app(app: Flask) -> None:
    """Let templates build row URLs: ``{% set check_out = id_url('x.check_out', 'visit_id') %}``
    once, then ``{{ check_out|with_id(visit.id) }}`` in each row; or a row's buttons written
    once with ``ROW_ID`` and ``{{ buttons|for_row(visit.id) }}`` in each row."""
    app.add_template_global(IdUrl, "id_url")
    app.add_template_filter(with_id)
    app.jinja_env.globals["ROW_ID"] = ROW_ID
    app.add_template_filter(for_row)


#: The REST API's URLs: its errors are JSON (RFC 9457 problem details), never a page, and it
#: reads JSON bodies itself (kiosk.forms.refuse_json_bodies leaves them to it).
API_PREFIX = "/api/"


def is_api_request() -> bool:
    """Whether the request is one for the REST API (by URL: also for a URL it does not know)."""
    return request.path.startswith(API_PREFIX)
