"""The API's description: the OpenAPI document and a reference page drawn from it.

Both are public (they describe the API, they hold no data) and served by the app itself: the
page's viewer (swagger-ui) is vendored under static/vendor/ and started by a script file, so
it runs under the app's Content-Security-Policy with nothing fetched from elsewhere.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Response, current_app, render_template

from kiosk.api.blueprint import bp
from kiosk.api.openapi import openapi_document


@functools.cache
def _document() -> dict[str, Any]:
    # The operations are declared at import: the document never changes in a process.
    return openapi_document()


@bp.route("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI 3.1 document."""
    response = current_app.response_class(
        current_app.json.dumps(_document()), mimetype="application/json"
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/docs")
def reference() -> str:
    """The API reference, rendered in the browser from the OpenAPI document."""
    return render_template("api/reference.html")
