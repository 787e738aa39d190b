"""Erasure benchmark: what it costs an erasure by request to reach copies taken before it.

    .venv/bin/python bench/erasure.py                  # SQLite in a temporary folder
    .venv/bin/python bench/erasure.py --postgres URL   # also PostgreSQL, in a throwaway schema

With 1,000,000 visits over 10 sites (bench/dashboard.py's data), a data-subject erasure of one
recent visit replaces the keys its fields were sealed under (docs/erasure.md, "One person's
erasure"); fifteen minutes later a job seals the day's other rows of that site again under the
new keys and destroys the old ones. Timed in the same run, alternating: the erasure request
with the key replacement against the same request without it (the baseline of the ratio), then
the job: its scan of the sealed columns for the replaced keys alone (the bare statement, its
floor), and the whole job, per replaced key, with how many rows it sealed again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dashboard import HARD_LIMIT_SECONDS, prepare  # noqa: E402  (bench/ is on the path above)
from purge import each_backend, key_store_settings  # noqa: E402


def run(backend: str, url: str, args: argparse.Namespace, folder: Path) -> None:
    from sqlalchemy import func, or_, select

    from kiosk import create_app
    from kiosk.db import get_database
    from kiosk.models import Visit
    from kiosk.privacy import requests
    from kiosk.privacy.shredding import REPLACED_KEY_SETTLE, shred_replaced_keys
    from kiosk.sealing import sealed_fields, sealed_models, store_for

    print(f"{backend}: preparing {args.visits:,} visits", flush=True)
    prepare(url, args.visits, args.visits // 20, folder / f"{backend}-keys")
    app = create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(folder / f"{backend}-instance"),
            "SECRET_KEY": "bench",
            "LOG_LEVEL": "WARNING",
            **key_store_settings(folder / f"{backend}-keys"),
        }
    )
    with app.app_context():
        session = get_database(app).sessionmaker()
        store = store_for(session)
        now = datetime.now(UTC)
        # Recent visits (within the last 25 days), each of a different site and day.
        newest = session.scalar(select(func.max(Visit.id))) or 0
        offset = min(600, newest // 2)  # checked out (the newest are on site), recent
        chosen = [newest - offset - 37 * number for number in range(2 * args.repeat)]
        replace_keys_of = requests.replace_keys_of
        with_replacement: list[float] = []
        without: list[float] = []
        for number, visit_id in enumerate(chosen):
            replacing = number % 2 == 0
            requests.replace_keys_of = (  # type: ignore[attr-defined]
                replace_keys_of if replacing else (lambda *_args, **_kwargs: [])
            )
            visit = session.get(Visit, visit_id)
            if visit is None:
                raise RuntimeError(f"visit {visit_id} is not in the prepared data")
            started = time.perf_counter()
            requests.erase_person(session, [visit], [], now=now)
            session.commit()
            (with_replacement if replacing else without).append(time.perf_counter() - started)
        requests.replace_keys_of = replace_keys_of  # type: ignore[attr-defined]
        due = store.replaced_before(now)
        print(f"  replaced keys: {len(due)}", flush=True)

        def scan() -> int:
            found = 0
            model: Any
            for model in sealed_models():
                columns = [
                    getattr(model, field.sealed_attr) for field in sealed_fields(model).values()
                ]
                under = or_(
                    *(
                        func.substr(column, 2, 16).in_([item.key_id for item in due])
                        for column in columns
                    )
                )
                found += session.scalar(select(func.count()).select_from(model).where(under)) or 0
            session.rollback()
            return found

        started = time.perf_counter()
        under_keys = scan()
        scanned = time.perf_counter() - started
        started = time.perf_counter()
        destroyed = shred_replaced_keys(session, now=now + REPLACED_KEY_SETTLE)
        session.commit()
        job = time.perf_counter() - started
        session.close()
    get_database(app).engine.dispose()
    request_ms = statistics.median(with_replacement) * 1000
    baseline_ms = statistics.median(without) * 1000
    print(f"\n{backend}, {args.visits:,} visits:")
    print(
        f"  erasure request, keys replaced: {request_ms:.1f} ms,"
        f" without replacing: {baseline_ms:.1f} ms"
        f" (ratio {request_ms / baseline_ms:.2f}x; medians of {args.repeat})"
    )
    print(
        f"  job: {len(destroyed)} keys destroyed, {under_keys} rows sealed again,"
        f" {job:.2f} s ({job / max(1, len(destroyed)):.2f} s per key);"
        f" its scan alone {scanned:.2f} s (job/scan {job / scanned:.2f}x)",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="erasures each way (median)")
    parser.add_argument("--quick", action="store_true", help="a tiny run, to test the script")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("KIOSK_BENCH_POSTGRES_URL"),
        help="PostgreSQL URL (default: $KIOSK_BENCH_POSTGRES_URL); a throwaway schema is used",
    )
    args = parser.parse_args()
    if args.quick:
        args.visits, args.repeat = 600, 2
    signal.alarm(HARD_LIMIT_SECONDS)
    folder = Path(tempfile.mkdtemp(prefix="kiosk-bench-erasure-"))

    def measure(backend: str, url: str) -> None:
        run(backend, url, args, folder)

    try:
        each_backend(args, f"sqlite:///{folder / 'bench.sqlite3'}", measure)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
