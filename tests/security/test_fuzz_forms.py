"""Hostile submissions of every form: never a 500, never half-saved.

Hypothesis generates submissions of each form from its rendered page (see tests/fuzzing.py)
and posts them through the Flask test client: the kiosk steps (language, details with the host
search, the privacy notice, check-out and invitation by code, pairing, the kind of visit, signing),
the login, the staff forms (pre-registration with and without a kind of visit, check-out,
password change, history, export, data-subject requests) and the admin settings (sites,
badges, notices, hosts, the hosts CSV import, staff, kiosks, visitor types, documents and
their drafts, webhooks).

Every answer must be a success or a clear refusal (the statuses in ``OK``), never a 5xx or a
trace; a refused submission must leave every table's row count as it was (nothing half-saved),
and a success must not leave the database inconsistent (``check_invariants``).

The bulk runs on SQLite, a smaller share on PostgreSQL; runs are derandomised (the same
examples every time) so CI cannot flake. The total is printed at the end of the module and
written to test-artifacts/fuzz-counts.json.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from kiosk import create_app
from kiosk.db import get_database
from kiosk.models import Base, NoticeVersion, Site, StaffUser, Visit
from kiosk.services.kiosks import create_device
from tests.conftest import STAFF_PASSWORD
from tests.fuzzing import NASTY, Form, Upload, body, read_form, submissions, sweep

pytestmark = pytest.mark.slow

#: Drawn examples per form on each backend, FORMS x (100 + 40) = 3,920 submissions per CI run,
#: beside the sweep of every field with every hostile class (``sweep``), which is what covers
#: the classes. The draws are derandomised, so each run repeats the same ones: they were 200 and
#: 80 until the suite outgrew CI's 30 minutes, and more add fixed combinations, not classes.
EXAMPLES = {"sqlite": 100, "postgresql": 40}
#: The routes fuzzed (each test below fuzzes one or more).
FORMS = 28
#: What a hostile submission may get: success, redirect, form error, bad request, conflict,
#: too large, too many.
OK = {200, 302, 303, 400, 409, 413, 429}
COUNTS: dict[str, int] = {}
ARTIFACT = Path("test-artifacts/fuzz-counts.json")


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if not COUNTS:
        return
    total = sum(COUNTS.values())
    per_backend: dict[str, int] = {}
    for key, count in COUNTS.items():
        backend = key.split(":")[0]
        per_backend[backend] = per_backend.get(backend, 0) + count
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(
        json.dumps({"total": total, "per_backend": per_backend, "per_form": COUNTS}, indent=1)
    )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"fuzzed form submissions: {total} {per_backend}")
    forms = {key.split(":", 1)[1] for key in COUNTS}
    if len(per_backend) == 2 and len(COUNTS) == 2 * len(forms) and len(forms) == FORMS:
        # The whole module ran on both backends, as in CI.
        assert total >= 10_000, total


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    # Throttling would answer most fuzzed logins and check-outs with 429 before the form is
    # read; tests/security/test_sessions.py tests the limits.
    app = create_app({**app_config, "RATELIMIT_ENABLED": False})
    yield app
    get_database(app).engine.dispose()


class World:
    """Everything the forms refer to, and the invariant checks."""

    def __init__(self, app: Flask, session: Session, backend: str) -> None:
        self.app = app
        self.session = session
        self.backend = backend
        self.ids: dict[str, int] = {}
        self.codes: list[str] = []
        self.password = STAFF_PASSWORD
        # One round trip for every table's row count (table names from our own models).
        counts = ", ".join(
            f'(SELECT count(*) FROM "{table.name}") AS "{table.name}"'  # noqa: S608
            for table in Base.metadata.sorted_tables
        )
        self.count_sql = text(f"SELECT {counts}")

    def counts(self) -> dict[str, int]:
        self.session.rollback()  # a fresh snapshot
        row = self.session.execute(self.count_sql).mappings().one()
        self.session.rollback()
        return dict(row)

    def check_invariants(self) -> None:
        """What must hold after any submission, successful or not."""
        self.session.rollback()
        visits = self.session.scalars(select(Visit)).all()
        for visit in visits:
            assert len(visit.badge_token) >= 22
            assert visit.visitor_name
            assert "\x00" not in visit.visitor_name
        kept = [(v.site_id, v.short_code) for v in visits]
        assert len(kept) == len(set(kept))
        admins = self.session.scalars(
            select(StaffUser).where(StaffUser.role == "admin", StaffUser.active)
        ).all()
        assert admins, "the last active admin was lost"
        self.session.rollback()


@pytest.fixture
def world(
    app: Flask,
    session: Session,
    backend: str,
    make_site: Any,
    make_host: Any,
    make_visit: Any,
    make_staff: Any,
    make_invitation: Any,
    clock: Any,
) -> World:
    site = make_site(name="Fuzz HQ", field_email="optional", field_phone="optional")
    other = make_site(name="Elsewhere")
    host = make_host(site, "Hanna Host")
    make_host(site, "Hans Hostsson", email="hans@example.com")
    world = World(app, session, backend)
    visits = [make_visit(site, f"Visitor {n}") for n in range(3)]
    corrected = make_visit(site, "Vera Rectified")  # the erasure fuzzing never selects it
    invitation = make_invitation(site, "Ivy Invited")
    admin = make_staff(role="admin", username="boss")
    reception = make_staff(username="desk", sites=(site,))
    target = make_staff(username="target", sites=(other,))
    device, _code = create_device(session, site, "Door", now=clock.now())
    session.commit()
    world.ids = {
        "site": site.id,
        "other": other.id,
        "host": host.id,
        "visit": visits[0].id,
        "rectify": corrected.id,
        "invitation": invitation.id,
        "admin": admin.id,
        "reception": reception.id,
        "target": target.id,
        "device": device.id,
    }
    world.codes = [v.short_code for v in visits] + [v.badge_token for v in visits]
    world.codes += [invitation.code, invitation.token]
    return world


def _log_in(app: Flask, username: str, password: str = STAFF_PASSWORD) -> FlaskClient:
    client = app.test_client()
    response = client.post("/dashboard/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.text
    return client


def _assert_clean(response: TestResponse, where: str, ok: set[int] = OK) -> None:
    assert response.status_code in ok, (where, response.status_code, response.text[:800])
    if response.mimetype == "text/html":
        assert "Traceback" not in response.text
    location = response.headers.get("Location", "")
    assert not location or (location.startswith("/") and not location.startswith("//")), location


def fuzz(
    world: World,
    name: str,
    strategy: st.SearchStrategy[Any],
    submit: Callable[[Any], TestResponse],
    *,
    saved: Callable[[TestResponse], bool] = lambda r: r.status_code in (302, 303),
    may_change: frozenset[str] = frozenset(),
    ok: set[int] = OK,
    explicit: list[Any] | None = None,
) -> int:
    """Submit ``explicit`` (each field with each hostile class, see ``fuzzing.sweep``), then
    ``strategy``'s examples; refused ones (``saved`` false) change no row count outside
    ``may_change``. Returns how many were submitted."""
    count = 0

    settings_ = settings(
        max_examples=EXAMPLES[world.backend],
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )

    def run(values: Any) -> None:
        nonlocal count
        count += 1
        before = world.counts()
        response = submit(values)
        _assert_clean(response, name, ok)
        if saved(response):
            world.check_invariants()
        else:
            # Refused: nothing half-saved (which also keeps the invariants as they were).
            after = world.counts()
            changed = {t for t in before if before[t] != after[t]} - may_change
            assert not changed, (name, response.status_code, changed)

    test = given(strategy)(run)
    for values in explicit or []:
        test = example(values)(test)
    settings_(test)()
    COUNTS[f"{world.backend}:{name}"] = count
    assert count >= EXAMPLES[world.backend] + len(explicit or [])
    return count


def _post(client: FlaskClient, path: str, pairs: list[tuple[str, Any]], **kw: Any) -> TestResponse:
    data, content_type = body(pairs)
    return client.post(path, data=data, content_type=content_type, **kw)


def _form(client: FlaskClient, page: str, action: str | None = None) -> Form:
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    return read_form(response.text, action or page)


def _fuzz_form(
    world: World,
    client: FlaskClient,
    page: str,
    *,
    action: str | None = None,
    known: dict[str, list[str]] | None = None,
    **kw: Any,
) -> int:
    form = _form(client, page, action)
    target = action or page
    return fuzz(
        world,
        target,
        submissions(form, known),
        lambda pairs: _post(client, target, pairs),
        explicit=sweep(form, known),
        **kw,
    )


# --- kiosk -----------------------------------------------------------------------------------


@pytest.fixture
def kiosk(world: World, pair: Any, session: Session) -> FlaskClient:
    site = session.get(Site, world.ids["site"])
    return pair(site)


def test_kiosk_language(world: World, kiosk: FlaskClient):
    strategy = st.lists(
        st.tuples(
            st.sampled_from(["locale", "next", "x"]),
            st.one_of(
                st.sampled_from(["en", "sv", "de", ".check_in", "//evil.example"]),
                *[
                    st.sampled_from(NASTY),
                    st.binary(max_size=12),
                ],
            ),
        ),
        max_size=4,
    )
    fuzz(world, "/language", strategy, lambda pairs: _post(kiosk, "/language", pairs))


def test_kiosk_details_host_search_and_notice(world: World, kiosk: FlaskClient):
    """The details form (with the host search), then the notice: a whole check-in."""
    form = _form(kiosk, "/check-in")
    assert {"name", "host_query", "email", "phone"} <= set(form.fields)
    known = {
        "host_query": ["Hanna", "Han", "Hans Hostsson", "Nobody", "h"],
        "host_id": [str(world.ids["host"]), "999999", "0"],
        "name": ["Ada Lovelace", "Åsa Öberg", "李小龍", "=cmd|' /C calc'!A0"],
        "email": ["ada@example.com", "x@y.zz"],
        "phone": ["+46 70 123 45 67", "0701234567"],
    }
    notice = st.sampled_from([[("read", "1")], [("decline", "1")], [], [("read", "\x00")]])

    def check_in(values: Any) -> TestResponse:
        details, search, notice_pairs = values
        hosts = kiosk.get("/hosts", query_string=search)
        _assert_clean(hosts, "/hosts")
        assert hosts.is_json or hosts.status_code == 400  # 400: a NUL in the query
        before = world.counts()["visits"]
        response = _post(kiosk, "/check-in", details)
        if response.status_code != 302:
            return response
        if response.headers["Location"] == "/already":  # the same name and host on site
            kiosk.get("/reset")
            return response
        if response.headers["Location"] == "/check-in/group":  # "I am with others"
            _assert_clean(kiosk.get("/check-in/group"), "/check-in/group")
        else:
            assert response.headers["Location"] == "/notice"
        kiosk.get("/notice")  # shown before it can be confirmed
        response = _post(kiosk, "/notice", notice_pairs)
        _assert_clean(response, "/notice")
        if response.headers.get("Location") == "/done":
            assert world.counts()["visits"] == before + 1
            _assert_clean(kiosk.get("/done"), "/done")
        kiosk.get("/reset")
        return response

    search = st.one_of(
        st.builds(lambda q: {"q": q}, st.one_of(st.sampled_from(NASTY), st.text(max_size=30))),
        st.binary(max_size=30).map(lambda raw: "q=" + quote_from_bytes(raw)),
    )
    fuzz(
        world,
        "/check-in+/notice",
        st.tuples(submissions(form, known), search, notice),
        check_in,
        saved=lambda r: r.headers.get("Location") == "/done",
        # A site without a notice records the first layer it showed.
        may_change=frozenset({"notice_versions"}),
        explicit=[(pairs, {"q": "Han"}, [("read", "1")]) for pairs in sweep(form, known)],
    )


def test_kiosk_sign_document(world: World, kiosk: FlaskClient, session: Session, clock: Any):
    """The signing screen of a document the visitor's type requires (issue 15): hostile
    signatures (not PNG, huge, blank, broken base64), versions of nothing, and the buttons."""
    from kiosk.models import VisitorType
    from tests.documents_support import add_document, data_url, signature_png

    site = session.get(Site, world.ids["site"])
    contractor = VisitorType(site_id=site.id, key="contractor", position=0, created_at=clock.now())
    session.add(contractor)
    session.commit()
    _document, version = add_document(session, site, clock.now(), signed_by=(contractor,))

    signers = iter(range(1, 10**6))

    def to_the_signing_screen() -> None:
        kiosk.get("/reset")
        # A new name each time: the same name on site would be asked "is that you again?".
        name = f"Sid Signer {next(signers)}"
        response = kiosk.post("/check-in", data={"name": name, "ask_reception": "y"})
        assert response.headers["Location"] == "/notice", response.text
        kiosk.get("/notice")
        assert kiosk.post("/notice", data={"read": "1"}).headers["Location"] == "/check-in/sign"

    to_the_signing_screen()
    form = _form(kiosk, "/check-in/sign")
    assert {"version", "signature", "sign", "decline"} <= set(form.fields)
    known = {
        "version": [str(version.id), "0", "999999999999"],
        "signature": [
            data_url(signature_png()),
            data_url(signature_png(ink=False)),
            "data:image/png;base64,AAAA",
            "data:image/png;base64," + "iVBORw0KGgo" * 2000,
        ],
    }

    def sign(pairs: list[tuple[str, Any]]) -> TestResponse:
        to_the_signing_screen()
        response = _post(kiosk, "/check-in/sign", pairs)
        if response.headers.get("Location") == "/check-in/sign":
            _assert_clean(kiosk.get("/check-in/sign"), "/check-in/sign")
        return response

    fuzz(
        world,
        "/check-in/sign",
        submissions(form, known),
        sign,
        saved=lambda r: r.headers.get("Location") == "/check-in/sign",
        # Getting to the screen keeps the details and records the generated notice.
        may_change=frozenset({"notice_versions", "session_items"}),
        explicit=sweep(form, known),
    )


def test_kiosk_companion(world: World, kiosk: FlaskClient):
    """A companion's details ("I am with others"): the same fields and checks as the first
    visitor's; refused input never saves anything, valid input only joins the list."""
    started = kiosk.post(
        "/check-in", data={"name": "Ada Lovelace", "ask_reception": "y", "with_others": "1"}
    )
    assert started.headers["Location"] == "/check-in/group"
    known = {
        "name": ["Bo Companion", "李小龍", "=cmd|' /C calc'!A0"],
        "email": ["bo@example.com"],
        "phone": ["+46 70 123 45 67"],
    }
    _fuzz_form(
        world,
        kiosk,
        "/check-in/group/add",
        known=known,
        saved=lambda r: False,
        may_change=frozenset({"session_items"}),
    )
    _assert_clean(kiosk.get("/check-in/group"), "/check-in/group")


def test_kiosk_check_out_by_code(world: World, kiosk: FlaskClient):
    strategy = st.lists(
        st.tuples(
            st.just("code"),
            st.one_of(
                st.sampled_from(world.codes),
                st.sampled_from(world.codes).map(lambda c: f" {c.lower()} "),
                st.sampled_from(world.codes).map(lambda c: f"https://x.example/b/{c}?x=1"),
                st.sampled_from(NASTY),
                st.text(max_size=40),
                st.binary(max_size=40),
            ),
        ),
        max_size=2,
    )
    for page in ("/check-out", "/invitation"):
        fuzz(
            world,
            page,
            strategy,
            lambda pairs, page=page: _post(kiosk, page, pairs),
            may_change=frozenset(),
        )


def test_kiosk_pairing(world: World, app: Flask):
    client = app.test_client()
    form = _form(client, "/pair")
    known = {"code": ["ABCD-EFGH", "abcdefgh", "12345678"]}
    fuzz(
        world,
        "/pair",
        submissions(form, known),
        lambda pairs: _post(client, "/pair", pairs),
        explicit=sweep(form, known),
    )


# --- login -----------------------------------------------------------------------------------


def test_login(world: World, app: Flask):
    form = _form(app.test_client(), "/dashboard/login")
    known = {
        "username": ["boss", "BOSS ", "desk", "nobody"],
        "password": [STAFF_PASSWORD, "wrong password", ""],
    }
    nexts = st.one_of(
        st.sampled_from(["/dashboard/today", "//evil.example", "/\\evil", "https://evil.example"]),
        st.text(max_size=30),
    )

    def log_in(values: Any) -> TestResponse:
        pairs, target = values
        return _post(app.test_client(), "/dashboard/login", pairs, query_string={"next": target})

    fuzz(
        world,
        "/dashboard/login",
        st.tuples(submissions(form, known), nexts),
        log_in,
        may_change=frozenset({"audit_events"}),
        explicit=[(pairs, "/dashboard/today") for pairs in sweep(form, known)],
    )


# --- staff forms -----------------------------------------------------------------------------


@pytest.fixture
def admin(world: World, app: Flask) -> FlaskClient:
    return _log_in(app, "boss")


@pytest.fixture
def reception(world: World, app: Flask) -> FlaskClient:
    return _log_in(app, "desk")


def test_pre_registration(world: World, reception: FlaskClient):
    _fuzz_form(
        world,
        reception,
        "/dashboard/expected/new",
        known={"expected_on": ["2026-03-04", "2026-03-05", "2025-01-01"]},
        # Success shows the new invitation's code on the page itself.
        saved=lambda r: r.status_code == 200 and "<title>Visit registered" in r.text,
    )


def test_a_typed_sites_kind_of_visit_at_the_kiosk_and_for_an_expected_visitor(
    world: World,
    app: Flask,
    session: Session,
    pair: Any,
    make_site: Any,
    make_host: Any,
    make_staff: Any,
    clock: Any,
):
    """A site with visitor types (issue 15): the kiosk's choice of type, and reception's
    "Kind of visit" for an expected visitor, with the types of another site, retired ones,
    none and every hostile class."""
    from kiosk.services.visitor_types import add_default_types, retire_type

    typed = make_site(name="Typed Co")
    guest, contractor, interview, _delivery = add_default_types(session, typed, now=clock.now())
    retire_type(interview, now=clock.now())
    elsewhere = add_default_types(session, session.get(Site, world.ids["other"]), now=clock.now())
    host = make_host(typed, "Tove Typed")
    make_staff(username="typist", sites=(typed,))
    session.commit()
    type_ids = [str(t.id) for t in (guest, contractor, interview, elsewhere[0])] + ["0", "-1"]

    kiosk = pair(typed)
    form = _form(kiosk, "/check-in/type")
    assert "visitor_type" in form.fields
    known = {"visitor_type": type_ids}

    def choose(pairs: list[tuple[str, Any]]) -> TestResponse:
        kiosk.get("/reset")
        return _post(kiosk, "/check-in/type", pairs)

    fuzz(
        world,
        "/check-in/type",
        submissions(form, known),
        choose,
        saved=lambda r: r.headers.get("Location") == "/check-in",
        # The type chosen is the first of the details kept on the server.
        may_change=frozenset({"session_items"}),
        explicit=sweep(form, known),
    )
    typist = _log_in(app, "typist")
    assert "visitor_type" in _form(typist, "/dashboard/expected/new").fields
    _fuzz_form(
        world,
        typist,
        "/dashboard/expected/new",
        known={
            "expected_on": ["2026-03-04", "2026-03-05"],
            "visitor_type": type_ids,
            "host": [str(host.id), str(world.ids["host"])],
        },
        saved=lambda r: r.status_code == 200 and "<title>Visit registered" in r.text,
    )


def test_dashboard_check_out(world: World, reception: FlaskClient, session: Session):
    ids = [world.ids["visit"], 999_999]
    strategy = st.tuples(
        st.sampled_from(ids),
        st.lists(st.tuples(st.sampled_from(["x", "csrf_token"]), st.sampled_from(NASTY))),
    )
    fuzz(
        world,
        "/dashboard/visits/<id>/check-out",
        strategy,
        lambda v: _post(reception, f"/dashboard/visits/{v[0]}/check-out", v[1]),
        saved=lambda r: r.status_code == 302,
        ok=OK | {404},  # the visit that does not exist
    )


def test_password_change(world: World, app: Flask):
    client = _log_in(app, "desk")
    form = _form(client, "/dashboard/password")
    known = {
        "current": [STAFF_PASSWORD, "new secret 1234"],
        "new": ["new secret 1234", STAFF_PASSWORD, "short"],
        "confirm": ["new secret 1234", STAFF_PASSWORD],
    }
    strategy = submissions(form, known)

    def change(pairs: list[tuple[str, Any]]) -> TestResponse:
        response = _post(client, "/dashboard/password", pairs)
        # Still logged in after a change of one's own password.
        assert client.get("/dashboard/today").status_code == 200
        return response

    # The check above views a page, which is audited.
    fuzz(
        world,
        "/dashboard/password",
        strategy,
        change,
        may_change=frozenset({"audit_events"}),
        explicit=sweep(form, known),
    )


def test_history_and_export(world: World, reception: FlaskClient):
    dates = {n: ["2026-03-01", "2026-03-04", "2026-03-31"] for n in ("date_from", "date_to")}
    _fuzz_form(
        world,
        reception,
        "/dashboard/history",
        known=dates,
        may_change=frozenset({"audit_events"}),
    )
    _fuzz_form(
        world,
        reception,
        "/dashboard/export",
        known=dates,
        saved=lambda r: r.mimetype == "text/csv",
    )


def test_data_subject_requests(world: World, admin: FlaskClient):
    _fuzz_form(
        world,
        admin,
        "/dashboard/requests",
        known={"name": ["Visitor", "Ivy", "V"], "email": ["a@example.com"]},
        may_change=frozenset({"audit_events"}),
    )
    ids = [str(world.ids["visit"]), str(world.ids["invitation"]), "0", "²", "-1", "9" * 30]
    records = st.lists(
        st.tuples(st.sampled_from(["visit", "invitation"]), st.sampled_from(ids)), max_size=4
    )
    for path in ("/dashboard/requests/export.json", "/dashboard/requests/export.pdf"):
        fuzz(
            world,
            path,
            st.tuples(records, st.lists(st.tuples(st.just("language"), st.sampled_from(NASTY)))),
            lambda v, path=path: _post(admin, path, v[0] + v[1]),
            saved=lambda r: r.status_code == 200,
            may_change=frozenset({"audit_events"}),
        )
    erase_fields = st.lists(
        st.tuples(
            st.sampled_from(["reason", "confirm", "submit"]),
            st.sampled_from(["erasure", "objection", "y", "x", *NASTY[:6]]),
        ),
        max_size=4,
    )
    # Erasing is a success (a redirect) only with a reason and the confirmation; other
    # answers re-show the confirmation (showing records is audited) and erase nothing.
    fuzz(
        world,
        "/dashboard/requests/erase",
        st.tuples(records, erase_fields),
        lambda v: _post(admin, "/dashboard/requests/erase", v[0] + v[1]),
        may_change=frozenset({"audit_events"}),
    )
    _fuzz_form(
        world,
        admin,
        f"/dashboard/requests/visits/{world.ids['rectify']}",
        known={"visitor_name": ["Vera Corrected"]},
        may_change=frozenset({"audit_events"}),  # showing the record again is audited
    )


def test_kiosks(world: World, admin: FlaskClient):
    _fuzz_form(
        world,
        admin,
        "/dashboard/kiosks",
        known={"name": ["Door", "Lobby", "Back door"]},
        saved=lambda r: r.status_code == 200 and "has-error" not in r.text,
    )


# --- admin settings --------------------------------------------------------------------------


def test_admin_sites(world: World, admin: FlaskClient):
    known = {
        "name": ["Fuzz HQ", "Elsewhere", "New Site"],
        "timezone": ["Europe/Stockholm", "UTC", "Mars/Olympus", "../../etc/localtime"],
        "retention_days": ["1", "30", "0", "3651", "-5"],
        "webhook_url": ["https://hooks.example/x", "http://127.0.0.1/", "javascript:x"],
    }
    _fuzz_form(world, admin, "/dashboard/admin/sites/new", known=known)
    _fuzz_form(world, admin, f"/dashboard/admin/sites/{world.ids['other']}", known=known)


def test_admin_badges(world: World, admin: FlaskClient):
    page = f"/dashboard/admin/sites/{world.ids['site']}/badges"
    form = _form(admin, page)
    known = {"band_colour": ["#1a5fb4", "red", "#GGGGGG", "#fff"]}
    strategy = submissions(form, known)
    logos = st.sampled_from([None, b"", b"\x89PNG\r\n\x1a\nnot really", b"GIF89a", b"x" * 4000])

    def submit(values: Any) -> TestResponse:
        pairs, logo = values
        data: dict[str, Any] = {}
        for key, value in pairs:
            if isinstance(value, Upload):
                value = (io.BytesIO(value.content), value.filename)
            elif isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            data.setdefault(key, []).append(value)
        if logo is not None:
            data["logo"] = (io.BytesIO(logo), "logo.png")
        return admin.post(page, data=data, content_type="multipart/form-data")

    fuzz(
        world,
        page,
        st.tuples(strategy, logos),
        submit,
        explicit=[(pairs, None) for pairs in sweep(form, known)],
    )


def test_admin_notices(world: World, admin: FlaskClient, session: Session):
    site = world.ids["site"]
    response = admin.post(f"/dashboard/admin/sites/{site}/notices/en/draft")
    assert response.status_code == 302
    page = response.headers["Location"]
    known = {"legal_basis": ["GDPR Article 6(1)(f)", "{controller_name}", "{nope}", "{"]}
    # Saving a draft (or publishing it) is the success; a refused one adds nothing. "Save and
    # publish" of an incomplete draft saves it (audited) and shows why it was not published.
    _fuzz_form(world, admin, page, known=known, may_change=frozenset({"audit_events"}))
    notices = session.scalars(select(NoticeVersion)).all()
    assert all(n.sections is None or isinstance(n.sections, dict) for n in notices)


def test_admin_hosts(world: World, admin: FlaskClient):
    known = {"name": ["Hanna Host", "New Host"], "email": ["h@example.com", "hanna@example.com"]}
    _fuzz_form(world, admin, "/dashboard/admin/hosts/new", known=known)
    _fuzz_form(world, admin, f"/dashboard/admin/hosts/{world.ids['host']}", known=known)


_CSV_ROWS = st.lists(
    st.lists(
        st.one_of(
            st.sampled_from(["Ada Host", "ada@example.com", "sv", "en", "", "=1+1", "x" * 300]),
            st.text(max_size=20),
        ),
        max_size=5,
    ),
    max_size=8,
)


@st.composite
def _csv_files(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from(["name,email,language", "name;email", "email,name", "", "x"]))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    rows = [delimiter.join(row) for row in draw(_CSV_ROWS)]
    body = "\r\n".join([header, *rows]).encode(draw(st.sampled_from(["utf-8", "utf-8-sig"])))
    if draw(st.booleans()):
        body += draw(st.binary(max_size=40))  # often invalid UTF-8
    return body


def test_hosts_csv_import(world: World, admin: FlaskClient):
    page = "/dashboard/admin/hosts/import"
    sites = [str(world.ids["site"]), str(world.ids["other"]), "0", "x"]

    def submit(values: Any) -> TestResponse:
        site, content, filename = values
        data: dict[str, Any] = {"site": site}
        if content is not None:
            data["file"] = (io.BytesIO(content), filename)
        return admin.post(page, data=data, content_type="multipart/form-data")

    fuzz(
        world,
        page,
        st.tuples(
            st.sampled_from(sites),
            st.one_of(st.none(), _csv_files()),
            st.sampled_from(["hosts.csv", "../../x.csv", "a\r\nb.csv", "\x00.csv", ""]),
        ),
        submit,
    )


def test_admin_staff(world: World, admin: FlaskClient):
    known = {
        "username": ["boss", "newbie", "Desk", "x"],
        "password": ["long enough password", "short"],
    }
    _fuzz_form(world, admin, "/dashboard/admin/staff/new", known=known)
    target = world.ids["target"]
    _fuzz_form(world, admin, f"/dashboard/admin/staff/{target}", known=known)
    _fuzz_form(world, admin, f"/dashboard/admin/staff/{target}/password", known=known)


def test_admin_visitor_types_documents_and_webhooks(
    world: World, admin: FlaskClient, session: Session, clock: Any
):
    """The admin forms of issue 15 and the webhooks: types, documents to sign and their
    drafts, subscriptions, each field with every hostile class. Their edit forms have the
    same fields; tests/security/test_fuzz_routes.py sends their routes (real rows) every
    field name with hostile values."""
    from kiosk.services.visitor_types import add_default_types
    from tests.documents_support import add_document

    site = session.get(Site, world.ids["site"])
    _guest, contractor, *_others = add_default_types(session, site, now=clock.now())
    document, _version = add_document(session, site, clock.now(), signed_by=(contractor,))
    session.commit()
    _fuzz_form(world, admin, f"/dashboard/admin/sites/{site.id}/types/new")
    _fuzz_form(world, admin, f"/dashboard/admin/sites/{site.id}/documents/new")
    _fuzz_form(world, admin, f"/dashboard/admin/documents/{document.id}/draft/en")
    urls = ["https://hooks.example.org/kiosk", "http://127.0.0.1:9/", "javascript:alert(1)"]
    _fuzz_form(
        world,
        admin,
        "/dashboard/admin/webhooks/new",
        known={"url": urls},
        # Success shows the new subscription's signing secret, once.
        saved=lambda r: r.status_code == 200 and "<title>Signing secret" in r.text,
    )
