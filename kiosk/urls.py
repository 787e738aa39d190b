"""URLs for the rows of long lists: built with ``url_for`` once per list, not once per row.

With hundreds of visitors on site, three ``url_for`` calls a row were a fifth of the
dashboard page's time (bench/dashboard.py).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, url_for

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


def init_app(app: Flask) -> None:
    """Let templates build row URLs: ``{% set check_out = id_url('x.check_out', 'visit_id') %}``."""
    app.add_template_global(IdUrl, "id_url")
