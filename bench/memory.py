"""Memory benchmark: resident memory of each `kiosk serve` worker over 10,000 check-ins.

    .venv/bin/python bench/memory.py                  # SQLite in a temporary instance folder
    .venv/bin/python bench/memory.py --postgres URL   # PostgreSQL instead, in a throwaway schema

Simulated kiosks (each a paired device, see bench/checkin.py) run the full check-in — form,
notice, confirmation, badge PDF — against `kiosk serve` with its default worker count. After
every thousand check-ins the script reads each worker's current (VmRSS) and peak (VmHWM)
resident memory from /proc. Targets: peak under 150 MB per worker, and no growth
from the second to the tenth thousand: the slope of a least-squares line through those
samples, in MB per thousand check-ins, should be about zero (the first thousand warms caches
and is left out). The baseline is the same worker's memory before the first check-in.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkin import (  # noqa: E402  (bench/ is on the path above)
    SERVER_PIDS,
    kiosk_check_in,
    kiosk_server,
    paired_kiosks,
    prepare_instance,
    run_load,
)

HARD_LIMIT_SECONDS = 45 * 60
TARGET_MB = 150.0


def _status(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])  # kB
    return values


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the master's child processes."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces; the parent pid is the second field after it.
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                children.append(int(entry.name))
    return sorted(children)


@dataclass
class Sample:
    check_ins: int
    rss_mb: dict[int, float]
    peak_mb: dict[int, float]


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


@dataclass
class Result:
    backend: str
    workers: int
    kiosks: int
    check_ins: int
    errors: int
    start_mb: dict[int, float]
    samples: list[Sample]
    peak_mb: float
    slope_mb_per_thousand: float


def measure(
    backend: str, database_url: str | None, args: argparse.Namespace, folder: Path
) -> Result:
    instance = folder / f"{backend}-instance"
    env = prepare_instance(instance, database_url)
    log = folder / f"{backend}-kiosk.log"
    samples: list[Sample] = []
    errors = 0
    expected = args.workers or int(env.get("KIOSK_WORKERS") or 0) or os.cpu_count() or 2
    with kiosk_server(env, log, args.workers) as port:
        # The server answers as soon as its first worker does: wait for the others.
        deadline = time.monotonic() + 60
        while len(workers := worker_pids(SERVER_PIDS[port])) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(workers)} of {expected} workers started")
            time.sleep(0.2)
        start = {pid: round(_status(pid)["VmRSS"] / 1024, 1) for pid in workers}
        kiosks = paired_kiosks(env, port, args.kiosks)
        per_round = args.step // args.kiosks
        done = 0
        for _ in range(args.check_ins // args.step):
            result = run_load(kiosks, kiosk_check_in, per_round)
            errors += result.errors
            done += per_round * args.kiosks
            now = {pid: _status(pid) for pid in workers}
            samples.append(
                Sample(
                    done,
                    {pid: round(values["VmRSS"] / 1024, 1) for pid, values in now.items()},
                    {pid: round(values["VmHWM"] / 1024, 1) for pid, values in now.items()},
                )
            )
            print(
                f"  {done:6,} check-ins: RSS "
                + ", ".join(f"{mb:.1f}" for mb in samples[-1].rss_mb.values())
                + " MB, peak "
                + ", ".join(f"{mb:.1f}" for mb in samples[-1].peak_mb.values())
                + f" MB, errors {errors}",
                flush=True,
            )
    later = [
        (sample.check_ins / 1000, max(sample.rss_mb.values()))
        for sample in samples
        if sample.check_ins > args.step
    ]
    return Result(
        backend=backend,
        workers=len(workers),
        kiosks=args.kiosks,
        check_ins=done,
        errors=errors,
        start_mb=start,
        samples=samples,
        peak_mb=max(max(sample.peak_mb.values()) for sample in samples),
        slope_mb_per_thousand=round(slope(later) * 1000 / args.step, 3),
    )


def show(result: Result) -> None:
    first = result.samples[0]
    last = result.samples[-1]
    print(
        f"\n{result.backend}: {result.check_ins:,} full check-ins by {result.kiosks} kiosks,"
        f" {result.workers} workers, errors: {result.errors}"
    )
    for pid in sorted(first.rss_mb):
        print(
            f"  worker {pid}: {result.start_mb.get(pid, 0):.1f} MB before the first check-in,"
            f" {first.rss_mb[pid]:.1f} MB after {first.check_ins:,},"
            f" {last.rss_mb[pid]:.1f} MB after {last.check_ins:,}; peak {last.peak_mb[pid]:.1f} MB"
            f" ({last.peak_mb[pid] / max(result.start_mb.get(pid, 1), 1):.2f} x its start)"
        )
    print(
        f"  peak of any worker {result.peak_mb:.1f} MB ({result.peak_mb / TARGET_MB:.2f} x the"
        f" {TARGET_MB:.0f} MB target); growth after the first thousand:"
        f" {result.slope_mb_per_thousand:+.3f} MB per thousand check-ins",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check-ins", type=int, default=10_000)
    parser.add_argument("--step", type=int, default=1000, help="sample after this many")
    parser.add_argument("--kiosks", type=int, default=10, help="concurrent simulated kiosks")
    parser.add_argument(
        "--workers", type=int, help="default: kiosk serve's (KIOSK_WORKERS or cores)"
    )
    parser.add_argument("--quick", action="store_true", help="a tiny run, to test the script")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("KIOSK_BENCH_POSTGRES_URL"),
        help="PostgreSQL URL instead of SQLite (a throwaway schema is used)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.check_ins, args.step, args.kiosks = 8, 4, 2
    signal.alarm(HARD_LIMIT_SECONDS)
    from purge import postgres_schema_url

    folder = Path(tempfile.mkdtemp(prefix="kiosk-bench-memory-"))
    try:
        if args.postgres:
            url, drop = postgres_schema_url(args.postgres)
            try:
                result = measure("postgresql", url, args, folder)
            finally:
                drop()
        else:
            result = measure("sqlite", None, args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    show(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(result), indent=2))
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
