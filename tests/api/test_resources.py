"""API resources: sites, hosts (a directory sync with ETags), visits, check-out, invitations,
purge runs; pagination; the per-token rate limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from kiosk.cli import main
from kiosk.clock import FrozenClock
from kiosk.db import get_database
from kiosk.models import AuditEvent, Host, Invitation, Site, Visit, VisitorType
from tests.api.conftest import assert_problem


def test_sites(
    make_site: Callable[..., Site],
    make_token: Callable[..., str],
    api: Any,
    session: Session,
    clock: FrozenClock,
) -> None:
    first, second = make_site(), make_site(timezone="Europe/Helsinki", default_locale="fi")
    # The kinds of visit the kiosk offers, named in the site's language; a retired one is not.
    visitor, contractor, retired = (
        VisitorType(site_id=second.id, key=key, position=position, created_at=clock.now())
        for position, key in ((0, "visitor"), (1, "contractor"), (2, "delivery"))
    )
    retired.retired_at = clock.now()
    session.add_all([visitor, contractor, retired])
    session.commit()
    client = api(make_token(first, second))
    assert client.get("/sites").get_json() == {
        "items": [
            {
                "id": first.id,
                "name": "Site 1",
                "timezone": "Europe/Stockholm",
                "default_locale": "sv",
                "visitor_types": [],
            },
            {
                "id": second.id,
                "name": "Site 2",
                "timezone": "Europe/Helsinki",
                "default_locale": "fi",
                "visitor_types": [
                    {"id": visitor.id, "key": "visitor", "name": "Vierailija"},
                    {"id": contractor.id, "key": "contractor", "name": "Urakoitsija"},
                ],
            },
        ],
        "next_cursor": None,
    }
    assert client.get(f"/sites/{second.id}").get_json()["default_locale"] == "fi"


def test_host_directory_sync(
    make_site: Callable[..., Site], make_token: Callable[..., str], api: Any, session: Session
) -> None:
    site = make_site()
    client = api(make_token(site, write=True))
    created = client.post(
        "/hosts",
        json={
            "site_id": site.id,
            "name": " Åsa  Öberg ",
            "email": "asa@example.com",
            "locale": "sv",
        },
    )
    assert created.status_code == 201, created.text
    host = created.get_json()
    assert host["name"] == "Åsa Öberg"
    assert created.headers["Location"] == f"/api/v1/hosts/{host['id']}"
    etag = created.headers["ETag"]

    # The same email again (any case) is a conflict, not a second host.
    again = client.post(
        "/hosts", json={"site_id": site.id, "name": "Other", "email": "ASA@example.com"}
    )
    assert_problem(again, 409, "conflict")

    # Updates need the ETag; a stale one is refused.
    path = f"/hosts/{host['id']}"
    assert_problem(client.patch(path, json={"name": "Åsa B"}), 428, "precondition_required")
    assert_problem(
        client.patch(path, json={"name": "Åsa B"}, headers={"If-Match": '"stale"'}),
        412,
        "precondition_failed",
    )
    assert client.get(path).headers["ETag"] == etag
    updated = client.patch(path, json={"name": "Åsa B"}, headers={"If-Match": etag})
    assert updated.status_code == 200, updated.text
    assert updated.get_json()["name"] == "Åsa B"
    assert updated.get_json()["email"] == "asa@example.com"
    new_etag = updated.headers["ETag"]
    assert new_etag != etag
    # A second client still holding the old ETag does not overwrite the change.
    lost = client.patch(path, json={"email": "b@example.com"}, headers={"If-Match": etag})
    assert_problem(lost, 412)
    assert lost.headers["ETag"] == new_etag

    # Deactivate: the kiosk stops offering the host.
    gone = client.post(f"{path}/deactivate", headers={"If-Match": new_etag})
    assert gone.status_code == 200
    assert gone.get_json()["active"] is False
    assert client.post(f"{path}/deactivate").get_json()["active"] is False
    assert [h["id"] for h in client.get("/hosts?active=false").get_json()["items"]] == [host["id"]]
    assert client.get("/hosts?active=true").get_json()["items"] == []
    reactivated = client.patch(
        path, json={"active": True}, headers={"If-Match": gone.headers["ETag"]}
    )
    assert reactivated.get_json()["active"] is True
    assert session.get(Host, host["id"]).active is True

    # Update's field checks.
    current = reactivated.headers["ETag"]
    for body in ({"name": None}, {"email": "nope"}, {"locale": "xx"}, {"name": "\u3164"}):
        assert_problem(client.patch(path, json=body, headers={"If-Match": current}), 422)
    assert (
        client.patch(path, json={"locale": None}, headers={"If-Match": current}).status_code == 200
    )


def test_a_host_changed_by_another_request_at_the_same_time_is_not_overwritten(
    app: Any,
    make_site: Callable[..., Site],
    make_token: Callable[..., str],
    api: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two PATCHes with the same If-Match both answered 200, the second overwriting the
    first (an outside fuzz). Made certain here: the other request commits its change just
    before this one takes the host to compare its ETag."""
    from kiosk.api import hosts as host_routes

    site = make_site()
    client = api(make_token(site, write=True))
    created = client.post(
        "/hosts", json={"site_id": site.id, "name": "Åsa Öberg", "email": "asa@example.com"}
    )
    host_id, etag = created.get_json()["id"], created.headers["ETag"]
    original = host_routes.begin_write

    def other_request_first(db_session: Session) -> None:
        with get_database(app).engine.begin() as other:
            other.execute(Host.__table__.update().where(Host.id == host_id).values(name="Other"))
        original(db_session)

    monkeypatch.setattr(host_routes, "begin_write", other_request_first)
    lost = client.patch(f"/hosts/{host_id}", json={"name": "Åsa B"}, headers={"If-Match": etag})
    assert_problem(lost, 412)
    monkeypatch.setattr(host_routes, "begin_write", original)
    assert client.get(f"/hosts/{host_id}").get_json()["name"] == "Other"


@pytest.mark.parametrize("change", [False, True], ids=["create", "change"])
def test_a_host_added_by_another_request_at_the_same_time_keeps_its_email_its_own(
    app: Any,
    make_site: Callable[..., Site],
    make_token: Callable[..., str],
    api: Any,
    monkeypatch: pytest.MonkeyPatch,
    change: bool,
) -> None:
    """Two requests adding a host with one email at once were both answered 201 (an outside
    fuzz): each found the email free before the other had committed. Made certain here: the
    other request commits its host with the email just before this one looks, and this one is
    told the email is taken (409), whether it adds a host or gives one that email."""
    from kiosk.api import hosts as host_routes
    from kiosk.services import hosts as host_service

    site = make_site()
    client = api(make_token(site, write=True))
    if change:
        created = client.post(
            "/hosts", json={"site_id": site.id, "name": "Bo Berg", "email": "bo@example.com"}
        )
        host_id, etag = created.get_json()["id"], created.headers["ETag"]
    original = host_service.begin_write
    other_committed: list[bool] = []

    def other_request_first(db_session: Session) -> None:
        # Before this request's first lock (a PATCH takes the host's before the email's).
        if not other_committed:
            with get_database(app).engine.begin() as other:
                other.execute(
                    Host.__table__.insert().values(
                        site_id=site.id, name="Åsa Öberg", email="ASA@example.com", active=True
                    )
                )
            other_committed.append(True)
        original(db_session)

    monkeypatch.setattr(host_service, "begin_write", other_request_first)
    monkeypatch.setattr(host_routes, "begin_write", other_request_first)
    if change:
        lost = client.patch(
            f"/hosts/{host_id}", json={"email": "asa@example.com"}, headers={"If-Match": etag}
        )
    else:
        lost = client.post(
            "/hosts", json={"site_id": site.id, "name": "Åsa B", "email": "asa@example.com"}
        )
    assert_problem(lost, 409)
    assert other_committed
    monkeypatch.setattr(host_service, "begin_write", original)
    monkeypatch.setattr(host_routes, "begin_write", original)
    listed = client.get(f"/hosts?site_id={site.id}").get_json()["items"]
    assert sorted(host["email"].lower() for host in listed) == (
        ["asa@example.com", "bo@example.com"] if change else ["asa@example.com"]
    )


def test_a_host_change_takes_the_sites_host_lock_before_the_hosts_row(
    app: Any,
    make_site: Callable[..., Site],
    make_token: Callable[..., str],
    api: Any,
) -> None:
    """Every create and change of a host takes the site's host lock, and a change also its
    host's row: in that order everywhere, or a PATCH (row, then site) and an import changing
    the same host (site, then row) would wait for each other until PostgreSQL broke the
    deadlock with an error. Here the site's lock is held elsewhere: the PATCH waits for it
    without holding its host's row."""
    engine = get_database(app).engine
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite has one write lock)")
    site = make_site()
    client = api(make_token(site, write=True))
    created = client.post(
        "/hosts", json={"site_id": site.id, "name": "Åsa Öberg", "email": "asa@example.com"}
    )
    host_id, etag = created.get_json()["id"], created.headers["ETag"]
    answers: list[Any] = []
    with engine.connect() as holder:
        holder_pid = holder.scalar(text("SELECT pg_backend_pid()"))
        holder.execute(text("SET lock_timeout = '20s'"))
        holder.execute(
            text("SELECT id FROM sites WHERE id = :id FOR NO KEY UPDATE"), {"id": site.id}
        )
        patch = threading.Thread(
            target=lambda: answers.append(
                client.patch(
                    f"/hosts/{host_id}", json={"name": "Åsa B"}, headers={"If-Match": etag}
                )
            )
        )
        patch.start()
        try:
            with engine.connect() as watcher:
                deadline = time.monotonic() + 10
                # Waiting for this holder: another test's lock wait in the same database
                # (the suite runs two at once) must not count.
                while not watcher.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE CAST(:holder AS integer) = ANY(pg_blocking_pids(pid))"
                    ),
                    {"holder": holder_pid},
                ):
                    assert time.monotonic() < deadline, "the PATCH never waited for the site"
                    assert patch.is_alive(), f"the PATCH answered without waiting: {answers}"
                    # PostgreSQL reads pg_stat_activity once a transaction: a PATCH that began
                    # after the first look was never seen (it failed that way under the full
                    # suite's load).
                    watcher.rollback()
                    time.sleep(0.02)
                # The host's row is free while the PATCH waits.
                watcher.execute(
                    text("SELECT id FROM hosts WHERE id = :id FOR UPDATE NOWAIT"), {"id": host_id}
                )
                watcher.rollback()
        finally:
            holder.rollback()
            patch.join(30)
    assert answers[0].status_code == 200, answers[0].text
    assert client.get(f"/hosts/{host_id}").get_json()["name"] == "Åsa B"


def test_pagination(
    make_site: Callable[..., Site],
    make_host: Callable[..., Any],
    make_token: Callable[..., str],
    api: Any,
) -> None:
    site = make_site()
    ids = [make_host(site, f"Host {n}", email=f"h{n}@example.com").id for n in range(7)]
    client = api(make_token(site))
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = client.get(
            "/hosts", query_string={"limit": 3, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        body = page.get_json()
        assert len(body["items"]) <= 3
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert pages == 3
    for query in (
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=" + "9" * 5000,
        "limit=1.5",
        "limit=%EF%BC%91",  # a fullwidth digit one
        "cursor=nonsense",
        "cursor=",
        "cursor=YWZ0ZXI6LTE",  # "after:-1", well-formed base64 of a cursor we never make
        "limit=2&limit=3",
        "unknown=1",
    ):
        response = client.get(f"/hosts?{query}")
        body = assert_problem(response, 400)
        assert body["errors"], query


def test_visits_on_site_and_of_a_day(
    make_site: Callable[..., Site],
    make_host: Callable[..., Any],
    make_visit: Callable[..., Any],
    make_invitation: Callable[..., Any],
    make_token: Callable[..., str],
    api: Any,
    session: Session,
    clock: FrozenClock,
) -> None:
    site = make_site()
    host = make_host(site)
    yesterday = make_visit(
        site,
        checked_in_at=clock.now() - timedelta(days=1),
        checked_out_at=clock.now() - timedelta(hours=20),
    )
    gone = make_visit(site, checked_out_at=clock.now())
    here = make_visit(site, host_id=host.id)
    invitation = make_invitation(site)
    invitation.visit_id = here.id
    session.commit()
    client = api(make_token(site, write=True))

    on_site = client.get("/visits/on-site").get_json()["items"]
    assert [item["id"] for item in on_site] == [here.id]
    assert on_site[0] | {"checked_in_at": None} == {
        "id": here.id,
        "site_id": site.id,
        "host_id": host.id,
        "host_name": "Hanna Host",
        "type": "invited",
        "visitor_type_id": None,
        "visitor_type": None,
        "group_id": None,
        "checked_in_at": None,
        "checked_out_at": None,
        "on_site": True,
        "visitor": None,
    }
    assert on_site[0]["checked_in_at"] == "2026-03-04T08:00:00Z"
    today = client.get("/visits").get_json()["items"]
    assert [item["id"] for item in today] == [gone.id, here.id]
    assert today[0]["type"] == "walk_in"
    before = client.get("/visits", query_string={"date": "2026-03-03"}).get_json()["items"]
    assert [item["id"] for item in before] == [yesterday.id]

    # Check-out: the same use case as reception's button, audited, once.
    done = client.post(f"/visits/{here.id}/check-out")
    assert done.status_code == 200, done.text
    assert done.get_json()["checked_out_at"] == "2026-03-04T08:00:00Z"
    assert client.get("/visits/on-site").get_json()["items"] == []
    assert_problem(client.post(f"/visits/{here.id}/check-out"), 409, "already_checked_out")
    assert session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.action == "check_out", AuditEvent.target_id == str(here.id)
        )
    ).all() == ["check_out"]


def test_invitations(
    make_site: Callable[..., Site],
    make_host: Callable[..., Any],
    make_token: Callable[..., str],
    api: Any,
    session: Session,
    clock: FrozenClock,
) -> None:
    site, other = make_site(), make_site()
    host = make_host(site)
    other_host = make_host(other, email="o@example.com")
    client = api(make_token(site, write=True, personal=True))
    created = client.post(
        "/invitations",
        json={
            "site_id": site.id,
            "visitor_name": "Ivy Invited",
            "company": "Acme",
            "expected_on": "2026-03-05",
            "host_id": host.id,
        },
    )
    assert created.status_code == 201, created.text
    invitation = created.get_json()
    assert invitation["status"] == "expected"
    assert invitation["locale"] == "sv"
    assert invitation["visitor"] == {
        "name": "Ivy Invited",
        "company": "Acme",
        "email": None,
        "state": "kept",
    }
    stored = session.get(Invitation, invitation["id"])
    assert invitation["code"] == stored.code

    listed = client.get("/invitations", query_string={"expected_on": "2026-03-05"}).get_json()
    assert [item["id"] for item in listed["items"]] == [invitation["id"]]
    assert client.get("/invitations?expected_on=2026-03-06").get_json()["items"] == []
    assert "code" not in listed["items"][0]

    cancelled = client.post(f"/invitations/{invitation['id']}/cancel")
    assert cancelled.get_json()["status"] == "cancelled"
    assert_problem(
        client.post(f"/invitations/{invitation['id']}/cancel"), 409, "invitation_cancelled"
    )
    assert [i["id"] for i in client.get("/invitations?status=cancelled").get_json()["items"]] == [
        invitation["id"]
    ]
    assert client.get("/invitations?status=expected").get_json()["items"] == []

    assert invitation["visitor_type_id"] is None  # the kiosk asks, if the site has several

    # The kind of visit, one of the site's types offered at the kiosk.
    contractor = VisitorType(site_id=site.id, key="contractor", position=1, created_at=clock.now())
    retired = VisitorType(site_id=site.id, key="delivery", position=2, created_at=clock.now())
    retired.retired_at = clock.now()
    elsewhere = VisitorType(site_id=other.id, key="contractor", position=0, created_at=clock.now())
    session.add_all([contractor, retired, elsewhere])
    session.commit()
    base = {"site_id": site.id, "visitor_name": "Ivy", "expected_on": "2026-03-05"}
    typed = client.post("/invitations", json=base | {"visitor_type_id": contractor.id})
    assert typed.status_code == 201, typed.text
    assert typed.get_json()["visitor_type_id"] == contractor.id
    assert session.get(Invitation, typed.get_json()["id"]).visitor_type_id == contractor.id
    for type_id in (retired.id, elsewhere.id, 2**31 - 1):
        body = assert_problem(
            client.post("/invitations", json=base | {"visitor_type_id": type_id}), 422
        )
        assert [error["code"] for error in body["errors"]] == ["unknown_visitor_type"]

    for change, field in (
        ({"expected_on": "2026-03-03"}, "expected_on"),
        ({"host_id": other_host.id}, "host_id"),
        ({"visitor_type_id": 0}, "visitor_type_id"),
        ({"visitor_name": "   "}, "visitor_name"),
        ({"email": "not-an-email"}, "email"),
        ({"locale": "xx"}, "locale"),
        ({"expected_on": "2026-02-30"}, "expected_on"),
    ):
        body = assert_problem(client.post("/invitations", json=base | change), 422)
        assert [error["field"] for error in body["errors"]] == [field], change


@pytest.fixture
def smtp_app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(SMTP_HOST="127.0.0.1", NOTIFY_IN_SERVER=False)
    return app_config


def test_invitation_email_is_queued(
    smtp_app_config: dict[str, Any],
    make_site: Callable[..., Site],
    make_token: Callable[..., str],
    api: Any,
    session: Session,
) -> None:
    from kiosk.models import Notification

    site = make_site()
    client = api(make_token(site, write=True))
    created = client.post(
        "/invitations",
        json={
            "site_id": site.id,
            "visitor_name": "Ivy",
            "expected_on": "2026-03-04",
            "email": "ivy@example.com",
        },
    )
    assert created.status_code == 201
    assert created.get_json()["visitor"] is None
    queued = session.scalars(select(Notification)).one()
    assert queued.invitation_id == created.get_json()["id"]


def test_purge_runs(
    runner: FlaskCliRunner,
    make_site: Callable[..., Site],
    make_visit: Callable[..., Any],
    make_token: Callable[..., str],
    api: Any,
    session: Session,
    clock: FrozenClock,
) -> None:
    mine, other = make_site(), make_site()
    make_visit(
        mine,
        checked_in_at=clock.now() - timedelta(days=40),
        checked_out_at=clock.now() - timedelta(days=40),
    )
    assert runner.invoke(main, ["purge"]).exit_code == 0
    clock.advance(timedelta(days=1))
    assert runner.invoke(main, ["purge"]).exit_code == 0
    client = api(make_token(mine))
    runs = client.get("/purge-runs").get_json()["items"]
    assert len(runs) == 2
    assert runs[0]["id"] > runs[1]["id"]
    assert runs[0]["status"] == "succeeded"
    assert [item["site_id"] for item in runs[1]["sites"]] == [mine.id]
    assert runs[1]["sites"][0]["visits_erased"] == 1
    first = client.get("/purge-runs?limit=1").get_json()
    second = client.get(f"/purge-runs?limit=1&cursor={first['next_cursor']}").get_json()
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [runs[0]["id"], runs[1]["id"]]
    assert second["next_cursor"] is None
    assert session.scalars(select(Visit)).all() == []
    assert other.id not in {item["site_id"] for run in runs for item in run["sites"]}


@pytest.fixture
def limited_app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["API_LIMIT_PER_TOKEN"] = "3 per minute"
    return app_config


def test_rate_limit_per_token(
    limited_app_config: dict[str, Any],
    make_site: Callable[..., Site],
    make_token: Callable[..., str],
    api: Any,
) -> None:
    site = make_site()
    busy, calm = api(make_token(site)), api(make_token(site, name="Other"))
    for _ in range(3):
        assert busy.get("/sites").status_code == 200
    refused = busy.get("/sites")
    assert_problem(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another token keeps its own budget.
    assert calm.get("/sites").status_code == 200


#: sqlite_stat1 after ANALYZE of bench/dashboard.py's data (200,000 visits, ten sites).
BENCH_STATISTICS = [
    ("sites", "sqlite_autoindex_sites_1", "10 1"),
    ("name_token_days", "sqlite_autoindex_name_token_days_1", "3870 387 1"),
    ("alembic_version", "sqlite_autoindex_alembic_version_1", "1 1"),
    ("hosts", "ix_hosts_site_id_active", "200 20 20"),
    ("invitations", "ix_invitations_site_id_expected_on", "5000 500 13"),
    ("invitations", "sqlite_autoindex_invitations_3", "5000 5000"),
    ("invitations", "sqlite_autoindex_invitations_2", "5000 1"),
    ("invitations", "sqlite_autoindex_invitations_1", "5000 500 1"),
    ("visits", "ix_visits_site_id_checked_in_at", "200000 20000 1 1 1"),
    ("visits", "ix_visits_group_id", "200000 200000"),
    ("visits", "ix_visits_visitor_type_id", "200000 200000"),
    ("visits", "ix_visits_site_id_checked_out_at", "200000 20000 1"),
    ("visits", "sqlite_autoindex_visits_2", "200000 20000 1"),
    ("visits", "sqlite_autoindex_visits_1", "200000 1"),
    ("print_jobs", "ix_print_jobs_visit_id_id", "200000 1 1"),
    ("visit_name_tokens", "visit_name_tokens", "3102509 3 3 1 1"),
]


def test_a_days_visits_are_read_through_the_index_by_check_in_time(
    app: Any,
    make_site: Callable[..., Site],
    make_visit: Callable[..., Any],
    make_token: Callable[..., str],
    api: Any,
    clock: FrozenClock,
) -> None:
    # With the statistics of an ANALYZE of bench/dashboard.py's data, SQLite walked the whole
    # table in id order to find a day's visits (0.3 s at a million visits); the day's stretch
    # of each site's index, then sorted, is the plan.
    # Ten sites, as a token of a company's offices: with two SQLite chose the index anyway.
    sites = [make_site() for _ in range(10)]
    for days in range(3):
        for site in sites:
            make_visit(site, checked_in_at=clock.now() - timedelta(days=days))
    engine = get_database(app).engine
    if engine.dialect.name == "sqlite":
        # The statistics SQLite planned with (its documentation allows writing them to test a
        # plan).
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.exec_driver_sql("DELETE FROM sqlite_stat1")
            for row in BENCH_STATISTICS:
                connection.exec_driver_sql("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)", row)
        engine.dispose()  # connections read the statistics when they open
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM visits" in statement and "ORDER BY" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        page = api(make_token(*sites)).get("/visits")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(page.get_json()["items"]) == 10  # today's, one a site
    ((statement, parameters),) = statements
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL plans by its own statistics; the page's answer is checked above
    with engine.connect() as connection:
        plan = " ".join(
            str(row[-1])
            for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        )
    print("PLAN", plan, statement[-400:])
    assert "ix_visits_site_id_checked_in_at" in plan
    assert "INTEGER PRIMARY KEY" not in plan.split("hosts")[0]


def test_day_is_each_sites_own_calendar(
    make_site: Callable[..., Site],
    make_visit: Callable[..., Any],
    make_token: Callable[..., str],
    api: Any,
    clock: FrozenClock,
) -> None:
    # 23:30 UTC on 3 March is already 4 March in Helsinki, still 3 March in London.
    helsinki = make_site(timezone="Europe/Helsinki")
    london = make_site(timezone="Europe/London")
    late = clock.now().replace(day=3, hour=23, minute=30)
    in_helsinki = make_visit(helsinki, checked_in_at=late)
    in_london = make_visit(london, checked_in_at=late)
    client = api(make_token(helsinki, london))
    fourth = client.get("/visits", query_string={"date": date(2026, 3, 4).isoformat()})
    assert [item["id"] for item in fourth.get_json()["items"]] == [in_helsinki.id]
    third = client.get("/visits?date=2026-03-03").get_json()["items"]
    assert [item["id"] for item in third] == [in_london.id]


def test_a_visit_names_its_visitor_type(
    make_site: Callable[..., Site],
    make_visit: Callable[..., Any],
    make_token: Callable[..., str],
    api: Any,
    session: Session,
    clock: FrozenClock,
) -> None:
    from kiosk.services.visitor_types import add_default_types

    site = make_site(default_locale="sv")
    guest, contractor, *_rest = add_default_types(session, site, now=clock.now())
    visit = make_visit(site)
    visit.visitor_type_id = contractor.id
    session.commit()
    [item] = api(make_token(site)).get("/visits/on-site").get_json()["items"]
    assert item["visitor_type_id"] == contractor.id
    assert item["visitor_type"] not in (None, "", "Contractor")  # in the site's language
    assert guest.id != contractor.id


def test_purge_runs_give_each_visitor_types_cutoff(
    runner: FlaskCliRunner,
    make_site: Callable[..., Site],
    make_visit: Callable[..., Any],
    make_token: Callable[..., str],
    api: Any,
    session: Session,
    clock: FrozenClock,
) -> None:
    site = make_site(retention_days=30)
    delivery = VisitorType(
        site_id=site.id, key="delivery", position=0, retention_days=7, created_at=clock.now()
    )
    session.add(delivery)
    session.commit()
    ended = clock.now() - timedelta(days=8)
    make_visit(site, checked_in_at=ended, checked_out_at=ended, visitor_type_id=delivery.id)
    assert runner.invoke(main, ["purge"]).exit_code == 0
    run = api(make_token(site)).get("/purge-runs").get_json()["items"][0]
    [record] = run["sites"][0]["types"]
    assert record["visitor_type_id"] == delivery.id
    assert record["kept_days"] == 7
    assert record["visits_erased"] == 1


def test_visits_checked_in_together_share_a_group_id(
    make_site: Callable[..., Site],
    make_visit: Callable[..., Any],
    make_token: Callable[..., str],
    api: Any,
    session: Session,
    clock: FrozenClock,
) -> None:
    from kiosk.services.groups import new_group

    site = make_site()
    together = [make_visit(site), make_visit(site)]
    alone = make_visit(site)
    group = new_group(session, site, together, now=clock.now())
    session.commit()
    items = api(make_token(site)).get("/visits/on-site").get_json()["items"]
    assert {item["id"]: item["group_id"] for item in items} == {
        together[0].id: group.id,
        together[1].id: group.id,
        alone.id: None,
    }
