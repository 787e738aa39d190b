"""Kiosk page weight: bytes a kiosk browser downloads for the welcome and the check-in form
screens, and their time to first paint in headless Chromium.

    .venv/bin/python bench/page_weight.py

`kiosk serve` (SQLite in a temporary instance folder, the demo site) serves the screens to a
paired kiosk; each load is a fresh browser context with an empty cache, so every byte of HTML,
CSS, JavaScript, fonts and images counts (headers included, as Chromium reports them). The
first paint is compared with a minimal static HTML page served by the same gunicorn settings
(bench/baseline_app.py's /blank) in the same run. Medians over --loads. Targets:
under 200 KB for each screen. Uses Debian's Chromium (/usr/bin/chromium); never downloads one.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkin import (  # noqa: E402  (bench/ is on the path above)
    baseline_server,
    kiosk_server,
    paired_kiosks,
    prepare_instance,
)

HARD_LIMIT_SECONDS = 10 * 60
TARGET_KB = 200.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


@dataclass
class Screen:
    name: str
    bytes: int
    requests: dict[str, int]
    first_paint_ms: float
    first_contentful_paint_ms: float


def load(
    browser: Any, url: str, cookies: list[dict[str, Any]]
) -> tuple[int, dict[str, int], float, float]:
    """Load ``url`` in a fresh context; return (bytes, bytes per resource, FP ms, FCP ms)."""
    context = browser.new_context()
    try:
        if cookies:
            context.add_cookies(cookies)
        page = context.new_page()
        finished: list[Any] = []
        page.on("requestfinished", lambda request: finished.append(request))
        response = page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            raise RuntimeError(f"{url}: HTTP {response.status if response else 'none'}")
        page.wait_for_load_state("networkidle")
        per_resource: dict[str, int] = {}
        for request in finished:
            sizes = request.sizes()
            size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            name = request.url.split("?")[0].rsplit("/", 1)[-1] or "/"
            per_resource[name] = per_resource.get(name, 0) + size
        paints = dict(
            page.evaluate("performance.getEntriesByType('paint').map(e => [e.name, e.startTime])")
        )
        return (
            sum(per_resource.values()),
            per_resource,
            float(paints.get("first-paint", 0.0)),
            float(paints.get("first-contentful-paint", 0.0)),
        )
    finally:
        context.close()


def measure(browser: Any, name: str, url: str, cookies: list[dict[str, Any]], loads: int) -> Screen:
    load(browser, url, cookies)  # warm the server
    results = [load(browser, url, cookies) for _ in range(loads)]
    return Screen(
        name=name,
        bytes=int(statistics.median(result[0] for result in results)),
        requests=results[-1][1],
        first_paint_ms=round(statistics.median(result[2] for result in results), 1),
        first_contentful_paint_ms=round(statistics.median(result[3] for result in results), 1),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=15, help="page loads per screen (median)")
    parser.add_argument("--quick", action="store_true", help="a tiny run, to test the script")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.loads = 1
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    signal.alarm(HARD_LIMIT_SECONDS)
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="kiosk-bench-pages-"))
    screens: list[Screen] = []
    try:
        env = prepare_instance(folder / "instance", None)
        blank_db = f"sqlite:///{folder / 'baseline.sqlite3'}"
        with (
            kiosk_server(env, folder / "kiosk.log", None) as port,
            baseline_server(blank_db, folder / "baseline.log", 2) as blank_port,
            sync_playwright() as playwright,
        ):
            kiosk = paired_kiosks(env, port, 1)[0]
            cookies = [
                {"name": key, "value": value, "domain": "127.0.0.1", "path": "/"}
                for key, value in kiosk.cookies.items()
            ]
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                base = f"http://127.0.0.1:{port}"
                screens.append(
                    measure(
                        browser,
                        "blank page (baseline)",
                        f"http://127.0.0.1:{blank_port}/blank",
                        [],
                        args.loads,
                    )
                )
                screens.append(measure(browser, "welcome", f"{base}/", cookies, args.loads))
                screens.append(
                    measure(browser, "check-in form", f"{base}/check-in", cookies, args.loads)
                )
            finally:
                browser.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    baseline = screens[0]
    print(f"\nKiosk screens, fresh cache each load, median of {args.loads} loads")
    print(f"  {'':22} {'KB':>7} {'of 200':>7} {'first paint':>12} {'FCP':>8} {'FCP/blank':>10}")
    for screen in screens:
        ratio = screen.first_contentful_paint_ms / max(baseline.first_contentful_paint_ms, 0.1)
        print(
            f"  {screen.name:22} {screen.bytes / 1024:7.1f} {screen.bytes / 1024 / TARGET_KB:7.2f}"
            f" {screen.first_paint_ms:10.1f}ms {screen.first_contentful_paint_ms:6.1f}ms"
            f" {ratio:9.2f}x"
        )
    for screen in screens[1:]:
        print(
            f"  {screen.name}: "
            + ", ".join(f"{name} {size / 1024:.1f} KB" for name, size in screen.requests.items())
        )
    sys.stdout.flush()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(screen) for screen in screens], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
