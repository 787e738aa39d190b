"""API: invitations, enough for a calendar integration (create, list, cancel)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select

from kiosk.api import schemas
from kiosk.api.framework import (
    ApiProblem,
    audit,
    current_token,
    decode_cursor,
    not_found,
    operation,
    page_of,
    token_sites,
)
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.models import Host, Invitation
from kiosk.notifications.events import invitation_event, queue_event_safely
from kiosk.notifications.messages import send_invitation_email
from kiosk.notifications.sender import wake_sender
from kiosk.sealing import fields_state, kept
from kiosk.services.invitations import (
    InvitationError,
    cancel_invitation,
    create_invitation,
    site_today,
)
from kiosk.services.visitor_types import type_of_site


def _status(invitation: Invitation) -> Literal["expected", "checked_in", "cancelled"]:
    if invitation.cancelled_at is not None:
        return "cancelled"
    return "checked_in" if invitation.visit_id is not None else "expected"


def invitation_out(invitation: Invitation, *, personal: bool) -> schemas.Invitation:
    visitor = None
    if personal:
        fields = (invitation.visitor_name, invitation.company, invitation.email)
        name, company, email = (kept(value) for value in fields)
        visitor = schemas.InvitedVisitor(
            name=name, company=company, email=email, state=fields_state(*fields)
        )
    return schemas.Invitation(
        id=invitation.id,
        site_id=invitation.site_id,
        host_id=invitation.host_id,
        expected_on=invitation.expected_on,
        locale=invitation.locale,
        created_at=invitation.created_at,
        cancelled_at=invitation.cancelled_at,
        visit_id=invitation.visit_id,
        visitor_type_id=invitation.visitor_type_id,
        status=_status(invitation),
        visitor=visitor,
    )


def _invitation(invitation_id: int) -> Invitation:
    invitation = get_session().get(Invitation, invitation_id)
    if invitation is None or invitation.site_id not in current_token().site_ids:
        raise not_found()
    return invitation


def _body_error(field: str, code: str, detail: str) -> ApiProblem:
    return ApiProblem(
        422,
        "invalid_body",
        detail,
        errors=[{"in": "body", "field": field, "code": code, "message": detail}],
    )


@operation(
    "GET",
    "/invitations",
    operation_id="list_invitations",
    summary="List invitations",
    tag="Invitations",
    query=schemas.InvitationQuery,
    response=schemas.InvitationList,
    errors=(404,),
)
def list_invitations(query: schemas.InvitationQuery) -> schemas.InvitationList:
    """Invitations of the token's sites (or one), by id; filtered by day and status."""
    sites = token_sites(query.site_id)
    statement = select(Invitation).where(
        Invitation.site_id.in_([site.id for site in sites]),
        Invitation.id > decode_cursor(query.cursor),
    )
    if query.expected_on is not None:
        statement = statement.where(Invitation.expected_on == query.expected_on)
    if query.status == "cancelled":
        statement = statement.where(Invitation.cancelled_at.is_not(None))
    elif query.status == "checked_in":
        statement = statement.where(Invitation.visit_id.is_not(None))
    elif query.status == "expected":
        statement = statement.where(
            Invitation.cancelled_at.is_(None), Invitation.visit_id.is_(None)
        )
    rows = list(get_session().scalars(statement.order_by(Invitation.id).limit(query.limit + 1)))
    items, next_cursor = page_of(rows, query.limit)
    personal = current_token().personal_data
    if personal:
        for site_id in sorted({item.site_id for item in items}):
            audit("api_view_invitations", "site", site_id)
        get_session().commit()
    return schemas.InvitationList(
        items=[invitation_out(item, personal=personal) for item in items],
        next_cursor=next_cursor,
    )


@operation(
    "POST",
    "/invitations",
    operation_id="create_invitation",
    summary="Invite a visitor",
    tag="Invitations",
    body=schemas.InvitationCreate,
    response=schemas.CreatedInvitation,
    status=201,
    write=True,
    errors=(404, 415, 422),
)
def create(body: schemas.InvitationCreate) -> tuple[schemas.CreatedInvitation, dict[str, str]]:
    """Register an expected visitor, as reception does on the dashboard: the visitor gets
    the invitation by email (with its QR code) when an address is given and email is set
    up; the kiosk then only asks them to confirm."""
    site = token_sites(body.site_id)[0]
    db_session = get_session()
    host = None
    if body.host_id is not None:
        host = db_session.get(Host, body.host_id)
        if host is None or host.site_id != site.id or not host.active:
            raise _body_error("host_id", "unknown_host", "No active host of the site has this id.")
    visitor_type = None
    if body.visitor_type_id is not None:
        visitor_type = type_of_site(site, body.visitor_type_id)
        if visitor_type is None:
            raise _body_error(
                "visitor_type_id",
                "unknown_visitor_type",
                "No visitor type the site offers has this id.",
            )
    if body.expected_on < site_today(site, now()):
        raise _body_error("expected_on", "date_passed", "The day has passed at the site.")
    invitation = create_invitation(
        db_session,
        site,
        visitor_name=body.visitor_name,
        company=body.company,
        email=body.email,
        host=host,
        visitor_type=visitor_type,
        expected_on=body.expected_on,
        locale=body.locale or site.default_locale,
        now=now(),
    )
    db_session.flush()
    audit("create_invitation", "invitation", invitation.id)
    emailed = send_invitation_email(db_session, invitation, now=now()) is not None
    told = queue_event_safely(db_session, invitation_event(invitation, now=now()), now=now())
    db_session.commit()
    if emailed or told:
        wake_sender()
    shown = invitation_out(invitation, personal=current_token().personal_data)
    created = schemas.CreatedInvitation(**dict(shown), code=invitation.code)
    return created, {"Location": f"/api/v1/invitations/{invitation.id}"}


@operation(
    "GET",
    "/invitations/<int:invitation_id>",
    operation_id="get_invitation",
    summary="Get an invitation",
    tag="Invitations",
    response=schemas.Invitation,
    errors=(404,),
)
def get_invitation(invitation_id: int) -> schemas.Invitation:
    """One invitation of the token's sites."""
    invitation = _invitation(invitation_id)
    personal = current_token().personal_data
    if personal:
        audit("api_view_invitation", "invitation", invitation.id)
        get_session().commit()
    return invitation_out(invitation, personal=personal)


@operation(
    "POST",
    "/invitations/<int:invitation_id>/cancel",
    operation_id="cancel_invitation",
    summary="Cancel an invitation",
    tag="Invitations",
    response=schemas.Invitation,
    write=True,
    errors=(404, 409),
)
def cancel(invitation_id: int) -> schemas.Invitation:
    """The visit will not happen; 409 when it was cancelled already or the visitor came."""
    invitation = _invitation(invitation_id)
    try:
        cancel_invitation(invitation, now=now())
    except InvitationError as error:
        detail = (
            "The invitation was cancelled already."
            if error.code == "cancelled"
            else "The visitor has checked in with this invitation."
        )
        raise ApiProblem(409, f"invitation_{error.code}", detail) from None
    audit("cancel_invitation", "invitation", invitation.id)
    get_session().commit()
    personal = current_token().personal_data
    return invitation_out(invitation, personal=personal)
