"""`pip install .` gives a working app: the built wheel carries templates, static files,
compiled catalogs and migrations, and an app installed from it serves in Swedish."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.support import WebClient, demo_pairing_code, kiosk_env, run_kiosk, running_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def build_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder the wheel's build is given (TMPDIR)."""
    return tmp_path_factory.mktemp("build-temp")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, build_temp: Path) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: hatchling and babel come from the dev environment, not the network.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=300,
        capture_output=True,
        env={**os.environ, "TMPDIR": str(build_temp)},
    )
    (built,) = out.glob("kiosk-*.whl")
    return built


def test_the_build_leaves_nothing_in_the_temporary_folder(wheel: Path, build_temp: Path):
    """The catalogs compiled for the wheel are removed once it is built."""
    assert wheel.is_file()
    assert list(build_temp.iterdir()) == []


def test_wheel_contains_everything_the_app_reads(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "kiosk/templates/base.html",
        "kiosk/templates/registration/check_in.html",
        "kiosk/templates/errors/error.html",
        "kiosk/static/css/kiosk.css",
        "kiosk/migrations/env.py",
        "kiosk/migrations/script.py.mako",
        "kiosk/migrations/versions/0001_initial_schema.py",
        "kiosk/migrations/versions/0004_badges.py",
        "kiosk/templates/registration/_badge_print.html",
        "kiosk/static/js/badge-print.js",
        "kiosk/templates/emails/host_arrival.txt",
        "kiosk/templates/emails/invitation.txt",
        "kiosk/templates/emails/_footer.txt",
        "kiosk/templates/webhooks/arrival.txt",
        "kiosk/cli/__init__.py",
        "kiosk/notifications/sender.py",
    }
    expected |= {
        f"kiosk/translations/{lang}/LC_MESSAGES/messages.mo"
        for lang in ("sv", "nb", "da", "fi", "de")
    }
    assert expected <= names, sorted(expected - names)


def test_installed_wheel_serves_translated_kiosk(wheel: Path, tmp_path: Path):
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    site_packages = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    # pip installs the wheel for real (console script included); its dependencies are borrowed
    # from this environment through a .pth path entry, which comes after the venv's own
    # site-packages and does not bring our editable checkout along.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (site_packages / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    kiosk_script = target / "bin" / "kiosk"
    assert kiosk_script.exists()
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()

    location = subprocess.check_output(
        [str(python), "-c", "import kiosk; print(kiosk.__file__)"], cwd=elsewhere, text=True
    )
    assert location.startswith(str(site_packages)), location

    env = kiosk_env(tmp_path / "instance")
    run_kiosk(["db", "upgrade"], env, kiosk=kiosk_script, cwd=elsewhere)
    demo = run_kiosk(["demo"], env, kiosk=kiosk_script, cwd=elsewhere)
    with (ROOT / "translations/sv/LC_MESSAGES/messages.po").open("rb") as po:
        swedish = read_po(po)["Your name"].string
    with running_server(env, kiosk=kiosk_script, cwd=elsewhere) as base:
        client = WebClient(base)
        client.submit("/pair", {"code": demo_pairing_code(demo)})
        status, page = client.request("/check-in")
        assert status == 200
        assert swedish in page  # compiled catalogs were found
        assert client.request("/static/css/kiosk.css")[0] == 200
        assert client.request("/dashboard/login")[0] == 200
