"""Helpers for tests that run the real server: ports, processes and a cookie-keeping client."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


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
    return env


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


@contextmanager
def running_server(
    env: dict[str, str], *, kiosk: Path | None = None, cwd: Path | None = None, workers: int = 2
) -> Iterator[str]:
    """Start `kiosk serve` on a free port, wait until it answers, stop it afterwards."""
    port = free_port()
    log = (Path(env["KIOSK_INSTANCE_PATH"]) / "serve.log").open("w")
    process = subprocess.Popen(
        [str(kiosk or VENV_BIN / "kiosk"), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"kiosk serve exited: {_read(log.name)}")
            try:
                with urllib.request.urlopen(f"{base}/static/css/kiosk.css", timeout=2):  # noqa: S310
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise AssertionError(f"kiosk serve did not answer: {_read(log.name)}") from None
                time.sleep(0.1)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


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


def require_tool(name: str, package: str) -> str:
    """The path of a command-line tool; in CI a missing one fails the test, elsewhere skips it."""
    import shutil

    import pytest

    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: .ci/run should have installed Debian's {package}")
        pytest.skip(f"needs {name} (apt-get install {package})")
    return path


REDIS_URL = "redis://127.0.0.1:6379"


def require_redis() -> str:
    """The local Redis's URL; in CI an unreachable Redis fails the test, elsewhere skips it."""
    import pytest
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable ({exc}); .ci/run should start it")
        pytest.skip(f"needs Redis at {REDIS_URL} (apt-get install redis-server)")
    finally:
        client.close()
    return REDIS_URL


def require_file(path: str, package: str) -> Path:
    """A file a Debian package installs; in CI a missing one fails the test, elsewhere skips it."""
    import pytest

    if not Path(path).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: .ci/run should have installed Debian's {package}")
        pytest.skip(f"needs {path} (apt-get install {package})")
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
    # Nothing frames a page, except the kiosk's own confirmation framing its badge PDF.
    badge = path == "/badge.pdf" and response.status_code == 200  # type: ignore[attr-defined]
    assert directives.get("frame-ancestors") == ("'self'" if badge else "'none'"), (path, csp)
    assert headers.get("X-Frame-Options") == ("SAMEORIGIN" if badge else "DENY"), path
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert headers.get("Referrer-Policy") == "no-referrer", path
    if not path.startswith("/static/"):
        assert headers.get("Cache-Control") == "no-store", path
    for cookie in headers.getlist("Set-Cookie"):
        flags = [flag.strip().lower() for flag in cookie.split(";")]
        if "max-age=0" in flags:
            continue  # a deletion (Flask-Login clears a remember cookie we never set)
        assert "httponly" in flags, (path, cookie)
        assert "samesite=lax" in flags or "samesite=strict" in flags, (path, cookie)
