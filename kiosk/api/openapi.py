"""The OpenAPI 3.1 document, built from the declared operations and their Pydantic models.

Nothing here is written by hand per operation: paths, parameters, bodies, responses and
scopes come from :data:`kiosk.api.framework.OPERATIONS`, schemas from the models (Pydantic's
JSON Schema is draft 2020-12, the dialect OpenAPI 3.1 uses), so a changed view changes
the document with it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from kiosk.api import schemas
from kiosk.api.framework import COMMON_ERRORS, LIMIT_MAX, OPERATIONS, Operation
from kiosk.db import ID_MAX

API_VERSION = "1.0.0"
PREFIX = "/api/v1"
_PATH_PARAMETER = re.compile(r"<int:(\w+)>")
_REF = "#/components/schemas/{model}"

_DESCRIPTION = f"""\
The kiosk's REST API for a company's other systems: who is on site, the day's visits, the
host directory, invitations from a calendar, and the retention purge's evidence.

**Authentication.** Every operation needs a token that an administrator makes on the dashboard
(Admin, API tokens), sent as `Authorization: Bearer <token>`. A token sees only the sites it
was made for; other sites' rows answer 404. A *read* token cannot change anything (403); a
*write* token can. Visitors' personal fields (`visitor`) are null unless the token has the
*personal data* scope. Every use of a token is recorded in the audit log.

**Errors** are RFC 9457 problem details (`application/problem+json`) with a `code` for
programs. **Lists** are paged: `limit` (1 to {LIMIT_MAX}) and the `cursor` of the previous
page's `next_cursor`. **Updates** take the ETag the client read in `If-Match` (412 when the
resource changed since, 428 without it). **Rate limits** apply per token (429 with
Retry-After).
"""

_STATUS_TEXT = {
    400: "The request is malformed: a bad query parameter, cursor or JSON body.",
    401: "No token, or a token that is unknown or revoked.",
    403: "The token's scopes do not allow this.",
    404: "No such resource among the token's sites.",
    409: "The change conflicts with the resource's state.",
    412: "If-Match does not name the resource's current ETag.",
    413: "The request body is too large.",
    415: "The body is not application/json in UTF-8.",
    422: "The JSON body has invalid fields.",
    428: "If-Match is required.",
    429: "Too many requests for this token; see Retry-After.",
    500: "An unexpected error (logged without the request's data).",
    503: "The database is briefly unavailable; see Retry-After.",
}


def _models() -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(schemas.Problem, "serialization")]
    for operation in OPERATIONS:
        if operation.body is not None:
            wanted.append((operation.body, "validation"))
        if operation.response is not None:
            wanted.append((operation.response, "serialization"))
    return list(dict.fromkeys(wanted))


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without JSON's null (a query string has no null)."""
    if "default" in schema and schema["default"] is None:
        schema = {key: value for key, value in schema.items() if key != "default"}
    options = schema.get("anyOf")
    if options:
        kept = [option for option in options if option.get("type") != "null"]
        if len(kept) == 1:
            rest = {key: value for key, value in schema.items() if key != "anyOf"}
            return {**kept[0], **rest}
    return schema


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", ()))
    parameters = []
    for name, field_schema in schema.get("properties", {}).items():
        field_schema = _not_null(dict(field_schema))
        description = field_schema.pop("description", None)
        field_schema.pop("title", None)
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": field_schema,
        }
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _problem(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _STATUS_TEXT[status],
        "content": {"application/problem+json": {"schema": {"$ref": _REF.format(model="Problem")}}},
    }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer."}
        }
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        }
    return response


def _operation(operation: Operation, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
        }
        for name in _PATH_PARAMETER.findall(operation.rule)
    ]
    if operation.query is not None:
        parameters += _query_parameters(operation.query)
    if operation.if_match is not None:
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": operation.if_match == "required",
                "schema": {"type": "string", "maxLength": 200},
                "description": "The ETag of the resource as the client last read it.",
            }
        )
    success: dict[str, Any] = {"description": "Done."}
    if operation.response is not None:
        success["content"] = {
            "application/json": {"schema": refs[(operation.response, "serialization")]}
        }
    if operation.etag:
        success["headers"] = {
            "ETag": {"schema": {"type": "string"}, "description": "For If-Match on updates."}
        }
    statuses = set(COMMON_ERRORS) | set(operation.errors) | {503}
    if operation.body is not None:
        statuses |= {413, 415, 422}
    declared: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "description": operation.description
        + ("\n\nNeeds a token with the write scope." if operation.write else ""),
        "tags": [operation.tag],
        "security": [{"token": []}],
        "parameters": parameters,
        "responses": {
            str(operation.status): success,
            **{str(status): _problem(status) for status in sorted(statuses)},
        },
    }
    if operation.body is not None:
        declared["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(operation.body, "validation")]}},
        }
    return declared


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: ``/hosts/<int:host_id>`` is ``/hosts/{host_id}``."""
    return _PATH_PARAMETER.sub(r"{\1}", rule)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API as the code declares it."""
    refs, definitions = models_json_schema(_models(), ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        path = PREFIX + openapi_path(operation.rule)
        paths.setdefault(path, {})[operation.method.lower()] = _operation(operation, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kiosk API",
            "version": API_VERSION,
            "description": _DESCRIPTION,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [
            {"name": "Sites"},
            {"name": "Hosts"},
            {"name": "Visits"},
            {"name": "Invitations"},
            {"name": "Privacy"},
        ],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from the dashboard (Admin, API tokens).",
                }
            },
        },
    }
