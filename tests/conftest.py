"""Fixtures: an app on a clean, migrated database per test, on SQLite and (when configured)
PostgreSQL; clients; factories; and the clock."""

from __future__ import annotations

import functools
import gc
import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command as alembic_command
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from kiosk import create_app
from kiosk.clock import FrozenClock
from kiosk.db import get_database, make_engine
from kiosk.i18n import compile_catalogs
from kiosk.models import Base, Host, Invitation, Site, StaffUser, Visit
from kiosk.schema import alembic_config
from kiosk.services.invitations import create_invitation
from kiosk.services.kiosks import create_device
from kiosk.services.notices import record_generated_notice
from kiosk.services.staff import create_staff_user
from kiosk.services.visits import new_badge_token, new_short_code
from tests.support import new_key_store

PG_URL = os.environ.get("KIOSK_TEST_DATABASE_URL")
PG_SKIP_REASON = "PostgreSQL tests need KIOSK_TEST_DATABASE_URL (CI sets it)"
STAFF_PASSWORD = "correct horse battery"
#: A Wednesday morning in Stockholm (08:00 UTC = 09:00 local).
START = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)


#: The files that take the longest (servers, browsers, load): started first.
LONG_RUNNING = ("tests/system/", "tests/browser/", "tests/security/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the test processes of pytest-xdist (make test), which hand out whole files in
    collection order, the long-running files go first, so the short ones fill the end instead
    of a load test running alone after everything else. One process keeps the usual order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: not item.nodeid.startswith(LONG_RUNNING))


#: Tests between two freezes of what outlives them (``pytest_runtest_logfinish``).
FREEZE_EVERY = 50
_finished_tests = itertools.count(1)


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """Every 50 tests, collect the garbage and freeze what is left, so the collector no longer
    walks it: what outlives a test (modules, SQLAlchemy's and Jinja's caches) grows to about
    half a million objects, and full collections over it took 15 % of a test process's time
    (9 against 16 s of 94 s on three files). Objects made by a test are collected as usual."""
    if next(_finished_tests) % FREEZE_EVERY == 0:
        gc.collect()
        gc.freeze()


def pytest_report_header() -> str:
    postgres = "postgresql" if PG_URL else f"postgresql SKIPPED: {PG_SKIP_REASON}"
    return f"kiosk databases: sqlite, {postgres}"


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalogs() -> None:
    compile_catalogs()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """argon2id with the cheapest parameters: tests log in hundreds of times. Production keeps
    the library's defaults; tests/dashboard/test_staff_passwords.py checks those."""
    from argon2 import PasswordHasher

    from kiosk.services import staff

    original = staff.password_hasher
    staff.password_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    staff.password_hasher = original


@pytest.fixture(scope="session", autouse=True)
def _url_builders_made_once() -> Iterator[None]:
    """Compile each URL rule's builder once per test process instead of once per app.

    Werkzeug compiles two Python functions (through ``ast`` and ``compile``) for every URL rule
    of every app it binds: about half of ``create_app``'s 100 ms here, and the suite creates an
    app for nearly every one of its 3,000 tests. The function is the same for every rule with
    the same rule text (converters and their arguments included), parts and defaults: it
    reaches the rule only through the ``self`` it is bound to. So tests share it. Production
    creates one app per worker.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    builders: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}

    @functools.wraps(compile_builder)
    def builder_made_once(
        rule: Rule, append_unknown: bool = True
    ) -> Callable[..., tuple[str, str]]:
        key = (
            rule.rule,
            tuple(rule._trace),
            repr(sorted((rule.defaults or {}).items())),
            append_unknown,
        )
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    Rule._compile_builder = builder_made_once  # type: ignore[method-assign,assignment]
    yield
    Rule._compile_builder = compile_builder  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_kiosk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own KIOSK_* settings must not leak into tests."""
    for name in list(os.environ):
        if name.startswith("KIOSK_") and name != "KIOSK_TEST_DATABASE_URL":
            monkeypatch.delenv(name)


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest migration."""
    engine = make_engine(url)
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            alembic_command.upgrade(config, "head")
    finally:
        engine.dispose()


class PostgresSchemas:
    """Throwaway schemas in the test database, so runs never touch each other's tables."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.created: list[str] = []
        try:
            self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means the server is unusable
            pytest.fail(f"KIOSK_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}")

    def new(self) -> str:
        name = f"kiosk_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
        self.created.append(name)
        separator = "&" if "?" in self.url else "?"
        return f"{self.url}{separator}options=-csearch_path%3D{name}"

    def adopt(self, name: str) -> None:
        """Drop this schema, made by a test itself (a restored backup), with the others."""
        self.created.append(name)

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[PostgresSchemas]:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    schemas = PostgresSchemas(PG_URL)
    yield schemas
    schemas.drop_all()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "kiosk.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated(postgres_schemas: PostgresSchemas) -> str:
    url = postgres_schemas.new()
    migrate(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database for this test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "instance" / "kiosk.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    request.getfixturevalue("postgres_emptier")()
    return url


@pytest.fixture(scope="session")
def postgres_emptier(postgres_migrated: str) -> Iterator[Callable[[], None]]:
    """Empty every table of the migrated schema and restart its sequences, as a new database.

    DELETE, children first, instead of TRUNCATE: on tables of a few rows, TRUNCATE costs about
    80 ms a test here (it makes new files for 29 tables and their indexes) and DELETE about 7.
    """
    engine = create_engine(postgres_migrated)
    deletes = [table.delete() for table in reversed(Base.metadata.sorted_tables)]
    restart_sequences = text(
        "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)"
        " FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
    )

    def empty() -> None:
        with engine.begin() as connection:
            for delete in deletes:
                connection.execute(delete)
            connection.execute(restart_sequences)

    yield empty
    engine.dispose()


@pytest.fixture
def empty_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no tables at all."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    schemas: PostgresSchemas = request.getfixturevalue("postgres_schemas")
    return schemas.new()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def app_config(tmp_path: Path, database_url: str, clock: FrozenClock) -> dict[str, Any]:
    """The settings the ``app`` fixture uses; a test may change them before asking for ``app``."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "CLOCK": clock,
        **new_key_store(tmp_path / "keys"),
    }


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates in memory, shared by the apps of one test process.

    Each app has its own Jinja environment, which compiled every template it rendered again:
    ~11 ms of a test that renders a few pages. Jinja keys each by its template's source, so an
    edit is seen; every app's environment has the same settings, which the code depends on.
    """

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    yield app
    get_database(app).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A database session of the test's own, beside the app's."""
    db_session = get_database(app).sessionmaker()
    yield db_session
    db_session.close()


@pytest.fixture
def make_site(session: Session, clock: FrozenClock) -> Callable[..., Site]:
    counter = iter(range(1, 1000))

    def make(**fields: Any) -> Site:
        number = next(counter)
        values: dict[str, Any] = {
            "name": f"Site {number}",
            "timezone": "Europe/Stockholm",
            "default_locale": "sv",
            "retention_days": 30,
            "controller_name": "Example AB",
            "controller_contact": "privacy@example.com",
            "dpo_contact": "dpo@example.com",
            "authority_name": "Integritetsskyddsmyndigheten (IMY)",
            "authority_contact": "www.imy.se",
            "created_at": clock.now(),
        }
        values.update(fields)
        site = Site(**values)
        session.add(site)
        session.commit()
        return site

    return make


@pytest.fixture
def make_host(session: Session) -> Callable[..., Host]:
    def make(site: Site, name: str = "Hanna Host", **fields: Any) -> Host:
        host = Host(site_id=site.id, name=name, email=fields.pop("email", "host@example.com"))
        for key, value in fields.items():
            setattr(host, key, value)
        session.add(host)
        session.commit()
        return host

    return make


@pytest.fixture
def shown_notice(session: Session, clock: FrozenClock) -> Callable[[Site], int]:
    """The id of a notice version recorded for ``site``: what a visitor registered through
    ``register_visit`` was shown (every check-in records one)."""

    def make(site: Site) -> int:
        notice = record_generated_notice(session, site, "en", "The first layer.", now=clock.now())
        session.commit()
        return notice.id

    return make


@pytest.fixture
def make_visit(session: Session, clock: FrozenClock) -> Callable[..., Visit]:
    def make(site: Site, visitor_name: str = "Vera Visitor", **fields: Any) -> Visit:
        at = fields.get("checked_in_at", clock.now())
        values: dict[str, Any] = {
            "site_id": site.id,
            "visitor_name": visitor_name,
            "badge_token": new_badge_token(at),
            "short_code": new_short_code(at),
            "locale": "en",
            "checked_in_at": at,
        }
        values.update(fields)
        visit = Visit(**values)
        session.add(visit)
        session.commit()
        return visit

    return make


@pytest.fixture
def make_invitation(session: Session, clock: FrozenClock) -> Callable[..., Invitation]:
    def make(site: Site, visitor_name: str = "Ivy Invited", **fields: Any) -> Invitation:
        invitation = create_invitation(
            session,
            site,
            visitor_name=visitor_name,
            expected_on=fields.pop("expected_on", clock.now().date()),
            locale=fields.pop("locale", "en"),
            now=clock.now(),
            **fields,
        )
        session.commit()
        return invitation

    return make


@pytest.fixture
def make_staff(session: Session, clock: FrozenClock) -> Callable[..., StaffUser]:
    counter = iter(range(1, 1000))

    def make(role: str = "reception", sites: tuple[Site, ...] = (), **fields: Any) -> StaffUser:
        user = create_staff_user(
            session,
            username=fields.pop("username", f"staff{next(counter)}"),
            password=fields.pop("password", STAFF_PASSWORD),
            role=role,
            site_names=[site.name for site in sites],
            now=clock.now(),
        )
        session.commit()
        return user

    return make


@pytest.fixture
def pair(app: Flask, session: Session, clock: FrozenClock) -> Callable[..., FlaskClient]:
    """Return a client paired as a kiosk device of the given site (a new one by default)."""
    counter = iter(range(1, 1000))

    def pair_client(site: Site, client: FlaskClient | None = None) -> FlaskClient:
        _device, code = create_device(session, site, f"Kiosk {next(counter)}", now=clock.now())
        session.commit()
        kiosk_client = client or app.test_client()
        response = kiosk_client.post("/pair", data={"code": code})
        assert response.status_code == 302, response.text
        return kiosk_client

    return pair_client


@pytest.fixture
def login(app: Flask) -> Callable[[StaffUser], FlaskClient]:
    """Return a new client logged in as the given staff user."""

    def log_in(user: StaffUser, password: str = STAFF_PASSWORD) -> FlaskClient:
        staff_client = app.test_client()
        response = staff_client.post(
            "/dashboard/login", data={"username": user.username, "password": password}
        )
        assert response.status_code == 302, response.text
        return staff_client

    return log_in


@pytest.fixture
def staff_client(
    make_site: Callable[..., Site],
    make_staff: Callable[..., StaffUser],
    login: Callable[[StaffUser], FlaskClient],
) -> FlaskClient:
    """A client logged in as an admin (who sees every site)."""
    return login(make_staff(role="admin"))
