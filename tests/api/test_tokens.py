"""API tokens: made on the dashboard and shown once, stored hashed, scoped to sites, read or
write and personal data, revocable, last use shown, every use audited without personal data."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock
from kiosk.models import ApiToken, AuditEvent, Site, StaffUser
from tests.api.conftest import assert_problem

SECRET = re.compile(r'value="(kiosk_[A-Za-z0-9_\-]{43})"')


def _make_on_dashboard(admin: FlaskClient, site: Site, **fields: Any) -> str:
    data = {"name": "Facility system", "sites": [site.id], "access": "read", **fields}
    response = admin.post("/dashboard/admin/api-tokens", data=data)
    assert response.status_code == 200, response.text
    match = SECRET.search(response.text)
    assert match, response.text
    return match[1]


def test_token_lifecycle_on_the_dashboard(
    make_site: Callable[..., Site],
    make_staff: Callable[..., StaffUser],
    login: Callable[[StaffUser], FlaskClient],
    api: Callable[..., Any],
    session: Session,
    clock: FrozenClock,
) -> None:
    site = make_site()
    admin_user = make_staff(role="admin")
    admin = login(admin_user)
    secret = _make_on_dashboard(admin, site)

    # Stored as its SHA-256 only; the page never shows it again.
    stored = session.scalars(select(ApiToken)).one()
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    row = session.execute(text("SELECT * FROM api_tokens")).mappings().one()
    assert secret not in " ".join(str(value) for value in row.values())
    listing = admin.get("/dashboard/admin/api-tokens").text
    assert secret not in listing
    assert stored.prefix in listing
    assert "Never" in listing

    # Used: the list shows when.
    clock.advance(timedelta(minutes=5))
    assert api(secret).get("/sites").status_code == 200
    session.expire_all()
    assert session.get(ApiToken, stored.id).last_used_at == clock.now()
    assert "Never" not in admin.get("/dashboard/admin/api-tokens").text

    # The token's own entries in the audit log are one link away.
    link = re.search(r'href="(/dashboard/audit\?actor=api[^"]+)"', listing)
    assert link, listing
    audit_page = admin.get(link[1].replace("&amp;", "&"))
    assert f"api:{stored.id}" in audit_page.text
    assert "api_list_sites" in audit_page.text

    # Revoked: refused at once.
    response = admin.post(f"/dashboard/admin/api-tokens/{stored.id}/revoke")
    assert response.status_code == 302
    assert_problem(api(secret).get("/sites"), 401, "token_invalid")

    actions = [
        (event.actor, event.action, event.target_type, event.target_id)
        for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    ]
    staff = f"staff:{admin_user.id}"
    assert (staff, "create_api_token", "api_token", str(stored.id)) in actions
    assert (staff, "revoke_api_token", "api_token", str(stored.id)) in actions
    assert (f"api:{stored.id}", "api_list_sites", "api_token", str(stored.id)) in actions


def test_only_admins_manage_tokens(
    make_site: Callable[..., Site],
    make_staff: Callable[..., StaffUser],
    login: Callable[[StaffUser], FlaskClient],
    make_token: Callable[..., str],
    session: Session,
) -> None:
    site = make_site()
    make_token(site)
    token_id = session.scalars(select(ApiToken.id)).one()
    for role in ("reception", "privacy"):
        user = login(make_staff(role=role, sites=(site,)))
        assert user.get("/dashboard/admin/api-tokens").status_code == 403
        assert user.post("/dashboard/admin/api-tokens", data={"name": "x"}).status_code == 403
        assert user.post(f"/dashboard/admin/api-tokens/{token_id}/revoke").status_code == 403
    assert session.scalars(select(ApiToken.revoked_at)).one() is None


def test_dashboard_form_refuses_bad_input(
    make_site: Callable[..., Site], staff_client: FlaskClient, session: Session
) -> None:
    site = make_site()
    for data in (
        {"name": "   ", "sites": [site.id], "access": "read"},
        {"name": "Client", "access": "read"},
        {"name": "Client", "sites": [site.id], "access": "admin"},
        {"name": "Client\u2028x", "sites": [site.id], "access": "read"},
        {"name": "x" * 101, "sites": [site.id], "access": "read"},
        {"name": "Client", "sites": ["99999999999999999999"], "access": "read"},
    ):
        response = staff_client.post("/dashboard/admin/api-tokens", data=data)
        assert response.status_code == 200, data
        assert not SECRET.search(response.text), data
    assert session.scalars(select(ApiToken)).all() == []


def test_missing_or_wrong_tokens(
    make_site: Callable[..., Site], make_token: Callable[..., str], api: Callable[..., Any]
) -> None:
    site = make_site()
    secret = make_token(site)
    missing = assert_problem(api(None).get("/sites"), 401, "token_missing")
    assert "Bearer" in missing["detail"]
    for header in (
        f"Bearer {secret}x",
        f"Bearer {secret[:-1]}",
        f"Basic {secret}",
        f"bearer{secret}",
        "Bearer ",
        "Bearer " + "a" * 5000,
        f"Bearer {secret}\u2028",
    ):
        response = api(None).get("/sites", headers={"Authorization": header})
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # The session cookie of a logged-in admin is no API credential.
    assert api(secret).get("/sites").status_code == 200


def test_a_token_sees_its_sites_only(
    make_site: Callable[..., Site],
    make_host: Callable[..., Any],
    make_visit: Callable[..., Any],
    make_invitation: Callable[..., Any],
    make_token: Callable[..., str],
    api: Callable[..., Any],
) -> None:
    mine, other = make_site(), make_site()
    my_host, other_host = make_host(mine), make_host(other, email="o@example.com")
    make_visit(mine, host_id=my_host.id)
    other_visit = make_visit(other, host_id=other_host.id)
    other_invitation = make_invitation(other)
    client = api(make_token(mine, write=True, personal=True))

    assert [site["id"] for site in client.get("/sites").get_json()["items"]] == [mine.id]
    for path in (
        f"/sites/{other.id}",
        f"/hosts/{other_host.id}",
        f"/visits/{other_visit.id}",
        f"/invitations/{other_invitation.id}",
        f"/hosts?site_id={other.id}",
        f"/visits?site_id={other.id}",
        f"/visits/on-site?site_id={other.id}",
        f"/invitations?site_id={other.id}",
    ):
        assert_problem(client.get(path), 404, "not_found")
    for path in (
        f"/visits/{other_visit.id}/check-out",
        f"/invitations/{other_invitation.id}/cancel",
        f"/hosts/{other_host.id}/deactivate",
    ):
        assert_problem(client.post(path), 404)
    assert_problem(
        client.patch(f"/hosts/{other_host.id}", json={"name": "X"}, headers={"If-Match": "*"}), 404
    )
    assert_problem(
        client.post(
            "/hosts", json={"site_id": other.id, "name": "New Host", "email": "n@example.com"}
        ),
        404,
    )
    for path in ("/hosts", "/visits", "/visits/on-site", "/invitations"):
        items = client.get(path).get_json()["items"]
        assert {item["site_id"] for item in items} <= {mine.id}, path
    assert other_visit.checked_out_at is None


def test_a_read_token_changes_nothing(
    make_site: Callable[..., Site],
    make_host: Callable[..., Any],
    make_visit: Callable[..., Any],
    make_invitation: Callable[..., Any],
    make_token: Callable[..., str],
    api: Callable[..., Any],
    session: Session,
) -> None:
    site = make_site()
    host = make_host(site)
    visit = make_visit(site)
    invitation = make_invitation(site)
    client = api(make_token(site, personal=True))
    attempts = [
        client.post("/hosts", json={"site_id": site.id, "name": "A B", "email": "a@example.com"}),
        client.patch(f"/hosts/{host.id}", json={"name": "Other"}, headers={"If-Match": "*"}),
        client.post(f"/hosts/{host.id}/deactivate"),
        client.post(f"/visits/{visit.id}/check-out"),
        client.post(
            "/invitations",
            json={"site_id": site.id, "visitor_name": "A", "expected_on": "2026-03-05"},
        ),
        client.post(f"/invitations/{invitation.id}/cancel"),
    ]
    for response in attempts:
        assert_problem(response, 403, "read_only_token")
    session.expire_all()
    assert session.get(type(host), host.id).name == "Hanna Host"
    assert session.get(type(host), host.id).active is True
    assert session.get(type(visit), visit.id).checked_out_at is None
    assert session.get(type(invitation), invitation.id).cancelled_at is None


def test_personal_fields_only_with_their_scope_and_audited(
    make_site: Callable[..., Site],
    make_visit: Callable[..., Any],
    make_invitation: Callable[..., Any],
    make_token: Callable[..., str],
    api: Callable[..., Any],
    session: Session,
) -> None:
    site = make_site()
    visit = make_visit(site, "Vera Visitor", company="Acme", email="vera@example.com")
    make_invitation(site, "Ivy Invited", email="ivy@example.com")
    without = api(make_token(site))
    with_personal = api(make_token(site, personal=True, name="Security desk"))

    for path in ("/visits", "/visits/on-site", f"/visits/{visit.id}", "/invitations"):
        plain = without.get(path)
        assert plain.status_code == 200
        for word in ("Vera", "Ivy", "example.com", "Acme"):
            assert word not in plain.text, (path, word)
    assert without.get(f"/visits/{visit.id}").get_json()["visitor"] is None

    shown = with_personal.get(f"/visits/{visit.id}").get_json()
    assert shown["visitor"] == {
        "name": "Vera Visitor",
        "company": "Acme",
        "email": "vera@example.com",
        "phone": None,
        "purpose": None,
        "state": "kept",
    }
    assert with_personal.get("/visits").get_json()["items"][0]["visitor"]["name"] == "Vera Visitor"
    assert (
        with_personal.get("/invitations").get_json()["items"][0]["visitor"]["name"] == "Ivy Invited"
    )

    personal_id = session.scalars(select(ApiToken.id).where(ApiToken.personal_data.is_(True))).one()
    events = session.scalars(select(AuditEvent)).all()
    views = {(e.action, e.target_type) for e in events if e.actor == f"api:{personal_id}"}
    assert {("api_view_visitor", "visit"), ("api_view_visitors", "site")} <= views
    assert ("api_view_invitations", "site") in views
    # Nothing personal in any audit entry.
    for event in events:
        row = f"{event.actor} {event.action} {event.target_type} {event.target_id}"
        for word in ("Vera", "Ivy", "Acme", "example.com"):
            assert word not in row


def test_every_use_is_audited_with_ids_only(
    make_site: Callable[..., Site],
    make_host: Callable[..., Any],
    make_token: Callable[..., str],
    api: Callable[..., Any],
    session: Session,
) -> None:
    site = make_site()
    host = make_host(site)
    client = api(make_token(site))
    token_id = session.scalars(select(ApiToken.id)).one()
    client.get("/hosts")
    client.get(f"/hosts/{host.id}")
    client.get("/hosts/999999")  # a failed use is a use too
    client.post("/hosts", json={"site_id": site.id, "name": "x", "email": "x@example.com"})
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.actor == f"api:{token_id}").order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.target_type, e.target_id) for e in events] == [
        ("api_list_hosts", "api_token", str(token_id)),
        ("api_get_host", "host", str(host.id)),
        ("api_get_host", "host", "999999"),
        ("api_create_host", "api_token", str(token_id)),
    ]
    # A request without a valid token names no token: nothing to attribute, nothing written.
    api("kiosk_" + "x" * 43).get("/hosts")
    assert session.scalars(select(AuditEvent).where(AuditEvent.actor.like("api:%"))).all() == list(
        events
    )
