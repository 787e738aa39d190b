"""Purge benchmark: erase 1,000,000 expired visits among 1,100,000 while a kiosk keeps checking
visitors in, and report the purge's time and rate and the worst check-in wait.

    .venv/bin/python bench/purge.py                  # SQLite in a temporary folder
    .venv/bin/python bench/purge.py --postgres URL   # also PostgreSQL, in a throwaway schema

Targets: under 60 s for the million on SQLite, and no check-in waiting more than
250 ms. The check-ins run in a separate process, as a gunicorn worker would, through the app's
own register_visit; their latency before the purge starts is the baseline the ratio uses.
Results and the command line go in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The whole run is stopped after this many seconds, whatever happens.
HARD_LIMIT_SECONDS = 30 * 60
COLUMNS = (
    "id",
    "site_id",
    "host_id",
    "visitor_name",
    "company",
    "email",
    "badge_token",
    "short_code",
    "locale",
    "checked_in_at",
    "checked_out_at",
)


@dataclass
class Result:
    backend: str
    rows: int
    expired: int
    erased: int
    seconds: float
    rows_per_second: float
    batch_size: int
    pause_ms: int
    check_ins: int
    check_in_failures: int
    worst_check_in_ms: float
    p99_check_in_ms: float
    median_check_in_ms: float
    baseline_worst_check_in_ms: float
    baseline_median_check_in_ms: float
    max_wal_mb: float | None
    keys_destroyed: int = 0
    #: PostgreSQL: checkpoints the server began while the purge ran, its max_wal_size and its
    #: wal_compression. The worst check-in is its commit waiting for the WAL to reach the
    #: disk, behind the purge's WAL and the checkpoints' writes (bench/README.md).
    checkpoints: int | None = None
    max_wal_size: str | None = None
    wal_compression: str | None = None


def short_code(number: int, checked_in: datetime) -> str:
    """The app's format (kiosk.services.visits.new_short_code): the day's character, then six;
    here the visit's number in base 31, lowest digit first, unique and spread like random ones."""
    from kiosk.services.codes import CODE_ALPHABET, day_number

    chars = [CODE_ALPHABET[day_number(checked_in) % len(CODE_ALPHABET)]]
    for _ in range(6):
        number, digit = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[digit])
    return "".join(chars)


def visit_rows(
    total: int,
    expired: int,
    now: datetime,
    site_id: int | list[int],
    hosts: list[int] | dict[int, list[int]],
    name: Callable[[int], str] = lambda number: f"Bench Visitor {number}",
) -> Any:
    """Visits in check-in order: the expired ones 40 to 400 days old, the rest within 25 days.

    ``site_id`` may be a list: visit n then goes to site n mod len, with that site's ``hosts``.
    """
    from kiosk.services.visits import new_badge_token

    sites = site_id if isinstance(site_id, list) else [site_id]
    for number in range(1, total + 1):
        if number <= expired:
            age = timedelta(days=400) - timedelta(days=360) * number / expired
        else:
            age = timedelta(days=25) * (total - number) / max(1, total - expired)
        checked_in = now - age
        site = sites[number % len(sites)]
        site_hosts = hosts[site] if isinstance(hosts, dict) else hosts
        yield (
            number,
            site,
            site_hosts[number % len(site_hosts)],
            name(number),
            "Bench Company",
            f"visitor{number}@example.com",
            # As the app makes them: the day first, then random (their indexes keep a day's
            # visits together; before 5 Dec they were random and updated all over).
            new_badge_token(checked_in),
            short_code(number, checked_in),
            "sv",
            checked_in,
            checked_in + timedelta(hours=2),
        )


def sqlite_value(value: Any) -> Any:
    # The format SQLAlchemy stores SQLite datetimes in (naive UTC, microseconds).
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def migrate(url: str) -> Any:
    """An engine on ``url`` with the schema at head."""
    from alembic import command

    from kiosk.db import make_engine
    from kiosk.schema import alembic_config

    engine = make_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return engine


def bench_site(connection: Any, name: str, now: datetime, hosts: int = 20) -> tuple[int, list[int]]:
    """Create a site with ``hosts`` hosts; return (site id, host ids)."""
    from sqlalchemy import insert, select

    from kiosk.models import Host, Site

    site_id = connection.scalar(
        insert(Site)
        .values(
            name=name,
            timezone="Europe/Stockholm",
            default_locale="sv",
            retention_days=30,
            controller_name="Bench AB",
            controller_contact="privacy@example.com",
            authority_name="IMY",
            created_at=now,
        )
        .returning(Site.id)
    )
    connection.execute(
        insert(Host),
        [{"site_id": site_id, "name": f"Host {n}", "email": "h@example.com"} for n in range(hosts)],
    )
    return site_id, list(connection.scalars(select(Host.id).where(Host.site_id == site_id)))


def open_store(engine: Any, keys: Path) -> Any:
    """The key store in ``keys`` (made on first use), open for ``engine``'s database in this
    process, as the app opens it: what seals the loaded rows."""
    from kiosk.keystore import KeyStore, MasterKey
    from kiosk.sealing import register

    settings = key_store_settings(keys)
    master = Path(settings["MASTER_KEY_FILE"]).read_text(encoding="ascii").strip()
    store = KeyStore.open(settings["KEY_STORE"], MasterKey.from_text(master))
    register(engine, store)
    return store


def sealed_rows(engine: Any, model: Any, rows: Any) -> Any:
    """``rows`` (dicts of a model's columns, personal fields in plain) as the app writes them:
    personal fields sealed under their erase day's key (kiosk.sealing.sealed_values), and for
    visits the blind-index tokens under the key that seals the name. Yields (values, tokens)."""
    from sqlalchemy import inspect, select
    from sqlalchemy.orm import Session

    from kiosk.blind_index import name_tokens
    from kiosk.field_cipher import key_id_of
    from kiosk.models import Site, Visit
    from kiosk.sealing import sealed_values, store_for

    # sealed_values names the mapped attributes; the INSERT needs their columns' names (the
    # old plaintext columns are mapped as legacy_*).
    column_of = {attr.key: attr.columns[0].name for attr in inspect(model).column_attrs}
    with Session(engine) as session:
        store = store_for(session)
        # Held here: the identity map keeps objects only while something refers to them, and
        # each row's erase day reads its site.
        sites = session.scalars(select(Site)).all()
        if not sites:
            raise RuntimeError("no site to load visits for")
        for row in rows:
            values = {
                column_of[key]: value for key, value in sealed_values(session, model, row).items()
            }
            tokens: set[bytes] = set()
            if model is Visit:
                key = store.key(key_id_of(values["visitor_name_sealed"]))
                tokens = name_tokens(row["visitor_name"], key)
            yield values, tokens


#: The record of each visit's badge print, as the kiosk's check-in writes one; the purge
#: deletes them with their visits (ON DELETE CASCADE).
PRINT_RECORDS = (
    "INSERT INTO print_jobs (visit_id, created_at, requested_by, backend, status)"
    " SELECT id, checked_in_at, 'kiosk:' || site_id, 'cups', 'sent' FROM visits"
)


def load_visits(engine: Any, rows: Any) -> int:
    """Bulk-load visit tuples (``COLUMNS``), sealed, with the blind-index tokens of their names
    (with the visit's site and check-in time), each token day's check-in bound and a print
    record per visit, exactly as the app stores them (executemany on SQLite, COPY on
    PostgreSQL); return the visits loaded. Needs the key store open for ``engine``
    (:func:`open_store`)."""
    from kiosk.models import Visit
    from kiosk.services.name_index import record_every_token_day

    count = 0
    columns: list[str] = []
    raw = engine.raw_connection()

    def sealed() -> Any:
        return sealed_rows(engine, Visit, (dict(zip(COLUMNS, row, strict=True)) for row in rows))

    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA synchronous=OFF")  # loading only; the benchmark runs as usual
            words_statement = (
                "INSERT INTO visit_name_tokens (visit_id, token, site_id, checked_in_at)"
                " VALUES (?, ?, ?, ?)"
            )
            batch: list[tuple[Any, ...]] = []
            words: list[tuple[Any, ...]] = []
            statement = ""
            for values, tokens in sealed():
                if not columns:
                    columns = list(values)
                    # Column names come from the model; the values are bound.
                    statement = "INSERT INTO visits ({}) VALUES ({})".format(  # noqa: S608
                        ", ".join(columns), ", ".join("?" for _ in columns)
                    )
                batch.append(tuple(sqlite_value(values.get(column)) for column in columns))
                checked_in = sqlite_value(values["checked_in_at"])
                words.extend(
                    (values["id"], token, values["site_id"], checked_in) for token in tokens
                )
                if len(batch) == 50_000:
                    cursor.executemany(statement, batch)
                    cursor.executemany(words_statement, words)
                    count += len(batch)
                    batch.clear()
                    words.clear()
            if batch:
                cursor.executemany(statement, batch)
                cursor.executemany(words_statement, words)
                count += len(batch)
            cursor.execute(PRINT_RECORDS)
            raw.commit()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            loaded = list(sealed())
            columns = list(loaded[0][0]) if loaded else list(COLUMNS)
            with cursor.copy(f"COPY visits ({', '.join(columns)}) FROM STDIN") as copy:
                for values, _ in loaded:
                    copy.write_row([values.get(column) for column in columns])
            words_copy = (
                "COPY visit_name_tokens (visit_id, token, site_id, checked_in_at) FROM STDIN"
            )
            with cursor.copy(words_copy) as copy:
                for values, tokens in loaded:
                    for token in tokens:
                        copy.write_row(
                            (values["id"], token, values["site_id"], values["checked_in_at"])
                        )
            count = len(loaded)
            cursor.execute(PRINT_RECORDS)
            cursor.execute("SELECT setval('visits_id_seq', (SELECT max(id) FROM visits))")
            raw.commit()
            # What autovacuum would have done by the time a table is this big: statistics,
            # and the visibility map that lets index-only scans skip the table.
            raw.driver_connection.autocommit = True  # type: ignore[union-attr]
            cursor.execute("VACUUM ANALYZE")
            raw.driver_connection.autocommit = False  # type: ignore[union-attr]
    finally:
        raw.close()
    with engine.begin() as connection:
        record_every_token_day(connection)
    return count


def prepare(url: str, rows: int, expired: int, keys: Path) -> None:
    """Migrate an empty database and fill it with one site, its hosts and the visits, sealed
    with the key store in ``keys``."""
    engine = migrate(url)
    open_store(engine, keys)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        site_id, hosts = bench_site(connection, "Bench Office", now)
    started = time.perf_counter()
    load_visits(engine, visit_rows(rows, expired, now, site_id, hosts))
    engine.dispose()
    print(f"  loaded {rows:,} visits in {time.perf_counter() - started:.1f} s", flush=True)


def check_in_loop(url: str, instance: str, interval: float, wal: str | None, pipe: Any) -> None:
    """A kiosk: check a visitor in every ``interval`` seconds until told to stop; report
    (phase, seconds) per check-in, failures, and the largest WAL size seen."""
    from sqlalchemy import select

    from kiosk import create_app
    from kiosk.db import get_database
    from kiosk.models import Site
    from kiosk.services.notices import record_generated_notice
    from kiosk.services.visits import VisitorDetails, register_visit

    app = create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": instance,
            "SECRET_KEY": "bench",
            **key_store_settings(Path(instance).parent / "keys"),
        }
    )
    session = get_database(app).sessionmaker()
    site = session.scalars(select(Site)).one()
    # What each visitor was shown, as at a kiosk (the first layer, recorded once).
    notice = record_generated_notice(session, site, "sv", "Bench notice.", now=datetime.now(UTC))
    session.commit()
    latencies: list[tuple[str, float]] = []
    failures = 0
    max_wal = 0
    phase = "baseline"
    number = 0
    pipe.send("ready")
    while True:
        if pipe.poll():
            message = pipe.recv()
            if message == "stop":
                break
            phase = message
        number += 1
        started = time.perf_counter()
        try:
            register_visit(
                session,
                site,
                VisitorDetails(name=f"Live Visitor {number}"),
                locale="sv",
                notice_id=notice.id,
                now=datetime.now(UTC),
            )
            session.commit()
            latencies.append((phase, time.perf_counter() - started))
        except Exception:  # noqa: BLE001 - a failed check-in is what the benchmark measures
            session.rollback()
            failures += 1
        if wal and os.path.exists(wal):
            max_wal = max(max_wal, os.path.getsize(wal))
        time.sleep(interval)
    session.close()
    get_database(app).engine.dispose()
    pipe.send({"latencies": latencies, "failures": failures, "max_wal": max_wal})


def checkpoint_count(url: str) -> tuple[int, str, str] | None:
    """PostgreSQL: how many checkpoints the server has begun (timed or forced) since its
    statistics were reset, its max_wal_size and its wal_compression; None on SQLite."""
    from sqlalchemy import create_engine

    if not url.startswith("postgresql"):
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            exists = connection.exec_driver_sql(
                "SELECT to_regclass('pg_catalog.pg_stat_checkpointer') IS NOT NULL"
            ).scalar()
            # PostgreSQL 17 moved the counters to pg_stat_checkpointer.
            count = connection.exec_driver_sql(
                "SELECT num_timed + num_requested FROM pg_stat_checkpointer"
                if exists
                else "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
            ).scalar()
            size = connection.exec_driver_sql("SHOW max_wal_size").scalar()
            compression = connection.exec_driver_sql("SHOW wal_compression").scalar()
    finally:
        engine.dispose()
    return int(count or 0), str(size), str(compression)


def run(backend: str, url: str, args: argparse.Namespace, folder: Path) -> Result:
    from kiosk import create_app
    from kiosk.clock import SystemClock
    from kiosk.db import get_database
    from kiosk.privacy.purge import PurgeSettings, run_purge

    print(f"{backend}: preparing {args.rows:,} visits ({args.expired:,} expired)", flush=True)
    # The writer's instance and the key store both load and purge use, per backend (a key
    # destroyed by one backend's purge must not be missing in the other's load).
    instance = folder / f"{backend}-writer" / "instance"
    prepare(url, args.rows, args.expired, instance.parent / "keys")
    wal = url.removeprefix("sqlite:///") + "-wal" if backend == "sqlite" else None
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    writer = context.Process(
        target=check_in_loop,
        args=(url, str(instance), args.interval_ms / 1000, wal, theirs),
    )
    writer.start()
    if ours.recv() != "ready":
        raise RuntimeError("the check-in process did not start")
    time.sleep(args.baseline_seconds)  # check-ins alone, for the baseline
    ours.send("purge")
    # As `kiosk purge` runs it: in the app (its key store, its webhook outbox).
    app = create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(instance.parent / "purge-instance"),
            "SECRET_KEY": "bench",
            "LOG_LEVEL": "WARNING",
            **key_store_settings(instance.parent / "keys"),
        }
    )
    with app.app_context():
        database = get_database(app)
        db_session = database.sessionmaker()
        checkpoints_before = checkpoint_count(url)
        started = time.perf_counter()
        purge = run_purge(
            db_session,
            clock=SystemClock(),
            trigger="cli",
            settings=PurgeSettings(batch_size=args.batch_size, pause_seconds=args.pause_ms / 1000),
        )
        seconds = time.perf_counter() - started
        checkpoints_after = checkpoint_count(url)
        ours.send("stop")
        report = ours.recv()
        writer.join(60)
        db_session.close()
        database.engine.dispose()
    if purge is None:
        raise RuntimeError("another purge held the lock")
    during = [value for phase, value in report["latencies"] if phase == "purge"]
    baseline = [value for phase, value in report["latencies"] if phase == "baseline"]
    during.sort()
    erased = purge.visits_erased
    return Result(
        backend=backend,
        rows=args.rows,
        expired=args.expired,
        erased=erased,
        seconds=round(seconds, 2),
        rows_per_second=round(erased / seconds),
        batch_size=args.batch_size,
        pause_ms=args.pause_ms,
        check_ins=len(during),
        check_in_failures=report["failures"],
        worst_check_in_ms=round(max(during, default=0) * 1000, 1),
        p99_check_in_ms=round(during[int(len(during) * 0.99)] * 1000, 1) if during else 0.0,
        median_check_in_ms=round(statistics.median(during) * 1000, 1) if during else 0.0,
        baseline_worst_check_in_ms=round(max(baseline, default=0) * 1000, 1),
        baseline_median_check_in_ms=round(statistics.median(baseline) * 1000, 1)
        if baseline
        else 0.0,
        max_wal_mb=round(report["max_wal"] / 2**20, 1) if wal else None,
        keys_destroyed=len(purge.destroyed_keys or []),
        checkpoints=checkpoints_after[0] - checkpoints_before[0]
        if checkpoints_before and checkpoints_after
        else None,
        max_wal_size=checkpoints_after[1] if checkpoints_after else None,
        wal_compression=checkpoints_after[2] if checkpoints_after else None,
    )


def show(result: Result, limit_seconds: float, limit_ms: float) -> None:
    seconds_ratio = result.seconds / limit_seconds
    wait_ratio = result.worst_check_in_ms / limit_ms
    slower = result.median_check_in_ms / max(result.baseline_median_check_in_ms, 0.001)
    lines = [
        "",
        f"{result.backend}: erased {result.erased:,} of {result.rows:,} visits"
        f" (keys of {result.keys_destroyed:,} site days destroyed first)",
        f"  purge time        {result.seconds:9.1f} s    "
        f"({seconds_ratio:.2f} x the {limit_seconds:.0f} s target)",
        f"  rate              {result.rows_per_second:9,} rows/s "
        f"(batches of {result.batch_size}, {result.pause_ms} ms pause)",
        f"  check-ins during  {result.check_ins:9,}        failed: {result.check_in_failures}",
        f"  worst check-in    {result.worst_check_in_ms:9.1f} ms   "
        f"({wait_ratio:.2f} x the {limit_ms:.0f} ms target)",
        f"  p99 / median      {result.p99_check_in_ms:9.1f} ms / {result.median_check_in_ms:.1f} ms"
        f" (median {slower:.1f} x the {result.baseline_median_check_in_ms:.1f} ms without a purge)",
    ]
    if result.max_wal_mb is not None:
        lines.append(f"  largest WAL       {result.max_wal_mb:9.1f} MB")
    if result.checkpoints is not None:
        lines.append(
            f"  checkpoints       {result.checkpoints:9,}        begun during the purge"
            f" (server's max_wal_size {result.max_wal_size},"
            f" wal_compression {result.wal_compression})"
        )
    print("\n".join(lines), flush=True)


def key_store_settings(folder: Path) -> dict[str, str]:
    """A key store (crypto-shredding, docs/erasure.md) in ``folder``, made on first use: the
    settings naming it. The instance key store would do on SQLite; PostgreSQL needs one."""
    from kiosk.keystore import KeyStore, MasterKey

    url = f"sqlite:///{folder / 'keys.sqlite3'}"
    master_file = folder / "master.key"
    if not master_file.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        master = MasterKey.generate_text()
        KeyStore.open(url, MasterKey.from_text(master), create=True).close()
        master_file.write_text(master + "\n", encoding="ascii")
    return {"KEY_STORE": url, "MASTER_KEY_FILE": str(master_file)}


def postgres_schema_url(base: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text

    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"kiosk_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{name}", drop


#: What a benchmark's measure returns for a backend.
Measured = TypeVar("Measured")
#: SQLite's URL as a benchmark names it: a file, or None for an instance folder's default.
SqliteUrl = TypeVar("SqliteUrl", str, str | None)


def each_backend(
    args: argparse.Namespace,
    sqlite_url: SqliteUrl,
    measure: Callable[[str, SqliteUrl], Measured],
) -> list[Measured]:
    """``measure(backend, url)`` on SQLite at ``sqlite_url`` (unless --no-sqlite), then on
    PostgreSQL in a throwaway schema of ``--postgres``'s database, dropped afterwards."""
    results = []
    if not args.no_sqlite:
        results.append(measure("sqlite", sqlite_url))
    if args.postgres:
        url, drop = postgres_schema_url(args.postgres)
        try:
            results.append(measure("postgresql", url))
        finally:
            drop()
    else:
        print("\npostgresql: skipped (pass --postgres URL or set KIOSK_BENCH_POSTGRES_URL)")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_100_000)
    parser.add_argument("--expired", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=None, help="default: PURGE_BATCH_SIZE")
    parser.add_argument("--pause-ms", type=int, default=None, help="default: PURGE_PAUSE_MS")
    parser.add_argument("--interval-ms", type=int, default=20, help="between check-ins")
    parser.add_argument("--baseline-seconds", type=float, default=3.0)
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("KIOSK_BENCH_POSTGRES_URL"),
        help="PostgreSQL URL (default: $KIOSK_BENCH_POSTGRES_URL); a throwaway schema is used",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--quick", action="store_true", help="a tiny run, to test the script")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.expired, args.baseline_seconds = 3_000, 2_000, 0.5

    from kiosk.config import DEFAULTS

    if args.batch_size is None:
        args.batch_size = int(DEFAULTS["PURGE_BATCH_SIZE"])
    if args.pause_ms is None:
        args.pause_ms = int(DEFAULTS["PURGE_PAUSE_MS"])
    signal.alarm(HARD_LIMIT_SECONDS)
    folder = Path(tempfile.mkdtemp(prefix="kiosk-bench-"))

    def measure(backend: str, url: str) -> Result:
        result = run(backend, url, args, folder)
        show(result, 60, 250)
        return result

    try:
        results = each_backend(args, f"sqlite:///{folder / 'bench.sqlite3'}", measure)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(result) for result in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
