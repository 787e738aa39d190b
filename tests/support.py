"""Helpers for tests that run the real server: ports, processes and a cookie-keeping client."""

from __future__ import annotations

import atexit
import functools
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any, NoReturn

VENV_BIN = Path(sys.executable).parent
#: What would betray a stack trace or a database driver's message on a page.
LEAKS = ("Traceback", "OperationalError", "psycopg", "sqlalchemy", "sqlite3", 'File "')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kiosk_env(instance: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment for a kiosk subprocess: our instance folder, nothing from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["KIOSK_INSTANCE_PATH"] = str(instance)
    env["KIOSK_LOG_LEVEL"] = "WARNING"
    if database_url:
        env["KIOSK_DATABASE_URL"] = database_url
    # The test's own key store (new_key_store), beside its instance folder and shared by the
    # servers whose instance folders are side by side; on PostgreSQL one is made (the
    # instance key store is for SQLite only).
    keys = instance.parent / "keys"
    if database_url and not database_url.startswith("sqlite") and not keys.is_dir():
        new_key_store(keys)
    if (keys / "keys.sqlite3").is_file():
        env["KIOSK_KEY_STORE"] = f"sqlite:///{keys / 'keys.sqlite3'}"
        env["KIOSK_MASTER_KEY_FILE"] = str(keys / "master.key")
    return env


def new_key_store(folder: Path) -> dict[str, str]:
    """A key store of its own (a SQLite file outside the instance folder) and its master key
    file: the settings that name them (tests.support.kiosk_env passes them to subprocesses)."""
    url = f"sqlite:///{folder / 'keys.sqlite3'}"
    master_file = folder / "master.key"
    if master_file.is_file():  # made already for this test (kiosk_env, or a fixture)
        return {"KEY_STORE": url, "MASTER_KEY_FILE": str(master_file)}
    master, template = _empty_key_store()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copyfile(template, folder / "keys.sqlite3")
    master_file.write_text(master + "\n", encoding="ascii")
    master_file.chmod(0o600)
    return {"KEY_STORE": url, "MASTER_KEY_FILE": str(master_file)}


@functools.cache
def _empty_key_store() -> tuple[str, Path]:
    """A master key and an empty store made with it, once per test process: each test's store
    is a copy (making one costs ~15 ms, most of a small test's set-up; a copy ~0.2). The tests
    of one process share the master key, never a store's keys."""
    from kiosk.keystore import KeyStore, MasterKey

    master = MasterKey.generate_text()
    folder = Path(tempfile.mkdtemp(prefix="kiosk-test-keys-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "keys.sqlite3"
    KeyStore.open(f"sqlite:///{path}", MasterKey.from_text(master), create=True).close()
    # Closed, the store is this one file: nothing of it is left in a journal beside it.
    assert [found.name for found in path.parent.iterdir()] == [path.name]
    return master, path


def destroy_every_key(app: Any, site_id: int, now: datetime) -> None:
    """Destroy every key of the site, as the purge would once their days pass, while their
    rows stay (a crash between the purge's two steps, or a database restored from an older
    copy): everything sealed so far reads as erased."""
    app.extensions["kiosk.key_store"].destroy(
        site_id, through=now.date() + timedelta(days=3650), now=now
    )


def use_key_store(env: dict[str, str], engine: Any) -> Any:
    """Open the key store that ``env`` (kiosk_env) names for sessions of this test process on
    ``engine``, as the servers do: what they sealed, these sessions read."""
    from kiosk.key_setup import open_for_engine

    config = {
        "KEY_STORE": env.get("KIOSK_KEY_STORE"),
        "MASTER_KEY_FILE": env.get("KIOSK_MASTER_KEY_FILE"),
    }
    return open_for_engine(config, Path(env["KIOSK_INSTANCE_PATH"]), engine)


def run_kiosk(
    args: list[str], env: dict[str, str], *, kiosk: Path | None = None, cwd: Path | None = None
) -> str:
    """Run a kiosk command to completion and return its output; fail loudly on error."""
    result = subprocess.run(
        [str(kiosk or VENV_BIN / "kiosk"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kiosk {args}: {result.stdout}\n{result.stderr}"
    return result.stdout


def demo_pairing_code(demo_output: str) -> str:
    match = re.search(r"/pair\?code=(\w+)", demo_output)
    assert match, demo_output
    return match[1]


def demo_password(demo_output: str) -> str:
    match = re.search(r"Demo login: admin / (\S+)", demo_output)
    assert match, demo_output
    return match[1]


class ServerProcess:
    """A `kiosk serve` (gunicorn) this test started: its master's PID, and where it answers."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        port: int,
        kiosk: Path | None = None,
        cwd: Path | None = None,
        workers: int = 2,
    ) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = Path(env["KIOSK_INSTANCE_PATH"]) / "serve.log"
        self.log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [
                str(kiosk or VENV_BIN / "kiosk"),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            cwd=cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_until_answering(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"kiosk serve exited: {_read(str(self.log_path))}")
            if answers(f"{self.base}/static/css/kiosk.css", timeout=2):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"kiosk serve did not answer: {_read(str(self.log_path))}")
            time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        """The gunicorn workers the master runs now (its child processes)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def kill_hard(self) -> list[int]:
        """SIGKILL the master and each of its workers, as a power cut or the OOM killer would;
        return the PIDs killed once all of them are gone."""
        workers = self.worker_pids()
        assert workers, "the server has no workers to kill"
        killed = [self.pid, *workers]
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, f"workers {workers} outlived SIGKILL"
            time.sleep(0.02)
        self.log.close()
        return killed

    def stop(self) -> None:
        """Stop it as a service manager would (SIGTERM, then SIGKILL after 15 s)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def answers(url: str, *, timeout: float) -> bool:
    """Whether `url` answers within `timeout` seconds.

    Gunicorn's master accepts connections as soon as it listens, before a worker has booted: on
    a busy machine a connection can be accepted and then wait in silence (CI once waited past
    2 s). A read that times out means "not yet", as a refused connection does.
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310
            return True
    except (OSError, http.client.HTTPException):  # URLError and TimeoutError are OSErrors
        return False


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie waiting for its new parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def start_server(
    env: dict[str, str],
    *,
    port: int | None = None,
    kiosk: Path | None = None,
    cwd: Path | None = None,
    workers: int = 2,
) -> ServerProcess:
    """Start `kiosk serve` (on a free port unless given) and wait until it answers."""
    server = ServerProcess(env, port=port or free_port(), kiosk=kiosk, cwd=cwd, workers=workers)
    try:
        server.wait_until_answering()
    except BaseException:
        server.stop()
        raise
    return server


@contextmanager
def running_server(
    env: dict[str, str], *, kiosk: Path | None = None, cwd: Path | None = None, workers: int = 2
) -> Iterator[str]:
    """Start `kiosk serve` on a free port, wait until it answers, stop it afterwards."""
    server = start_server(env, kiosk=kiosk, cwd=cwd, workers=workers)
    try:
        yield server.base
    finally:
        server.stop()


_CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*"')


def without_csrf_tokens(page: str) -> str:
    """The page with its CSRF tokens' values blanked, for asserting that a short word is absent:
    a token is 90 random base64 characters, so "NDA" or "Ada" turns up in one page in a few
    thousand (CI failed once on "NDA")."""
    return _CSRF_VALUE.sub(r'\1"', page)


def _read(path: str) -> str:
    return Path(path).read_text(errors="replace")[-3000:]


class WebClient:
    """A minimal browser without JavaScript: keeps cookies, follows redirects."""

    def __init__(self, base: str, language: str | None = None) -> None:
        self.base = base
        self.language = language
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)  # noqa: S310
        if self.language:
            request.add_header("Accept-Language", self.language)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode()

    def submit(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        """GET a form page, then POST it with its CSRF token and these fields."""
        status, page = self.request(path)
        assert status == 200, page
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, page
        return self.request(path, {"csrf_token": token[1], **fields})


def unavailable(missing: str, remedy: str) -> NoReturn:
    """The one place that decides what a test does without a program, file or service it needs.

    Outside CI it skips, with ``missing`` and ``remedy`` as the visible reason (``pytest -rs``,
    and the summary line, show it): `make test` needs only Python and make. In CI (the CI
    environment variable is set) it fails: there everything must be installed, and a skip
    would hide a test that silently stopped running.
    """
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{missing}: CI must provide it ({remedy})")
    pytest.skip(f"{missing} ({remedy})")


def require_tool(name: str, package: str) -> str:
    """The path of a command-line tool of a Debian package (see :func:`unavailable`)."""
    import shutil

    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is missing", f"apt-get install {package}")
    return path


def require_module(name: str, requirement: str) -> Any:
    """An importable Python module of the dev extra (see :func:`unavailable`)."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        unavailable(f"Python module {name} is missing", f"pip install '{requirement}'")


REDIS_URL = "redis://127.0.0.1:6379"


def require_redis() -> str:
    """The local Redis's URL (see :func:`unavailable`)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is unreachable ({exc})", "apt-get install redis-server")
    finally:
        client.close()
    return REDIS_URL


def require_file(path: str, package: str) -> Path:
    """A file a Debian package installs (see :func:`unavailable`)."""
    if not Path(path).is_file():
        unavailable(f"{path} is missing", f"apt-get install {package}")
    return Path(path)


def pdf_to_image(pdf: bytes, tmp_path: Path, *, dpi: int = 200) -> Path:
    """Rasterise the first page of a PDF with poppler's pdftoppm; return the PNG's path."""
    pdftoppm = require_tool("pdftoppm", "poppler-utils")
    source = tmp_path / "render.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            pdftoppm,
            "-r",
            str(dpi),
            "-gray",
            "-png",
            "-singlefile",
            str(source),
            str(tmp_path / "page"),
        ],
        check=True,
        timeout=60,
    )
    return tmp_path / "page.png"


def decode_qr_codes(image: Path) -> list[str]:
    """Every QR code a real decoder (zxing-cpp) finds in the image."""
    import zxingcpp
    from PIL import Image

    with Image.open(image) as picture:
        results = zxingcpp.read_barcodes(picture, formats=zxingcpp.BarcodeFormat.QRCode)
    return [result.text for result in results]


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The text poppler's pdftotext extracts (proves the fonts map back to Unicode)."""
    pdftotext = require_tool("pdftotext", "poppler-utils")
    source = tmp_path / "text.pdf"
    source.write_bytes(pdf)
    return subprocess.run(
        [pdftotext, "-enc", "UTF-8", str(source), "-"],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout


def assert_security_headers(response: object, path: str) -> None:
    """The headers every response must carry (kiosk and dashboard pages, errors, files)."""
    headers = response.headers  # type: ignore[attr-defined]
    csp = headers.get("Content-Security-Policy", "")
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in csp.split(";") if part.strip()
    )
    if response.mimetype == "application/pdf":  # type: ignore[attr-defined]
        # No script at all; no default-src, which would blank Chrome's PDF viewer.
        assert directives.get("script-src") == "'none'", (path, csp)
        assert directives.get("object-src") == "'self'", (path, csp)
    else:
        assert directives.get("default-src") == "'self'", (path, csp)
        assert directives.get("script-src") == "'self'", (path, csp)
        assert directives.get("object-src") == "'none'", (path, csp)
    assert directives.get("base-uri") == "'none'", (path, csp)
    assert "unsafe-inline" not in csp, (path, csp)
    assert "unsafe-eval" not in csp, (path, csp)
    # Nothing frames a page, except the kiosk's confirmation and the dashboard's reprint
    # button framing a badge PDF to print it.
    badge = (
        re.fullmatch(r"/badge\.pdf|/dashboard/visits/\d+/badge\.pdf", path) is not None
        and response.status_code == 200  # type: ignore[attr-defined]
    )
    assert directives.get("frame-ancestors") == ("'self'" if badge else "'none'"), (path, csp)
    assert headers.get("X-Frame-Options") == ("SAMEORIGIN" if badge else "DENY"), path
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert headers.get("Referrer-Policy") == "no-referrer", path
    logo = path == "/site-logo.png" and response.status_code == 200  # type: ignore[attr-defined]
    if not path.startswith("/static/") and not logo:
        assert headers.get("Cache-Control") == "no-store", path
    for cookie in headers.getlist("Set-Cookie"):
        flags = [flag.strip().lower() for flag in cookie.split(";")]
        if "max-age=0" in flags:
            continue  # a deletion (Flask-Login clears a remember cookie we never set)
        assert "httponly" in flags, (path, cookie)
        assert "samesite=lax" in flags or "samesite=strict" in flags, (path, cookie)


def named(session: Any, model: Any, name: str, *, none: bool = False) -> Any:
    """The one row of ``model`` (Visit or Invitation) with this visitor name.

    Names are sealed (kiosk.sealing): the database cannot compare them, so the rows are
    decrypted and compared here."""
    from sqlalchemy import select

    found = [row for row in session.scalars(select(model)) if row.visitor_name == name]
    if none and not found:
        return None
    assert len(found) == 1, f"{len(found)} rows named {name!r}"
    return found[0]


def indexes_name(session: Any, visit: Any, name: str) -> bool:
    """Whether the blind index (kiosk.blind_index) holds exactly the tokens of ``name`` for
    ``visit``, under the key that seals its name."""
    from sqlalchemy import select

    from kiosk.blind_index import name_tokens, visit_key
    from kiosk.models import VisitNameToken

    stored = set(
        session.scalars(select(VisitNameToken.token).where(VisitNameToken.visit_id == visit.id))
    )
    key = visit_key(session, visit)
    return key is not None and bool(stored) and stored == name_tokens(name, key)


def bounds_cover_the_index(session: Any) -> bool:
    """Every index row is under a recorded bound (kiosk.models.NameTokenDay) no earlier than
    its visit's check-in: what lets a search stop before reading every key."""
    from sqlalchemy import func, select

    from kiosk.models import NameTokenDay, VisitNameToken

    day = func.substr(VisitNameToken.token, 1, 2)
    newest = session.execute(
        select(VisitNameToken.site_id, day, func.max(VisitNameToken.checked_in_at)).group_by(
            VisitNameToken.site_id, day
        )
    ).all()
    bounds = {
        (row.site_id, bytes(row.day)): row.checked_in_until
        for row in session.scalars(select(NameTokenDay))
    }
    return all(
        (site_id, bytes(token_day_)) in bounds
        and bounds[(site_id, bytes(token_day_))] >= as_utc(checked_in)
        for site_id, token_day_, checked_in in newest
    )


def as_utc(moment: Any) -> datetime:
    # func.max over SQLite text comes back as text in the column's format.
    if isinstance(moment, str):
        return datetime.fromisoformat(moment).replace(tzinfo=UTC)
    return moment.astimezone(UTC)
