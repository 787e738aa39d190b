"""The proof from outside on PostgreSQL's own files (docs/erasure.md, "Proof"): a file-level
copy of a private cluster's data directory (tables, indexes, ``pg_wal``), taken before the
purge the way a disk snapshot or a file backup takes it, yields after the purge no field of
the erased visitor with the keys that remain, while the kept visitor still reads; and no file
of the cluster, live or copied, holds a personal field in plain text at any time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from kiosk.clock import FrozenClock
from kiosk.db import get_database
from tests.privacy.test_shredding import EMAIL, NAME, _values_readable, purge
from tests.servers import PrivateCluster, private_postgres
from tests.support import kiosk_env, run_kiosk

pytestmark = pytest.mark.slow

COMPANY = "Shredwell Bokbinderi"
PHONE = "+46 70 555 01 99"
PURPOSE = "Inspecting the vault"
PERSONAL = [NAME, EMAIL, COMPANY, PHONE, PURPOSE]


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    with private_postgres() as cluster:
        yield cluster


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def database_name(tmp_path: Path) -> str:
    return f"kiosk_{tmp_path.name.lower().replace('-', '_')[-40:]}"


@pytest.fixture
def database_url(cluster: PrivateCluster, database_name: str, tmp_path: Path) -> str:
    """A fresh database in the private cluster, migrated by `kiosk db upgrade`."""
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database_name}"'))
    admin.dispose()
    url = cluster.url(database_name)
    run_kiosk(["db", "upgrade"], kiosk_env(tmp_path / "migrate" / "instance", url))
    return url


def plaintext_in_files(data: Path, fields: list[str] = PERSONAL) -> list[tuple[str, str]]:
    """Each (file, field) where one of ``fields`` lies as text in a file of a data directory."""
    found = []
    for path in sorted(data.rglob("*")):
        if not path.is_file():
            continue
        content = path.read_bytes()
        found.extend(
            (str(path.relative_to(data)), field) for field in fields if field.encode() in content
        )
    return found


def test_a_file_copy_of_the_cluster_taken_before_the_purge_yields_nothing_of_the_erased(
    cluster: PrivateCluster,
    database_name: str,
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    clock: FrozenClock,
):
    site = make_site(retention_days=30, timezone="UTC")
    make_visit(site, NAME, email=EMAIL, company=COMPANY, phone=PHONE, purpose=PURPOSE)
    clock.advance(timedelta(days=20))
    make_visit(site, "Kept Visitor")
    clock.advance(timedelta(days=12))
    session.close()
    get_database(app).engine.dispose()
    # A crash-consistent copy, as a disk snapshot of the running server takes it: stopped
    # without a checkpoint, so the copy's pg_wal holds the recent writes to replay.
    cluster.stop("immediate")
    copy = PrivateCluster(files_of=cluster)
    try:
        cluster.start()
        assert plaintext_in_files(copy.data) == []
        # The search reads the table files: the site's name, not personal, is there in clear.
        assert plaintext_in_files(copy.data, [site.name])

        purge(session, clock)

        copy.start()
        readable = sorted(_values_readable(copy.url(database_name), app).values())
        assert readable == ["", "Kept Visitor"]
        copy_engine = create_engine(copy.url(database_name))
        with copy_engine.connect() as connection:
            stored = connection.execute(
                text("SELECT count(*) FROM visits WHERE visitor_name_sealed IS NOT NULL")
            ).scalar_one()
        copy_engine.dispose()
        assert stored == 2  # the copy has both rows: only the key's loss makes one unreadable
        copy.stop("fast")
        assert plaintext_in_files(copy.data) == []
        with get_database(app).engine.connect() as connection:
            connection.execute(text("CHECKPOINT"))
        assert plaintext_in_files(cluster.data) == []
    finally:
        copy.remove()
