"""How an API operation is declared, authenticated, limited, parsed, audited and answered.

Each view is declared once with :func:`operation`: its method and path, what it reads
(query and body models) and returns (a response model), and whether it writes. The same
declaration routes the request, checks the token's scopes, parses and validates the input
into typed models, and is what the OpenAPI document is built from (kiosk.api.openapi), so
the document cannot drift from the code.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, g, request
from pydantic import BaseModel, ValidationError

from kiosk.api.blueprint import bp
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.errors import problem
from kiosk.extensions import limiter
from kiosk.models import ApiToken, Site
from kiosk.services.api_tokens import api_actor, find_api_token, note_use
from kiosk.services.audit import record_event


class ApiProblem(Exception):
    """Answer the request with this problem (status, a code for programs, a detail for people)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers

    def response(self) -> Response:
        return problem(
            self.status, self.detail, code=self.code, errors=self.errors, headers=self.headers
        )


def not_found() -> ApiProblem:
    """What any id outside the token's sites gets: as if it did not exist."""
    return ApiProblem(404, "not_found", "There is no such resource, or the token cannot see it.")


@dataclass(frozen=True)
class Operation:
    """One declared API operation (the OpenAPI document's source)."""

    operation_id: str
    method: str
    #: The Flask rule under the blueprint, e.g. ``/hosts/<int:host_id>``.
    rule: str
    summary: str
    description: str
    tag: str
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    write: bool
    #: "required": the update needs If-Match; "optional": checked when sent; None: not used.
    if_match: str | None
    #: The response carries an ETag.
    etag: bool
    #: Error statuses beyond those every authenticated operation can give.
    errors: tuple[int, ...] = field(default=())
    public: bool = False


OPERATIONS: list[Operation] = []
#: Per Flask rule, the handler of each method: one URL rule per path, whatever its methods.
#: (With a rule per method, werkzeug answers 405 rather than 404 for an id beyond the
#: converter's range on a path whose other rule's method matched first.)
_HANDLERS: dict[str, dict[str, Callable[..., Response]]] = {}

#: The statuses any authenticated operation can answer with.
COMMON_ERRORS = (400, 401, 403, 429, 500)


def _token_key() -> str:
    """The rate limit's key: the presented token (hashed: the key may sit in Redis), so each
    client has its own budget and a client with a bad token cannot spend another's."""
    header = request.headers.get("Authorization", "")
    return "api:" + hashlib.sha256(header.encode("utf-8", "surrogatepass")).hexdigest()[:32]


_api_limit = limiter.shared_limit(
    lambda: current_app.config["API_LIMIT_PER_TOKEN"], scope="api", key_func=_token_key
)

_BEARER = re.compile(r"Bearer ([A-Za-z0-9_\-]{1,128})", re.ASCII)


def current_token() -> ApiToken:
    """The token of this API request (set by the operation's wrapper)."""
    token: ApiToken = g.api_token
    return token


def _authenticate() -> ApiToken:
    header = request.headers.get("Authorization")
    challenge = {"WWW-Authenticate": 'Bearer realm="kiosk"'}
    if header is None:
        raise ApiProblem(
            401, "token_missing", "Send a token: Authorization: Bearer <token>.", headers=challenge
        )
    match = _BEARER.fullmatch(header)
    token = find_api_token(get_session(), match[1]) if match else None
    if token is None:
        raise ApiProblem(
            401,
            "token_invalid",
            "The token is not valid, or it was revoked.",
            headers={"WWW-Authenticate": 'Bearer realm="kiosk", error="invalid_token"'},
        )
    return token


def audit(action: str, target_type: str, target_id: int | str | None) -> None:
    """Record what the request's token did (ids only); the caller commits."""
    record_event(
        get_session(),
        actor=api_actor(current_token()),
        action=action,
        target_type=target_type,
        target_id=target_id,
        now=now(),
    )


def _audit_use(token: ApiToken, operation: Operation, path_values: dict[str, Any]) -> None:
    """One audit entry per use, committed before the operation runs: a use is on record
    even when the operation then fails."""
    db_session = get_session()
    target_type, target_id = "api_token", token.id
    for name, value in path_values.items():
        target_type, target_id = name.removesuffix("_id"), value
    record_event(
        db_session,
        actor=api_actor(token),
        action=f"api_{operation.operation_id}",
        target_type=target_type,
        target_id=target_id,
        now=now(),
    )
    note_use(token, now=now())
    db_session.commit()


def _field_errors(error: ValidationError, *, where: str) -> list[dict[str, Any]]:
    """Pydantic's errors in our shape: where, which field, a code and a message; never the
    value that was sent (it can be personal data)."""
    found = []
    for item in error.errors(include_input=False, include_url=False, include_context=False):
        name = ".".join(str(part) for part in item["loc"])[:100]
        found.append({"in": where, "field": name, "code": item["type"], "message": item["msg"]})
    return found


def _parse_query(model: type[BaseModel] | None) -> BaseModel | None:
    if model is None:
        if request.args:
            raise ApiProblem(
                400,
                "unknown_parameter",
                "This operation takes no query parameters.",
                errors=[
                    {"in": "query", "field": name[:100], "code": "extra_forbidden", "message": ""}
                    for name in request.args
                ],
            )
        return None
    values: dict[str, Any] = {}
    for name in request.args:
        items = request.args.getlist(name)
        if len(items) > 1:
            raise ApiProblem(
                400,
                "repeated_parameter",
                "A query parameter was given more than once.",
                errors=[{"in": "query", "field": name[:100], "code": "repeated", "message": ""}],
            )
        values[name] = items[0]
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise ApiProblem(
            400,
            "invalid_parameter",
            "A query parameter is not valid.",
            errors=_field_errors(error, where="query"),
        ) from None


def _parse_body(model: type[BaseModel] | None) -> BaseModel | None:
    if model is None:
        # Refused by what the headers announce, unread: a client that announces a body and
        # never sends it held a worker until it gave up (20 s, found by an outside fuzz).
        chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        if request.content_length or chunked:
            raise ApiProblem(400, "body_not_expected", "This operation takes no request body.")
        return None
    if request.mimetype != "application/json":
        raise ApiProblem(
            415, "unsupported_media_type", "Send the request body as application/json."
        )
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in {"utf-8", "utf8"}:
        raise ApiProblem(415, "unsupported_charset", "Send the request body as UTF-8.")
    raw = request.get_data(cache=True)
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        errors = _field_errors(error, where="body")
        if any(item["code"] == "json_invalid" for item in errors):
            raise ApiProblem(400, "body_not_json", "The request body is not valid JSON.") from None
        raise ApiProblem(
            422, "invalid_body", "The request body has invalid fields.", errors=errors
        ) from None


def _etag_precondition(operation: Operation) -> str | None:
    header = request.headers.get("If-Match")
    if header is None and operation.if_match == "required":
        raise ApiProblem(
            428,
            "precondition_required",
            "Send If-Match with the ETag of the resource as you last read it.",
        )
    return header


def operation(
    method: str,
    rule: str,
    *,
    operation_id: str,
    summary: str,
    tag: str,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    write: bool = False,
    if_match: str | None = None,
    etag: bool = False,
    errors: tuple[int, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Declare and route an API operation.

    The view is called with the path's values and, when declared, ``query=`` and ``body=``
    (validated models) and ``if_match=`` (the header, or None); it returns a response model
    instance, or a (model, headers) pair, or None for 204.
    """

    def declare(view: Callable[..., Any]) -> Callable[..., Response]:
        declared = Operation(
            operation_id=operation_id,
            method=method,
            rule=rule,
            summary=summary,
            description=(view.__doc__ or "").strip(),
            tag=tag,
            query=query,
            body=body,
            response=response,
            status=status,
            write=write,
            if_match=if_match,
            etag=etag,
            errors=errors,
        )
        OPERATIONS.append(declared)

        @functools.wraps(view)
        def handle(**path_values: Any) -> Response:
            try:
                token = _authenticate()
                g.api_token = token
                _audit_use(token, declared, path_values)
                if declared.write and not token.can_write:
                    raise ApiProblem(
                        403, "read_only_token", "This token may read but not change anything."
                    )
                arguments: dict[str, Any] = dict(path_values)
                parsed_query = _parse_query(declared.query)
                if declared.query is not None:
                    arguments["query"] = parsed_query
                parsed_body = _parse_body(declared.body)
                if declared.body is not None:
                    arguments["body"] = parsed_body
                if declared.if_match is not None:
                    arguments["if_match"] = _etag_precondition(declared)
                result = view(**arguments)
            except ApiProblem as raised:
                get_session().rollback()
                return raised.response()
            return _respond(result, declared.status)

        _HANDLERS.setdefault(rule, {})[method] = handle
        return handle

    return declare


def endpoint_name(rule: str) -> str:
    """The endpoint of a path: ``/hosts`` is ``hosts``, ``/hosts/<int:host_id>/deactivate``
    is ``host_deactivate``, ``/visits/on-site`` is ``visits_on_site``."""
    name = re.sub(r"(\w+?)s/<int:\w+>", r"\1", rule.strip("/"))
    return re.sub(r"[/-]", "_", name)


def route_operations() -> None:
    """Add each declared path to the blueprint once, with all its methods (call after every
    operation module is imported)."""
    for rule, handlers in _HANDLERS.items():

        def dispatch(
            _handlers: dict[str, Callable[..., Response]] = handlers, **path: Any
        ) -> Response:
            # Flask routes HEAD wherever GET is declared; it is GET without the body (which
            # werkzeug leaves out of the answer). Looked up as such it was a KeyError, a 500.
            method = "GET" if request.method == "HEAD" else request.method
            return _handlers[method](**path)

        bp.add_url_rule(
            rule,
            endpoint=endpoint_name(rule),
            view_func=_api_limit(dispatch),
            methods=sorted(handlers),
        )


def _respond(result: Any, status: int) -> Response:
    headers: dict[str, str] = {}
    if isinstance(result, tuple):
        result, headers = result
    if result is None:
        response = Response(status=204)
    else:
        response = current_app.response_class(
            result.model_dump_json(), status=status, mimetype="application/json"
        )
    for name, value in headers.items():
        response.headers[name] = value
    return response


# Pagination: an opaque cursor holds the last id a page showed; the next page starts after it.

LIMIT_DEFAULT = 50
LIMIT_MAX = 200
_CURSOR = re.compile(r"after:([0-9]{1,10})", re.ASCII)


def encode_cursor(last_id: int) -> str:
    """The cursor of the page after the row with this id."""
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id a page starts after (0: the first page); a cursor we did not make is a 400."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        text = ""
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise ApiProblem(
            400,
            "invalid_cursor",
            "The cursor is not one this API gave; start again without it.",
            errors=[{"in": "query", "field": "cursor", "code": "invalid_cursor", "message": ""}],
        )
    return int(match[1])


def page_of(rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """The first ``limit`` rows (of up to ``limit + 1`` read) and the next page's cursor."""
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].id)
    return rows, None


# Sites: a token sees its own sites and nothing else.


def token_sites(site_id: int | None = None) -> list[Site]:
    """The token's sites, or the one asked for (404 when the token cannot see it)."""
    sites = list(current_token().sites)
    if site_id is None:
        return sites
    found = [site for site in sites if site.id == site_id]
    if not found:
        raise not_found()
    return found


def etag_of(*parts: object) -> str:
    """A strong ETag for a resource's current state."""
    digest = hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f'"{digest}"'


def check_if_match(if_match: str | None, current: str) -> None:
    """412 when the client's If-Match names another state than the current one."""
    if if_match is None:
        return
    candidates = {part.strip() for part in if_match.split(",")}
    if "*" in candidates or current in candidates:
        return
    raise ApiProblem(
        412,
        "precondition_failed",
        "The resource changed since you read it: read it again and repeat the change.",
        headers={"ETag": current},
    )
