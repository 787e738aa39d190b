"""Debian's Chromium driven by Playwright (never a downloaded browser), against a real
`kiosk serve` with demo data; helpers to pair a browser, check accessibility and keep
screenshots of every screen under test-artifacts/screens/."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import demo_password, kiosk_env, run_kiosk, running_server, unavailable

CHROMIUM = Path(os.environ.get("KIOSK_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
#: Screenshots of every kiosk screen land here (README: "Browser tests").
SCREENS = Path(__file__).parents[2] / "test-artifacts" / "screens"
PORTRAIT = {"width": 1080, "height": 1920}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable(
            f"browser tests need Debian's Chromium at {CHROMIUM}", "apt-get install chromium"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class Server:
    base: str
    env: dict[str, str]
    admin_password: str
    instance: Path

    def new_pairing_code(self) -> str:
        count = len(list(self.instance.glob("device-*")))
        (self.instance / f"device-{count}").touch()
        output = run_kiosk(
            ["device", "add", f"Browser kiosk {count}", "--site", "Demo Office"], self.env
        )
        match = re.search(r"code=(\w+)", output)
        assert match, output
        return match[1]

    @contextmanager
    def session(self) -> Iterator[Any]:
        """A database session on the server's own data: its fields are sealed, so through
        the app with the server's instance folder and key store."""
        from kiosk import create_app
        from kiosk.db import get_database, get_session

        app = create_app(
            {
                "INSTANCE_PATH": str(self.instance),
                "DATABASE_URL": f"sqlite:///{self.instance / 'kiosk.sqlite3'}",
                "SECRET_KEY": "test-reader",
                **{
                    key.removeprefix("KIOSK_"): value
                    for key, value in self.env.items()
                    if key in ("KIOSK_KEY_STORE", "KIOSK_MASTER_KEY_FILE")
                },
            }
        )
        try:
            with app.app_context():
                yield get_session()
        finally:
            get_database(app).engine.dispose()


def start_server(tmp: Path, **settings: str) -> Iterator[Server]:
    env = kiosk_env(tmp / "instance")
    env.update({f"KIOSK_{key}": value for key, value in settings.items()})
    run_kiosk(["db", "upgrade"], env)
    password = demo_password(run_kiosk(["demo"], env))
    with running_server(env) as base:
        yield Server(base, env, password, tmp / "instance")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(tmp_path_factory.mktemp("browser"))


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    contexts = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", PORTRAIT)
        options.setdefault("locale", "en-GB")
        context = browser.new_context(**options)
        # Headless Chromium has no printer and its renderer crashes when the kiosk's badge
        # frame calls print(): count the calls instead, in every frame.
        context.add_init_script(
            "window.print = () => {"
            " window.top.__badgePrints = (window.top.__badgePrints || 0) + 1; };"
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def kiosk_page(server: Server, new_page: Callable[..., Any]) -> Callable[..., Any]:
    """A browser page paired as a kiosk of the demo site, on its welcome screen."""

    def make(**options: Any) -> Any:
        page = new_page(**options)
        page.goto(f"{server.base}/pair?code={server.new_pairing_code()}")
        page.locator("form.scan-form [type=submit]").click()
        page.wait_for_url(f"{server.base}/")
        return page

    return make


def tap_next_until(page: Any, target: Any) -> Any:
    """In the guided check-in (one step a screen on portrait displays), tap Next until
    ``target`` shows; on a screen that shows every field it shows already. Returns it."""
    # kiosk.js (deferred: it runs before DOMContentLoaded) makes the form guided. Looked at
    # before then, every field shows, and the target found would be hidden the moment after
    # (CI failed once so under load).
    page.wait_for_load_state("domcontentloaded")
    for _ in range(10):
        if target.is_visible():
            return target
        page.locator(".step-next").click()
    assert target.is_visible(), "the step never showed"
    return target


def post_without_csrf_token(page: Any, path: str) -> None:
    """Send an empty form to ``path`` from the page, without its CSRF token (as a form that
    had timed out would), and wait for the page it leads to: the kiosk's error screen."""
    with page.expect_navigation():
        page.evaluate(
            """(path) => { const f = document.createElement('form'); f.method = 'post';
               f.action = path; document.body.appendChild(f); f.submit(); }""",
            path,
        )


def shot(page: Any, name: str) -> None:
    """Keep a screenshot of the current screen as a test artifact."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def assert_accessible(page: Any, screen: str) -> None:
    """axe-core finds no serious or critical WCAG 2.1 A/AA violation on this screen."""
    from axe_playwright_python.sync_playwright import Axe

    options = {
        "resultTypes": ["violations"],
        "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    }
    results = Axe().run(page, options=options)
    bad = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{screen}: {bad}"
