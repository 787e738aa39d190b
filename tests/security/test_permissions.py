"""Who may use which route: every route of the app, for anonymous, a paired kiosk, reception
of another site, reception of the site, and an admin; and CSRF on every dashboard POST.

A new route fails ``test_every_route_of_the_app_is_in_a_matrix_or_public`` (and a new dashboard
route ``test_every_dashboard_route_is_in_the_matrix``) until it is added to a matrix here or in
tests/security/test_admin_permissions.py, or to PUBLIC with the reason it is public.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from kiosk import create_app
from kiosk.db import get_database
from kiosk.models import Notification, SignedDocument
from kiosk.services.invitations import create_invitation
from kiosk.services.kiosks import create_device
from tests.conftest import STAFF_PASSWORD
from tests.documents_support import add_document
from tests.security.test_admin_permissions import ADMIN_MATRIX
from tests.security.test_api_permissions import API_MATRIX
from tests.support import assert_security_headers

ROLES = ("anonymous", "kiosk", "reception_elsewhere", "reception", "admin")
LOGIN = 302  # sent to the login page
OK, REDIRECT, FORBIDDEN, MISSING = 200, 302, 403, 404


@pytest.fixture
def backend() -> str:
    """The matrix runs on SQLite only. Who may use a route is decided before any query, and
    the 404 of another site's object is the same lookup on both databases; on PostgreSQL the
    matrix took 7 % of the suite's time. Every route meets PostgreSQL in the route and
    form fuzzing and the hostile requests (test_fuzz_routes.py, test_hostile_requests.py), as
    an anonymous browser, a kiosk, reception and an admin, and in its own feature's tests."""
    return "sqlite"


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    #: Status per role, in ROLES order.
    expect: tuple[int, int, int, int, int]


# "{site}", "{visit}", "{device}", "{invitation}" are the ids of the objects of "the site".
MATRIX: dict[str, list[Case]] = {
    "dashboard.login": [
        Case("GET", "/dashboard/login", (OK, OK, REDIRECT, REDIRECT, REDIRECT)),
        Case("POST", "/dashboard/login", (OK, OK, REDIRECT, REDIRECT, REDIRECT)),
    ],
    # Single sign-on's two steps are public (blueprint.PUBLIC_ENDPOINTS: they are how one logs
    # in); while SSO is not configured, as here, they do not exist for anyone.
    # tests/dashboard/test_sso.py drives them against a real OpenID provider.
    "dashboard.sso_start": [Case("GET", "/dashboard/sso/login", (MISSING,) * 5)],
    "dashboard.sso_callback": [
        Case("GET", "/dashboard/sso/callback?code=x&state=y", (MISSING,) * 5)
    ],
    "dashboard.logout": [
        Case("POST", "/dashboard/logout", (LOGIN, LOGIN, REDIRECT, REDIRECT, REDIRECT)),
    ],
    "dashboard.on_site": [Case("GET", "/dashboard/", (LOGIN, LOGIN, OK, OK, OK))],
    "dashboard.on_site_live": [Case("GET", "/dashboard/live", (LOGIN, LOGIN, OK, OK, OK))],
    "dashboard.change_password": [
        Case("GET", "/dashboard/password", (LOGIN, LOGIN, OK, OK, OK)),
        Case("POST", "/dashboard/password", (LOGIN, LOGIN, OK, OK, OK)),
    ],
    "dashboard.kiosks": [
        Case("GET", "/dashboard/kiosks", (LOGIN, LOGIN, OK, OK, OK)),
        Case("POST", "/dashboard/kiosks", (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, OK)),
    ],
    "dashboard.kiosk_code": [
        Case("POST", "/dashboard/kiosks/{device}/code", (LOGIN, LOGIN, MISSING, OK, OK)),
    ],
    "dashboard.kiosk_printing": [
        Case(
            "GET", "/dashboard/kiosks/{device}/printing", (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, OK)
        ),
        Case(
            "POST",
            "/dashboard/kiosks/{device}/printing",
            (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT),
        ),
    ],
    "dashboard.kiosk_keyboard": [
        Case(
            "GET", "/dashboard/kiosks/{device}/keyboard", (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, OK)
        ),
        Case(
            "POST",
            "/dashboard/kiosks/{device}/keyboard",
            (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT),
        ),
    ],
    "dashboard.kiosk_revoke": [
        Case(
            "POST", "/dashboard/kiosks/{device}/revoke", (LOGIN, LOGIN, MISSING, REDIRECT, REDIRECT)
        ),
    ],
    "dashboard.check_out": [
        Case(
            "POST",
            "/dashboard/visits/{visit}/check-out",
            (LOGIN, LOGIN, MISSING, REDIRECT, REDIRECT),
        ),
    ],
    "dashboard.check_out_all": [
        Case("GET", "/dashboard/sites/{site}/check-out-all", (LOGIN, LOGIN, MISSING, OK, OK)),
        Case(
            "POST",
            "/dashboard/sites/{site}/check-out-all",
            (LOGIN, LOGIN, MISSING, REDIRECT, REDIRECT),
        ),
    ],
    "dashboard.today": [Case("GET", "/dashboard/today", (LOGIN, LOGIN, OK, OK, OK))],
    "dashboard.history": [
        Case("GET", "/dashboard/history", (LOGIN, LOGIN, OK, OK, OK)),
        Case("POST", "/dashboard/history", (LOGIN, LOGIN, OK, OK, OK)),
    ],
    "dashboard.history_clear": [
        Case("POST", "/dashboard/history/clear", (LOGIN, LOGIN, REDIRECT, REDIRECT, REDIRECT)),
    ],
    "dashboard.export": [
        Case("GET", "/dashboard/export", (LOGIN, LOGIN, OK, OK, OK)),
        Case("POST", "/dashboard/export", (LOGIN, LOGIN, OK, OK, OK)),
    ],
    "dashboard.new_invitation": [
        Case("GET", "/dashboard/expected/new", (LOGIN, LOGIN, OK, OK, OK)),
        Case("POST", "/dashboard/expected/new", (LOGIN, LOGIN, OK, OK, OK)),
    ],
    "dashboard.cancel_invitation": [
        Case(
            "POST",
            "/dashboard/expected/{invitation}/cancel",
            (LOGIN, LOGIN, MISSING, REDIRECT, REDIRECT),
        ),
    ],
    "dashboard.audit_log": [
        Case("GET", "/dashboard/audit", (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, OK))
    ],
    "dashboard.prints": [Case("GET", "/dashboard/prints", (LOGIN, LOGIN, OK, OK, OK))],
    "dashboard.badge_download": [
        Case("GET", "/dashboard/visits/{visit}/badge.pdf", (LOGIN, LOGIN, MISSING, OK, OK))
    ],
    # The site prints in the kiosk's browser: the answer is a page offering the PDF.
    "dashboard.badge_reprint": [
        Case("POST", "/dashboard/visits/{visit}/reprint", (LOGIN, LOGIN, MISSING, OK, OK))
    ],
    # A visit's details and the documents signed at it; a signed document's PDF.
    "dashboard.visit_detail": [
        Case("GET", "/dashboard/visits/{visit}", (LOGIN, LOGIN, MISSING, OK, OK))
    ],
    "dashboard.signed_document_pdf": [
        Case("GET", "/dashboard/signed-documents/{signed}.pdf", (LOGIN, LOGIN, MISSING, OK, OK))
    ],
    "dashboard.evacuation_pdf": [
        Case("GET", "/dashboard/evacuation.pdf", (LOGIN, LOGIN, OK, OK, OK))
    ],
    "dashboard.evacuation_csv_file": [
        Case("GET", "/dashboard/evacuation.csv", (LOGIN, LOGIN, OK, OK, OK))
    ],
    # Data-subject requests and the retention status: admins (and the privacy role) only.
    "dashboard.statistics": [Case("GET", "/dashboard/statistics", (LOGIN, LOGIN, OK, OK, OK))],
    "dashboard.retention": [
        Case("GET", "/dashboard/retention", (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, OK))
    ],
    "dashboard.requests": [
        Case("GET", "/dashboard/requests", (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, OK)),
        Case("POST", "/dashboard/requests", (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, OK)),
    ],
    "dashboard.request_export_json": [
        Case(
            "POST",
            "/dashboard/requests/export.json",
            (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT),
        )
    ],
    "dashboard.request_export_pdf": [
        Case(
            "POST",
            "/dashboard/requests/export.pdf",
            (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT),
        )
    ],
    "dashboard.request_erase": [
        Case("POST", "/dashboard/requests/erase", (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT))
    ],
    "dashboard.request_visit": [
        Case("GET", "/dashboard/requests/visits/{visit}", (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, OK)),
        # An empty POST keeps the shown values: saved, then redirected.
        Case(
            "POST",
            "/dashboard/requests/visits/{visit}",
            (LOGIN, LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT),
        ),
    ],
    "dashboard.notifications": [
        Case("GET", "/dashboard/notifications", (LOGIN, LOGIN, OK, OK, OK))
    ],
    "dashboard.notification_retry": [
        Case(
            "POST",
            "/dashboard/notifications/{notification}/retry",
            (LOGIN, LOGIN, MISSING, REDIRECT, REDIRECT),
        ),
    ],
    "dashboard.notification_dismiss": [
        Case(
            "POST",
            "/dashboard/notifications/{notification}/dismiss",
            (LOGIN, LOGIN, MISSING, REDIRECT, REDIRECT),
        ),
    ],
}

NOT_PAIRED = FORBIDDEN  # the "this browser is not a kiosk" page

#: The kiosk screens: only a paired kiosk browser gets them; a staff login is no kiosk.
KIOSK_MATRIX: dict[str, list[Case]] = {
    "registration.welcome": [Case("GET", "/", (NOT_PAIRED, OK, *(NOT_PAIRED,) * 3))],
    "registration.reset": [Case("GET", "/reset", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3))],
    "registration.choose_language": [
        Case("POST", "/language", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3))
    ],
    "registration.check_in": [
        Case("GET", "/check-in", (NOT_PAIRED, OK, *(NOT_PAIRED,) * 3)),
        Case("POST", "/check-in", (NOT_PAIRED, OK, *(NOT_PAIRED,) * 3)),  # a form error
    ],
    # The test site has no visitor types: nothing to choose, on to the details.
    "registration.choose_type": [
        Case("GET", "/check-in/type", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3)),
        Case("POST", "/check-in/type", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3)),
    ],
    "registration.hosts": [Case("GET", "/hosts?q=ha", (NOT_PAIRED, OK, *(NOT_PAIRED,) * 3))],
    # The site's logo: only for its kiosks (the test site has none: 404).
    "registration.site_logo": [
        Case("GET", "/site-logo.png", (NOT_PAIRED, MISSING, *(NOT_PAIRED,) * 3))
    ],
    # Without details entered, the notice sends back to the form.
    "registration.notice": [
        Case("GET", "/notice", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3)),
        Case("POST", "/notice", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3)),
    ],
    "registration.done": [Case("GET", "/done", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3))],
    # Without details entered (or no one on site of that name), back to the start.
    "registration.already_checked_in": [
        Case("GET", "/already", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3)),
        Case("POST", "/already", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3)),
    ],
    "registration.declined": [Case("GET", "/declined", (NOT_PAIRED, OK, *(NOT_PAIRED,) * 3))],
    # Without details entered, the signing screen sends back to the form.
    "registration.sign_document": [
        Case("GET", "/check-in/sign", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3)),
        Case("POST", "/check-in/sign", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3)),
    ],
    "registration.sign_declined": [
        Case("GET", "/check-in/sign/declined", (NOT_PAIRED, OK, *(NOT_PAIRED,) * 3))
    ],
    "registration.check_out_badge": [
        Case("GET", "/check-out", (NOT_PAIRED, OK, *(NOT_PAIRED,) * 3)),
        Case("POST", "/check-out", (NOT_PAIRED, OK, *(NOT_PAIRED,) * 3)),
    ],
    "registration.goodbye": [Case("GET", "/goodbye", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3))],
    "registration.invitation": [
        Case("GET", "/invitation", (NOT_PAIRED, OK, *(NOT_PAIRED,) * 3)),
        Case("POST", "/invitation", (NOT_PAIRED, OK, *(NOT_PAIRED,) * 3)),
    ],
    # Groups ("I am with others"): without the first visitor's details, back to the form.
    "registration.group": [
        Case("GET", "/check-in/group", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3))
    ],
    "registration.add_companion": [
        Case("GET", "/check-in/group/add", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3)),
        Case("POST", "/check-in/group/add", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3)),
    ],
    "registration.remove_companion": [
        Case("POST", "/check-in/group/remove/0", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3))
    ],
    "registration.group_done": [
        Case("GET", "/check-in/group/done", (NOT_PAIRED, REDIRECT, *(NOT_PAIRED,) * 3))
    ],
    # Only the browser that just checked a group in gets its badges; nobody else, ever.
    "registration.group_badges_pdf": [
        Case("GET", "/check-in/group/badges.pdf", (NOT_PAIRED, MISSING, *(NOT_PAIRED,) * 3))
    ],
    # Only the browser that just checked a visitor in gets that badge; nobody else, ever.
    "registration.badge_pdf": [Case("GET", "/badge.pdf", (MISSING,) * 5)],
    # Only a paired kiosk may report that its browser could not print, and only the badge it
    # was just given (none here).
    "registration.badge_print_failed": [
        Case("POST", "/badge/print-failed", (NOT_PAIRED, MISSING, *(NOT_PAIRED,) * 3))
    ],
}

#: Routes anyone may use, and why.
PUBLIC: dict[str, list[Case]] = {
    # CSS, JavaScript, fonts: nothing personal.
    "static": [Case("GET", "/static/css/kiosk.css", (OK,) * 5)],
    # The privacy notice a visitor's phone opens from the QR code.
    "privacy.notice": [Case("GET", "/privacy/{site}/en", (OK,) * 5)],
    # The REST API's description and its reference page: what the API is, no data (the API's
    # own operations are in tests/security/test_api_permissions.py).
    "api.openapi_json": [Case("GET", "/api/v1/openapi.json", (OK,) * 5)],
    "api.reference": [Case("GET", "/api/v1/docs", (OK,) * 5)],
    # Pairing a browser as a kiosk needs a one-time code from an admin.
    "registration.pair": [
        Case("GET", "/pair", (OK,) * 5),
        Case("POST", "/pair", (OK,) * 5),  # without a valid code: the form again
    ],
}

CASES = [
    pytest.param(endpoint, case, role, id=f"{endpoint}-{case.method}-{role}")
    for matrix in (MATRIX, KIOSK_MATRIX, PUBLIC)
    for endpoint, cases in matrix.items()
    for case in cases
    for role in ROLES
]


def test_every_dashboard_route_is_in_the_matrix(app: Flask):
    routed = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/dashboard")
        for method in rule.methods or ()
        if method in ("GET", "POST")
    }
    # The admin pages have a matrix of their own (tests/security/test_admin_permissions.py).
    matrices = (MATRIX, ADMIN_MATRIX)
    covered = {
        (endpoint, case.method)
        for matrix in matrices
        for endpoint, cases in matrix.items()
        for case in cases
    }
    assert routed == covered


def test_every_route_of_the_app_is_in_a_matrix_or_public(app: Flask):
    """Every rule of the URL map, with each of its methods, is in a permission matrix."""
    routed = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    covered = {
        (endpoint, case.method)
        for matrix in (MATRIX, ADMIN_MATRIX, KIOSK_MATRIX, PUBLIC, API_MATRIX)
        for endpoint, cases in matrix.items()
        for case in cases
    }
    assert routed - covered == set(), "routes missing from every matrix"
    assert covered - routed == set(), "matrix entries for routes that do not exist"


@pytest.fixture
def world(
    session: Session, make_site: Any, make_visit: Any, make_staff: Any, clock: Any
) -> dict[str, Any]:
    site, elsewhere = make_site(name="The Site"), make_site(name="Elsewhere")
    visit = make_visit(site)
    device, _code = create_device(session, site, "Door", now=clock.now())
    invitation = create_invitation(
        session,
        site,
        visitor_name="Iris",
        expected_on=date(2026, 3, 4),
        locale="sv",
        now=clock.now(),
    )
    notification = Notification(
        site=site,
        visit=visit,
        kind="host_email",
        status="failed",
        recipient="host@example.com",
        subject="subject",
        body="body",
        attempts=5,
        next_attempt_at=clock.now(),
        created_at=clock.now(),
        last_error="TimeoutError",
    )
    session.add(notification)
    session.commit()
    _document, version = add_document(session, site, clock.now())
    signed = SignedDocument(
        site_id=site.id,
        visit_id=visit.id,
        document_id=version.document_id,
        document_version_id=version.id,
        signer_name=visit.visitor_name,
        accepted_by="tick",
        signed_at=clock.now(),
        erase_after=clock.now(),
        pdf=b"%PDF-1.4",
    )
    session.add(signed)
    session.commit()
    return {
        "site": site,
        "ids": {
            "site": site.id,
            "visit": visit.id,
            "device": device.id,
            "invitation": invitation.id,
            "notification": notification.id,
            "signed": signed.id,
        },
        "users": {
            "reception_elsewhere": make_staff(username="elsewhere", sites=(elsewhere,)),
            "reception": make_staff(username="here", sites=(site,)),
            "admin": make_staff(username="boss", role="admin"),
        },
    }


def client_as(app: Flask, role: str, world: dict[str, Any], pair: Any) -> FlaskClient:
    if role == "anonymous":
        return app.test_client()
    if role == "kiosk":
        return pair(world["site"], app.test_client())
    client = app.test_client()
    response = client.post(
        "/dashboard/login",
        data={"username": world["users"][role].username, "password": STAFF_PASSWORD},
    )
    assert response.status_code == 302
    return client


@pytest.mark.parametrize(("endpoint", "case", "role"), CASES)
def test_permission(
    app: Flask, world: dict[str, Any], pair: Any, endpoint: str, case: Case, role: str
):
    client = client_as(app, role, world, pair)
    path = case.path.format(**world["ids"])
    response = client.open(path, method=case.method, data={} if case.method == "POST" else None)
    response.close()  # static files are streamed
    # Every route, for every role, answered with the security headers (errors included).
    assert_security_headers(response, path.split("?")[0])
    expected = case.expect[ROLES.index(role)]
    assert response.status_code == expected, (endpoint, case.method, role, response.status_code)
    if role in ("anonymous", "kiosk") and expected == LOGIN and path.startswith("/dashboard"):
        assert response.headers["Location"].startswith("/dashboard/login")


POSTS = [
    pytest.param(case.path, id=f"{endpoint}")
    for endpoint, cases in MATRIX.items()
    for case in cases
    if case.method == "POST"
]


class TestCsrf:
    @pytest.fixture
    def app(self, app_config: dict[str, Any]) -> Any:
        app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
        yield app
        get_database(app).engine.dispose()

    @pytest.fixture
    def admin(self, app: Flask, world: dict[str, Any]) -> FlaskClient:
        import re

        client = app.test_client()
        token = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/dashboard/login").text
        )
        assert token
        response = client.post(
            "/dashboard/login",
            data={"username": "boss", "password": STAFF_PASSWORD, "csrf_token": token[1]},
        )
        assert response.status_code == 302
        return client

    @pytest.mark.parametrize("path", POSTS)
    def test_post_without_token_is_refused(
        self, admin: FlaskClient, world: dict[str, Any], path: str
    ):
        response = admin.post(path.format(**world["ids"]), data={})
        assert response.status_code == 400
        assert "Traceback" not in response.text
