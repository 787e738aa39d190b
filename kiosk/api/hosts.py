"""API: hosts, enough for a directory sync (list, create, update, deactivate).

Updates are conditional: a client sends the ETag it read in If-Match, and a host changed in
between (on the dashboard, or by another client) answers 412 instead of being overwritten.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from kiosk.api import schemas
from kiosk.api.framework import (
    ApiProblem,
    check_if_match,
    current_token,
    decode_cursor,
    etag_of,
    not_found,
    operation,
    page_of,
    token_sites,
)
from kiosk.db import begin_write, get_session
from kiosk.models import Host
from kiosk.services.hosts import (
    HostDetails,
    HostError,
    create_host,
    lock_site_hosts,
    update_host,
)


def host_out(host: Host) -> schemas.Host:
    return schemas.Host(
        id=host.id,
        site_id=host.site_id,
        name=host.name,
        email=host.email,
        locale=host.locale,
        active=host.active,
    )


def host_etag(host: Host) -> str:
    return etag_of("host", host.id, host.site_id, host.name, host.email, host.locale, host.active)


def _host(host_id: int, *, to_change: bool = False) -> Host:
    """The token's host ``host_id``; ``to_change``: read under the write lock (SQLite) or the
    row's lock (PostgreSQL), so that its ETag is compared with what no other request can
    change before this one commits (two PATCHes with the same If-Match both answered 200,
    the second overwriting the first: an outside fuzz). The site's host lock is taken first,
    in the order every change of a host takes it (kiosk.services.hosts.lock_site_hosts)."""
    session = get_session()
    if to_change:
        begin_write(session)
        site_id = session.scalar(select(Host.site_id).where(Host.id == host_id))
        if site_id is not None:
            lock_site_hosts(session, site_id)
    host = session.get(Host, host_id, with_for_update=to_change, populate_existing=to_change)
    if host is None or host.site_id not in current_token().site_ids:
        raise not_found()
    return host


def _refused(error: HostError) -> ApiProblem:
    status, code = (409, "conflict") if error.code == "email_taken" else (422, "invalid_body")
    detail = (
        "Another host of the site has this email address."
        if status == 409
        else "The request body has invalid fields."
    )
    field = "locale" if error.field == "language" else error.field
    return ApiProblem(
        status,
        code,
        detail,
        errors=[{"in": "body", "field": field, "code": error.code, "message": detail}],
    )


@operation(
    "GET",
    "/hosts",
    operation_id="list_hosts",
    summary="List hosts",
    tag="Hosts",
    query=schemas.HostQuery,
    response=schemas.HostList,
    errors=(404,),
)
def list_hosts(query: schemas.HostQuery) -> schemas.HostList:
    """The hosts of the token's sites (or of one of them), by id."""
    site_ids = [site.id for site in token_sites(query.site_id)]
    statement = select(Host).where(
        Host.site_id.in_(site_ids), Host.id > decode_cursor(query.cursor)
    )
    if query.active is not None:
        statement = statement.where(Host.active.is_(query.active))
    rows = list(get_session().scalars(statement.order_by(Host.id).limit(query.limit + 1)))
    items, next_cursor = page_of(rows, query.limit)
    return schemas.HostList(items=[host_out(host) for host in items], next_cursor=next_cursor)


@operation(
    "GET",
    "/hosts/<int:host_id>",
    operation_id="get_host",
    summary="Get a host",
    tag="Hosts",
    response=schemas.Host,
    etag=True,
    errors=(404,),
)
def get_host(host_id: int) -> tuple[schemas.Host, dict[str, str]]:
    """One host, with its ETag for a later update."""
    host = _host(host_id)
    return host_out(host), {"ETag": host_etag(host)}


@operation(
    "POST",
    "/hosts",
    operation_id="create_host",
    summary="Create a host",
    tag="Hosts",
    body=schemas.HostCreate,
    response=schemas.Host,
    status=201,
    write=True,
    etag=True,
    errors=(404, 409, 415, 422),
)
def create(body: schemas.HostCreate) -> tuple[schemas.Host, dict[str, str]]:
    """Add a host to one of the token's sites; 409 when the site has a host with this email
    address (emails are compared ignoring case)."""
    site = token_sites(body.site_id)[0]
    db_session = get_session()
    details = HostDetails(name=body.name, email=body.email, locale=body.locale, active=body.active)
    try:
        host = create_host(db_session, site, details, languages=current_app.config["LANGUAGES"])
    except HostError as error:
        raise _refused(error) from None
    db_session.commit()
    return host_out(host), {"ETag": host_etag(host), "Location": f"/api/v1/hosts/{host.id}"}


@operation(
    "PATCH",
    "/hosts/<int:host_id>",
    operation_id="update_host",
    summary="Update a host",
    tag="Hosts",
    body=schemas.HostUpdate,
    response=schemas.Host,
    write=True,
    if_match="required",
    etag=True,
    errors=(404, 409, 412, 415, 422, 428),
)
def update(
    host_id: int, body: schemas.HostUpdate, if_match: str | None
) -> tuple[schemas.Host, dict[str, str]]:
    """Change the fields sent; needs If-Match with the host's ETag (412 when it changed,
    428 without it). ``active: false`` deactivates the host."""
    host = _host(host_id, to_change=True)
    check_if_match(if_match, host_etag(host))
    sent = body.model_fields_set
    for name in ("name", "email", "active"):
        if name in sent and getattr(body, name) is None:
            raise ApiProblem(
                422,
                "invalid_body",
                "The request body has invalid fields.",
                errors=[{"in": "body", "field": name, "code": "null", "message": "Not null."}],
            )
    details = HostDetails(
        name=body.name if "name" in sent and body.name else host.name,
        email=body.email if "email" in sent and body.email else host.email,
        locale=body.locale if "locale" in sent else host.locale,
        active=host.active if body.active is None else body.active,
    )
    db_session = get_session()
    try:
        update_host(db_session, host, details, languages=current_app.config["LANGUAGES"])
    except HostError as error:
        raise _refused(error) from None
    db_session.commit()
    return host_out(host), {"ETag": host_etag(host)}


@operation(
    "POST",
    "/hosts/<int:host_id>/deactivate",
    operation_id="deactivate_host",
    summary="Deactivate a host",
    tag="Hosts",
    response=schemas.Host,
    write=True,
    if_match="optional",
    etag=True,
    errors=(404, 412),
)
def deactivate(host_id: int, if_match: str | None) -> tuple[schemas.Host, dict[str, str]]:
    """The kiosk stops offering the host; their past visits keep naming them. Deactivating
    an inactive host changes nothing. If-Match is checked when sent."""
    host = _host(host_id, to_change=True)
    check_if_match(if_match, host_etag(host))
    if host.active:
        host.active = False
        get_session().commit()
    return host_out(host), {"ETag": host_etag(host)}
