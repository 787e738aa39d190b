"""Admin pages: who may use each one, and CSRF on every POST.

Every admin route is in ADMIN_MATRIX, with the status each role gets, in the order anonymous,
paired kiosk, reception of another site, reception of the object's site, admin (the shape of
tests/security/test_permissions.py's matrix on the dashboard branch, so the two can be joined).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock
from kiosk.models import NoticeVersion
from kiosk.services.api_tokens import create_api_token
from kiosk.services.notice_drafts import start_draft
from kiosk.services.visitor_types import add_default_types
from kiosk.services.webhooks import SubscriptionSettings, create_subscription
from tests.conftest import STAFF_PASSWORD
from tests.documents_support import add_document
from tests.support import assert_security_headers

ROLES = ("anonymous", "kiosk", "reception_elsewhere", "reception", "admin")
LOGIN = 302  # sent to the login page
OK, REDIRECT, FORBIDDEN, MISSING = 200, 302, 403, 404
#: Admin only: reception users get 403 whatever the site.
ADMIN = (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, OK)
ADMIN_REDIRECT = (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT)
#: Staff of the object's site: others get 404, as if it did not exist.
SITE = (LOGIN, LOGIN, MISSING, OK, OK)
SITE_REDIRECT = (LOGIN, LOGIN, MISSING, REDIRECT, REDIRECT)


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    #: Status per role, in ROLES order.
    expect: tuple[int, int, int, int, int]


# "{site}", "{host}", "{notice}" (a draft), "{user}" (a reception user) and "{webhook}" belong
# to "the site". In dict order the admin's POSTs never remove what a later case needs.
ADMIN_MATRIX: dict[str, list[Case]] = {
    "dashboard.admin_index": [Case("GET", "/dashboard/admin/", ADMIN)],
    "dashboard.admin_sites": [Case("GET", "/dashboard/admin/sites", ADMIN)],
    "dashboard.admin_site_new": [
        Case("GET", "/dashboard/admin/sites/new", ADMIN),
        Case("POST", "/dashboard/admin/sites/new", ADMIN),
    ],
    "dashboard.admin_site_edit": [
        Case("GET", "/dashboard/admin/sites/{site}", ADMIN),
        Case("POST", "/dashboard/admin/sites/{site}", ADMIN),
    ],
    "dashboard.admin_site_badges": [
        Case("GET", "/dashboard/admin/sites/{site}/badges", ADMIN),
        # An empty POST keeps the shown settings: saved, then redirected.
        Case("POST", "/dashboard/admin/sites/{site}/badges", ADMIN_REDIRECT),
    ],
    "dashboard.admin_site_badge_sample": [
        Case("GET", "/dashboard/admin/sites/{site}/badges/sample.pdf", ADMIN)
    ],
    "dashboard.admin_notices": [Case("GET", "/dashboard/admin/sites/{site}/notices", ADMIN)],
    "dashboard.admin_notice_draft": [
        Case("POST", "/dashboard/admin/sites/{site}/notices/en/draft", ADMIN_REDIRECT),
    ],
    "dashboard.admin_notice_edit": [
        Case("GET", "/dashboard/admin/notices/{notice}", ADMIN),
        Case("POST", "/dashboard/admin/notices/{notice}", ADMIN_REDIRECT),
    ],
    "dashboard.admin_notice_preview": [
        Case("GET", "/dashboard/admin/notices/{notice}/preview", ADMIN),
    ],
    # Refused (the draft is empty): the editor is shown with what is missing.
    "dashboard.admin_notice_publish": [
        Case("POST", "/dashboard/admin/notices/{notice}/publish", ADMIN),
    ],
    "dashboard.admin_notice_discard": [
        Case("POST", "/dashboard/admin/notices/{notice}/discard", ADMIN_REDIRECT),
    ],
    "dashboard.admin_staff": [Case("GET", "/dashboard/admin/staff", ADMIN)],
    "dashboard.admin_staff_new": [
        Case("GET", "/dashboard/admin/staff/new", ADMIN),
        Case("POST", "/dashboard/admin/staff/new", ADMIN),
    ],
    "dashboard.admin_staff_edit": [
        Case("GET", "/dashboard/admin/staff/{user}", ADMIN),
        Case("POST", "/dashboard/admin/staff/{user}", ADMIN_REDIRECT),
    ],
    "dashboard.admin_staff_deactivate": [
        Case("POST", "/dashboard/admin/staff/{user}/deactivate", ADMIN_REDIRECT),
    ],
    "dashboard.admin_staff_reactivate": [
        Case("POST", "/dashboard/admin/staff/{user}/reactivate", ADMIN_REDIRECT),
    ],
    "dashboard.admin_staff_password": [
        Case("GET", "/dashboard/admin/staff/{user}/password", ADMIN),
        Case("POST", "/dashboard/admin/staff/{user}/password", ADMIN),
    ],
    # An empty POST shows the form again with what is missing; no token is made.
    "dashboard.admin_api_tokens": [
        Case("GET", "/dashboard/admin/api-tokens", ADMIN),
        Case("POST", "/dashboard/admin/api-tokens", ADMIN),
    ],
    "dashboard.admin_api_token_revoke": [
        Case("POST", "/dashboard/admin/api-tokens/{token}/revoke", ADMIN_REDIRECT),
    ],
    "dashboard.admin_hosts": [Case("GET", "/dashboard/admin/hosts?site={site}", SITE)],
    "dashboard.admin_host_new": [
        Case("GET", "/dashboard/admin/hosts/new?site={site}", SITE),
        Case("POST", "/dashboard/admin/hosts/new?site={site}", SITE),
    ],
    "dashboard.admin_host_edit": [
        Case("GET", "/dashboard/admin/hosts/{host}", SITE),
        # An empty POST keeps every value as it is (the form starts from the host's data).
        Case("POST", "/dashboard/admin/hosts/{host}", SITE_REDIRECT),
    ],
    "dashboard.admin_host_deactivate": [
        Case("POST", "/dashboard/admin/hosts/{host}/deactivate", SITE_REDIRECT),
    ],
    "dashboard.admin_host_reactivate": [
        Case("POST", "/dashboard/admin/hosts/{host}/reactivate", SITE_REDIRECT),
    ],
    "dashboard.admin_hosts_import": [
        Case("GET", "/dashboard/admin/hosts/import?site={site}", SITE),
        Case("POST", "/dashboard/admin/hosts/import?site={site}", SITE),
    ],
    "dashboard.admin_webhooks": [Case("GET", "/dashboard/admin/webhooks", ADMIN)],
    "dashboard.admin_webhook_new": [
        Case("GET", "/dashboard/admin/webhooks/new", ADMIN),
        Case("POST", "/dashboard/admin/webhooks/new", ADMIN),
    ],
    "dashboard.admin_webhook_edit": [
        Case("GET", "/dashboard/admin/webhooks/{webhook}", ADMIN),
        Case("POST", "/dashboard/admin/webhooks/{webhook}", ADMIN),
    ],
    "dashboard.admin_webhook_secret": [
        Case("POST", "/dashboard/admin/webhooks/{webhook}/secret", ADMIN),
    ],
    "dashboard.admin_webhook_active": [
        Case("POST", "/dashboard/admin/webhooks/{webhook}/active", ADMIN_REDIRECT),
    ],
    "dashboard.admin_webhook_delete": [
        Case("POST", "/dashboard/admin/webhooks/{webhook}/delete", ADMIN_REDIRECT),
    ],
    "dashboard.admin_visitor_types": [
        Case("GET", "/dashboard/admin/sites/{site}/types", ADMIN),
    ],
    "dashboard.admin_visitor_type_new": [
        Case("GET", "/dashboard/admin/sites/{site}/types/new", ADMIN),
        # Refused (a new type needs a name): the form is shown again.
        Case("POST", "/dashboard/admin/sites/{site}/types/new", ADMIN),
    ],
    "dashboard.admin_visitor_type_edit": [
        Case("GET", "/dashboard/admin/types/{type}", ADMIN),
        # A built-in type needs no name of its own: an empty POST saves it.
        Case("POST", "/dashboard/admin/types/{type}", ADMIN_REDIRECT),
    ],
    "dashboard.admin_visitor_type_down": [
        Case("POST", "/dashboard/admin/types/{type}/down", ADMIN_REDIRECT),
    ],
    "dashboard.admin_visitor_type_up": [
        Case("POST", "/dashboard/admin/types/{type}/up", ADMIN_REDIRECT),
    ],
    "dashboard.admin_visitor_type_retire": [
        Case("POST", "/dashboard/admin/types/{type}/retire", ADMIN_REDIRECT),
    ],
    "dashboard.admin_visitor_type_restore": [
        Case("POST", "/dashboard/admin/types/{type}/restore", ADMIN_REDIRECT),
    ],
    # Documents to sign (kiosk.dashboard.admin.documents); "{document}" has a published
    # version "{document_version}". Empty POSTs answer with the form's errors, but see below.
    "dashboard.admin_documents": [Case("GET", "/dashboard/admin/sites/{site}/documents", ADMIN)],
    "dashboard.admin_document_new": [
        Case("GET", "/dashboard/admin/sites/{site}/documents/new", ADMIN),
        Case("POST", "/dashboard/admin/sites/{site}/documents/new", ADMIN),
    ],
    "dashboard.admin_document": [
        Case("GET", "/dashboard/admin/documents/{document}", ADMIN),
        # An empty POST is answered with the form's messages (the days must be given).
        Case("POST", "/dashboard/admin/documents/{document}", ADMIN),
    ],
    "dashboard.admin_document_draft": [
        Case("GET", "/dashboard/admin/documents/{document}/draft/en", ADMIN),
        Case("POST", "/dashboard/admin/documents/{document}/draft/en", ADMIN),
    ],
    "dashboard.admin_document_preview": [
        Case("GET", "/dashboard/admin/document-versions/{document_version}", ADMIN),
    ],
    "dashboard.admin_document_retire": [
        Case("POST", "/dashboard/admin/documents/{document}/retire", ADMIN_REDIRECT),
    ],
    "dashboard.admin_document_restore": [
        Case("POST", "/dashboard/admin/documents/{document}/restore", ADMIN_REDIRECT),
    ],
}


@dataclass
class World:
    site: Any
    ids: dict[str, int]


@pytest.fixture
def world(
    app: Flask,
    make_site: Any,
    make_host: Any,
    make_staff: Any,
    session: Session,
    clock: FrozenClock,
) -> World:
    site = make_site(name="Here")
    host = make_host(site, name="Hanna Host")
    with app.test_request_context():
        draft = start_draft(session, site, "en")
        session.commit()
    user = make_staff(username="someone", sites=(site,))
    webhook = create_subscription(
        session,
        site,
        SubscriptionSettings(
            "Desk", "https://example.com/hook", "standard", ["visit.checked_in"], False
        ),
        now=datetime.now(UTC),
    )
    token = create_api_token(
        session,
        name="Facility system",
        sites=[site],
        can_write=False,
        personal_data=False,
        created_by=None,
        now=site.created_at,
    ).token
    session.commit()
    visitor_type = add_default_types(session, site, now=clock.now())[0]
    session.commit()
    document, version = add_document(session, site, clock.now())
    ids = {"site": site.id, "host": host.id, "notice": draft.id, "user": user.id, "token": token.id}
    return World(
        site,
        {
            **ids,
            "webhook": webhook.id,
            "type": visitor_type.id,
            "document": document.id,
            "document_version": version.id,
        },
    )


def test_every_admin_route_is_in_the_matrix(app: Flask):
    routed = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("dashboard.admin")
        for method in rule.methods or ()
        if method in ("GET", "POST")
    }
    listed = {(endpoint, case.method) for endpoint, cases in ADMIN_MATRIX.items() for case in cases}
    assert routed == listed


def client_as(
    role: str, world: World, app: Flask, make_site: Any, make_staff: Any, pair: Any
) -> FlaskClient:
    client = app.test_client()
    if role == "kiosk":
        return pair(world.site)
    sites = {"reception_elsewhere": (make_site(name="Elsewhere"),), "reception": (world.site,)}
    if role in sites:
        user = make_staff(username=role, sites=sites[role])
    elif role == "admin":
        user = make_staff(username="the-admin", role="admin")
    else:
        return client
    response = client.post(
        "/dashboard/login", data={"username": user.username, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_matrix_says(
    app: Flask, make_site: Any, make_staff: Any, pair: Any, world: World, role: str
):
    client = client_as(role, world, app, make_site, make_staff, pair)
    wrong = []
    for endpoint, cases in ADMIN_MATRIX.items():
        for case in cases:
            path = case.path.format(**world.ids)
            response = client.open(path, method=case.method)
            assert_security_headers(response, path)
            wanted = case.expect[ROLES.index(role)]
            if response.status_code != wanted:
                wrong.append(f"{endpoint} {case.method}: {response.status_code}, not {wanted}")
            elif wanted == LOGIN and role in ("anonymous", "kiosk"):
                assert response.headers["Location"].startswith("/dashboard/login")
    assert wrong == []


@pytest.fixture
def csrf_app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def _token(page: str) -> str:
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, page
    return token[1]


def csrf_login(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    token = _token(client.get("/dashboard/login").text)
    response = client.post(
        "/dashboard/login",
        data={"csrf_token": token, "username": username, "password": STAFF_PASSWORD},
    )
    assert response.status_code == 302
    return client


def test_every_post_needs_the_csrf_token(
    csrf_app_config: dict[str, Any], app: Flask, make_staff: Any, world: World
):
    make_staff(role="admin", username="csrf-admin")
    client = csrf_login(app, "csrf-admin")
    for cases in ADMIN_MATRIX.values():
        for case in cases:
            if case.method == "POST":
                response = client.post(case.path.format(**world.ids), data={"name": "x"})
                assert response.status_code == 400, case.path
                assert "This page had expired" in response.text


def test_a_post_with_the_token_works(
    csrf_app_config: dict[str, Any], app: Flask, make_staff: Any, world: World, session: Session
):
    make_staff(role="admin", username="csrf-admin")
    client = csrf_login(app, "csrf-admin")
    token = _token(client.get(f"/dashboard/admin/sites/{world.site.id}/notices").text)
    response = client.post(
        f"/dashboard/admin/sites/{world.site.id}/notices/de/draft", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert session.scalar(select(NoticeVersion.id).where(NoticeVersion.locale == "de"))


def test_navigation_shows_admin_to_admins_and_hosts_to_reception(
    staff_client: FlaskClient, make_staff: Any, login: Any, world: World
):
    admin_page = staff_client.get("/dashboard/").text
    assert 'href="/dashboard/admin/"' in admin_page
    admin_area = staff_client.get("/dashboard/admin/").text
    assert 'href="/dashboard/kiosks"' in admin_area
    reception = login(make_staff(username="desk", sites=(world.site,))).get("/dashboard/").text
    assert 'href="/dashboard/admin/"' not in reception
    assert 'href="/dashboard/admin/hosts"' in reception


def test_a_reception_user_on_an_admin_page_gets_the_dashboards_403_page(
    make_site: Any, make_staff: Any, login: Any
):
    """Not the kiosk's error page with a button to the kiosk."""
    site = make_site()
    reception = login(make_staff(role="reception", sites=(site,)))
    for path in ("/dashboard/admin/", f"/dashboard/admin/sites/{site.id}/badges"):
        response = reception.get(path)
        assert response.status_code == 403
        assert "You do not have access to this page" in response.text
        assert 'class="dashboard-nav"' in response.text  # the dashboard's layout
        assert 'class="button primary" href="/dashboard/"' in response.text
        assert "Back to the start" not in response.text
