"""Every copy of visitor data goes with its visit: the database's foreign keys, not a registry.

The purge and erasure requests delete visits and invitations; any other table that keeps
something about them must refer to them with a foreign key saying what happens then. A new table
that refers to visits or invitations without ``ondelete`` fails here before it can outlive the
erasure. (``kiosk.privacy.erasure`` explains why there is no eraser registry.)
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from kiosk.enums import NotificationKind, PrintBackend, PrintStatus
from kiosk.models import Base, Invitation, Notification, PrintJob, Visit

ERASED_TABLES = {"visits", "invitations"}

#: The foreign keys that do not cascade, and why that is safe:
#: - the purge and erasure requests erase a visit's invitation explicitly, before the visit
#:   (erasure.erase_visit_rows);
#: - a signed document is kept for its document's own period, longer or shorter than its visit
#:   (an NDA outlives the visit): the purge erases it by its own ``erase_after``
#:   (purge._purge_documents) and erasure requests explicitly (erasure.erase_signed_documents,
#:   requests.erase_person); the tests below and tests/privacy/test_signed_documents.py check
#:   both.
NOT_CASCADING = {
    ("invitations", "visit_id"): "SET NULL",
    ("signed_documents", "visit_id"): "SET NULL",
}


def references_to_erased_rows() -> list[tuple[str, str, str | None]]:
    found = []
    for table in Base.metadata.sorted_tables:
        for key in sorted(table.foreign_keys, key=lambda key: key.parent.name):
            if key.column.table.name in ERASED_TABLES:
                found.append((table.name, key.parent.name, key.ondelete))
    return found


def dangling_references(session: Any) -> list[str]:
    """Every foreign key of the schema that has a row naming a row that is not there: what
    SQLite's ``PRAGMA foreign_key_check`` says, on either database."""
    from sqlalchemy import func

    found = []
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            parent = key.column.table.alias()
            missing = (
                select(func.count())
                .select_from(table.outerjoin(parent, key.parent == parent.c[key.column.name]))
                .where(key.parent.is_not(None), parent.c[key.column.name].is_(None))
            )
            if session.scalar(missing):
                found.append(f"{table.name}.{key.parent.name}")
    return found


def test_the_schema_has_references_to_visits_and_invitations():
    # The walk below would pass vacuously if it found nothing.
    tables = {table for table, _column, _ondelete in references_to_erased_rows()}
    assert {"print_jobs", "notifications"} <= tables


@pytest.mark.parametrize(("table", "column", "ondelete"), references_to_erased_rows())
def test_every_reference_to_visits_or_invitations_says_what_happens_when_they_go(
    table: str, column: str, ondelete: str | None
):
    expected = NOT_CASCADING.get((table, column), "CASCADE")
    assert (ondelete or "").upper() == expected, (
        f"{table}.{column} refers to erased rows: give it ondelete={expected!r}, or erase it "
        "explicitly in kiosk.privacy.erasure and list it in NOT_CASCADING"
    )


def _copies_of(session: Any, site: Any, visit: Any, now: Any, invitation: Any = None) -> None:
    """A print job and a host notification of the visit, and an invitation email of its
    invitation if it has one."""
    about_each = [(NotificationKind.HOST_EMAIL, {"visit_id": visit.id})]
    if invitation is not None:
        invitation.visit_id = visit.id
        about_each.append((NotificationKind.INVITATION_EMAIL, {"invitation_id": invitation.id}))
    session.add(
        PrintJob(
            visit_id=visit.id,
            created_at=now,
            requested_by="kiosk",
            backend=PrintBackend.BROWSER,
            status=PrintStatus.BROWSER,
        )
    )
    for kind, about in about_each:
        session.add(
            Notification(
                site_id=site.id,
                kind=kind,
                recipient="host@example.com",
                subject="Copied Visitor",
                body="Copied Visitor",
                next_attempt_at=now,
                created_at=now,
                **about,
            )
        )
    session.commit()


def test_erasing_a_visit_erases_its_print_jobs_and_notifications(
    session: Any, make_site: Any, make_visit: Any, clock: Any
):
    from kiosk.privacy.erasure import erase_visits

    site = make_site()
    visit = make_visit(site, "Copied Visitor")
    _copies_of(session, site, visit, clock.now())
    assert session.scalar(select(PrintJob.id)) is not None
    assert session.scalar(select(Notification.id)) is not None
    erase_visits(session, [visit.id])
    session.commit()
    assert session.scalars(select(Visit)).all() == []
    assert session.scalars(select(PrintJob)).all() == []
    assert session.scalars(select(Notification)).all() == []
    assert session.scalars(select(Invitation)).all() == []


def test_the_purge_does_what_the_foreign_keys_say_itself_with_the_databases_off(
    session: Any,
    make_site: Any,
    make_visit: Any,
    make_invitation: Any,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
):
    """The purge deletes with the database's foreign-key actions off (SQLite: a trigger per
    row each, two thirds of its deletion of visits; PostgreSQL: a query per row each, four
    fifths) and carries out their ON DELETE itself (kiosk.db.delete_with_dependents): nothing
    may be left referring to an erased row; SQLite's connection goes back to the pool with its
    foreign keys on again, and PostgreSQL skips its triggers for the deletions alone."""
    from datetime import timedelta

    import kiosk.db
    from kiosk.models import PurgeRun
    from kiosk.privacy import erasure
    from kiosk.privacy.purge import PurgeSettings, run_purge

    site = make_site(retention_days=1)
    copied = make_visit(site, "Copied Visitor")
    invitation = make_invitation(site, "Copied Visitor", expected_on=clock.now().date())
    _copies_of(session, site, copied, clock.now(), invitation)
    kept = make_visit(site, "Kept Visitor", checked_in_at=clock.now() + timedelta(days=3))
    kept_invitation = make_invitation(site, "Kept Visitor", expected_on=clock.now().date())
    _copies_of(session, site, kept, clock.now(), kept_invitation)
    sqlite = session.get_bind().dialect.name == "sqlite"
    during: list[tuple[Any, int]] = []
    count = erasure.add_to_daily_stats

    roles: list[tuple[str, str]] = []
    delete_ids = kiosk.db._delete_ids

    def observe(db_session: Any, rows: Any, zones: Any) -> None:
        connection = db_session.connection()
        if sqlite:
            pragma = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
            during.append((connection.connection.dbapi_connection, pragma))
        else:
            role = connection.exec_driver_sql("SHOW session_replication_role").scalar()
            roles.append(("daily stats", role))
        count(db_session, rows, zones)

    def deleting(db_session: Any, table: Any, ids: Any) -> None:
        if not sqlite:
            connection = db_session.connection()
            role = connection.exec_driver_sql("SHOW session_replication_role").scalar()
            roles.append((table.name, role))
        delete_ids(db_session, table, ids)

    monkeypatch.setattr(erasure, "add_to_daily_stats", observe)
    monkeypatch.setattr(kiosk.db, "_delete_ids", deleting)
    clock.advance(timedelta(days=2))
    run = run_purge(session, clock=clock, trigger="cli", settings=PurgeSettings(batch_size=10))
    assert run is not None
    assert run.visits_erased == 1
    session.expire_all()
    assert [visit.visitor_name for visit in session.scalars(select(Visit))] == ["Kept Visitor"]
    assert session.scalars(select(PrintJob.visit_id)).all() == [kept.id]
    assert {(row.visit_id, row.invitation_id) for row in session.scalars(select(Notification))} == {
        (kept.id, None),
        (None, kept_invitation.id),
    }
    assert session.scalars(select(Invitation.id)).all() == [kept_invitation.id]
    assert session.scalars(select(PurgeRun.status)).all() == ["succeeded"]
    assert dangling_references(session) == []
    if sqlite:
        assert [pragma for _connection, pragma in during] == [0]
        purge_connection = during[0][0]
        assert purge_connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert session.connection().exec_driver_sql("PRAGMA foreign_key_check").all() == []
    else:
        # The visit and its invitation without triggers; the statistics counted beside them
        # (and everything else the batch writes) with the foreign keys checked as always.
        assert ("visits", "replica") in roles
        assert ("invitations", "replica") in roles
        assert ("daily stats", "origin") in roles
        assert {role for table, role in roles if table != "daily stats"} == {"replica"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # PostgreSQL's are never off
def test_a_failed_purge_gives_its_connection_back_with_foreign_keys_on(
    session: Any, make_site: Any, make_visit: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
):
    from datetime import timedelta

    from kiosk.privacy import erasure
    from kiosk.privacy.purge import PurgeSettings, run_purge

    class DiskFull(Exception):
        pass

    connections: list[Any] = []

    def failing(db_session: Any, _rows: Any, _zones: Any) -> None:
        connections.append(db_session.connection().connection.dbapi_connection)
        raise DiskFull

    monkeypatch.setattr(erasure, "add_to_daily_stats", failing)
    make_visit(make_site(retention_days=1), "Failing Visitor")
    clock.advance(timedelta(days=2))
    with pytest.raises(DiskFull):
        run_purge(session, clock=clock, trigger="cli", settings=PurgeSettings(batch_size=10))
    assert len(connections) == 1
    assert connections[0].execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_a_deletion_a_foreign_key_restricts_is_refused_before_anything_changes(
    session: Any, make_site: Any, make_visit: Any, clock: Any
):
    """With the database's foreign keys off, deleting a site whose visits refer to it (ON
    DELETE RESTRICT) is refused, and the notifications that would go with it (ON DELETE
    CASCADE) are still there; with them on, the same deletion is the database's."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    from kiosk.db import RowStillReferred, delete_with_dependents, foreign_keys_off
    from kiosk.models import Site

    site = make_site()
    visit = make_visit(site, "Restricting Visitor")
    session.add(
        Notification(
            site_id=site.id,
            visit_id=visit.id,
            kind=NotificationKind.HOST_EMAIL,
            next_attempt_at=clock.now(),
            created_at=clock.now(),
        )
    )
    session.commit()
    sqlite = session.get_bind().dialect.name == "sqlite"
    with session.get_bind().connect() as connection:
        own = Session(bind=connection)
        with foreign_keys_off(own):
            if sqlite:
                assert own.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
            with pytest.raises(RowStillReferred, match="visits.site_id refers to sites"):
                delete_with_dependents(own, Site, [site.id])
            assert own.scalar(select(Notification.id)) is not None
            if not sqlite:
                role = own.connection().exec_driver_sql("SHOW session_replication_role")
                assert role.scalar() == "origin"
            own.rollback()
        if sqlite:
            assert own.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(IntegrityError):
            delete_with_dependents(own, Site, [site.id])
        own.rollback()
        own.close()
    assert session.scalar(select(Site.id).where(Site.id == site.id)) == site.id


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_failed_deletion_leaves_postgresqls_triggers_on(
    session: Any, make_site: Any, make_visit: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
):
    """PostgreSQL skips its foreign-key triggers for the purge's deletions with a SET LOCAL:
    a batch that fails among them gives its connection back with them on."""
    from datetime import timedelta

    import kiosk.db
    from kiosk.privacy.purge import PurgeSettings, run_purge

    class DiskFull(Exception):
        pass

    connections: list[Any] = []

    def failing(db_session: Any, table: Any, _ids: Any) -> None:
        connection = db_session.connection()
        role = connection.exec_driver_sql("SHOW session_replication_role").scalar()
        connections.append((connection.connection.dbapi_connection, role))
        raise DiskFull

    monkeypatch.setattr(kiosk.db, "_delete_ids", failing)
    make_visit(make_site(retention_days=1), "Failing Visitor")
    clock.advance(timedelta(days=2))
    with pytest.raises(DiskFull):
        run_purge(session, clock=clock, trigger="cli", settings=PurgeSettings(batch_size=10))
    assert [role for _connection, role in connections] == ["replica"]
    with connections[0][0].cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone() == ("origin",)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_reference_added_while_postgresql_deletes_without_triggers_goes_with_its_row(
    session: Any, make_site: Any, make_visit: Any, clock: Any
):
    """Without its triggers PostgreSQL no longer deletes what refers to a row as it deletes
    the row; delete_with_dependents deletes the row first, then what refers to it. A print job
    another transaction added to the visit just before (not committed yet) makes the deletion
    wait for it, and is then deleted with the visit, not left behind naming a visit that is
    gone."""
    import threading
    import time

    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from kiosk.db import delete_with_dependents, foreign_keys_off

    visit = make_visit(make_site(), "Reprinted Visitor")
    engine = session.get_bind()
    with engine.connect() as other:
        other.execute(
            PrintJob.__table__.insert().values(
                visit_id=visit.id,
                created_at=clock.now(),
                requested_by="staff:1",
                backend=PrintBackend.BROWSER,
                status=PrintStatus.BROWSER,
            )
        )
        failures: list[BaseException] = []

        def erase() -> None:
            try:
                with engine.connect() as connection:
                    own = Session(bind=connection)
                    with foreign_keys_off(own):
                        own.connection().execute(text("SET LOCAL lock_timeout = '20s'"))
                        delete_with_dependents(own, Visit, [visit.id])
                        own.commit()
                    own.close()
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)

        eraser = threading.Thread(target=erase)
        eraser.start()
        time.sleep(0.5)  # the eraser is now waiting for the print job's transaction
        assert eraser.is_alive()
        other.commit()
        eraser.join(30)
    assert failures == []
    assert session.scalars(select(Visit.id)).all() == []
    assert session.scalars(select(PrintJob.id)).all() == []
    assert dangling_references(session) == []


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_postgresql_role_that_may_not_skip_triggers_deletes_with_them(
    session: Any, make_site: Any, make_visit: Any, clock: Any
):
    """Skipping PostgreSQL's triggers needs a superuser or a role granted SET ON PARAMETER
    session_replication_role (docs/deploying.md); any other role's purge deletes as before, its
    cascade the database's."""
    import uuid

    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from kiosk.db import _may_skip_triggers, delete_with_dependents, foreign_keys_off

    visit = make_visit(make_site(), "Plain Visitor")
    _copies_of(session, visit.site, visit, clock.now())
    role = f"kiosk_test_{uuid.uuid4().hex[:10]}"
    engine = session.get_bind()
    with engine.connect() as admin:
        admin.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
        schema = admin.execute(text("SELECT current_schema()")).scalar()
        admin.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        admin.execute(text(f'GRANT ALL ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'))
        admin.commit()
        try:
            with engine.connect() as connection:
                connection.execute(text(f'SET ROLE "{role}"'))
                connection.commit()
                assert _may_skip_triggers(connection) is False
                own = Session(bind=connection)
                with foreign_keys_off(own):
                    assert not own.info
                    delete_with_dependents(own, Visit, [visit.id])
                    own.commit()
                own.close()
                if connection.dialect.server_version_info >= (15,):
                    admin.execute(
                        text(f'GRANT SET ON PARAMETER session_replication_role TO "{role}"')
                    )
                    admin.commit()
                    assert _may_skip_triggers(connection) is True
                connection.execute(text("RESET ROLE"))
                connection.commit()
        finally:
            if admin.dialect.server_version_info >= (15,):
                admin.execute(
                    text(f'REVOKE SET ON PARAMETER session_replication_role FROM "{role}"')
                )
            admin.execute(text(f'DROP OWNED BY "{role}"'))
            admin.execute(text(f'DROP ROLE "{role}"'))
            admin.commit()
    assert session.scalars(select(Visit.id)).all() == []
    assert session.scalars(select(PrintJob.id)).all() == []
    assert session.scalars(select(Notification.id)).all() == []
