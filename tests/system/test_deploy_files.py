"""The deployment files in deploy/ (systemd units, nginx, the settings example) are read as the
programs that use them read them, and checked against the real `kiosk` command, settings and
proxy handling, so the documentation cannot drift from the code unnoticed."""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from pathlib import Path
from typing import Any

import click
import pytest
from flask import Flask

from kiosk import create_app
from kiosk.cli import main
from kiosk.config import DEFAULTS
from kiosk.privacy.schedule import purge_time
from tests.conftest import STAFF_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
NGINX_CONF = DEPLOY / "nginx" / "kiosk.conf"
ENV_EXAMPLE = DEPLOY / "kiosk.env.example"
ENV_FILE = "/etc/kiosk/kiosk.env"
INSTANCE = "/var/lib/kiosk"

Unit = dict[str, dict[str, list[str]]]


def read_unit(path: Path) -> Unit:
    """A systemd unit: section -> key -> every value given (keys may repeat)."""
    unit: Unit = defaultdict(lambda: defaultdict(list))
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, separator, value = line.partition("=")
        assert separator, f"{path.name}: not a unit line: {raw!r}"
        assert section, f"{path.name}: a setting outside any [section]: {raw!r}"
        unit[section][key.strip()].append(value.strip())
    return unit


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them."""
    values = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        assert separator, f"not KEY=VALUE: {raw!r}"
        values[key.strip()] = value.strip().strip('"')
    return values


def kiosk_command(exec_line: str) -> tuple[list[str], dict[str, Any]]:
    """An ExecStart= line's kiosk (sub)command names and options, parsed by the real CLI;
    an unknown command or option, or a value of the wrong type, fails here."""
    argv = shlex.split(exec_line.lstrip("-@:+!"))
    assert Path(argv[0]).name == "kiosk", exec_line
    assert Path(argv[0]).is_absolute(), "systemd needs an absolute path"
    group: click.Group = main
    context = click.Context(main, info_name="kiosk")
    names: list[str] = []
    remaining = argv[1:]
    while True:
        assert remaining, f"{exec_line}: no kiosk command"
        name, *remaining = remaining
        # click's own lookup: kiosk's commands only (Flask's would load an app to look further).
        command = click.Group.get_command(group, context, name)
        assert command is not None, f"no such kiosk command: {' '.join([*names, name])}"
        names.append(name)
        if isinstance(command, click.Group):
            group = command
            context = click.Context(command, info_name=name, parent=context)
            continue
        return names, command.make_context(name, remaining, parent=context).params


def exec_lines(unit: Unit) -> list[str]:
    service = unit["Service"]
    return [line for key in service if key.startswith("ExecStart") for line in service[key]]


def nginx_directives(name: str) -> list[list[str]]:
    text = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text())
    return [
        shlex.split(match[1]) for match in re.finditer(rf"(?:^|[;{{}}\s]){name}\s+([^;]*);", text)
    ]


def test_every_unit_runs_a_real_kiosk_command():
    units = sorted(SYSTEMD.glob("*.service"))
    assert {path.name for path in units} >= {"kiosk.service", "kiosk-purge.service"}
    for path in units:
        unit = read_unit(path)
        lines = exec_lines(unit)
        assert lines, f"{path.name} starts nothing"
        for line in lines:
            kiosk_command(line)
        service = unit["Service"]
        # Every command sees the same settings and instance folder as the servers.
        assert service["EnvironmentFile"] == [ENV_FILE], path.name
        assert f"KIOSK_INSTANCE_PATH={INSTANCE}" in service["Environment"], path.name
        assert service["StateDirectory"] == [Path(INSTANCE).name], path.name
        assert service["User"] == ["kiosk"], path.name


def test_the_server_unit_serves_where_nginx_sends_requests():
    (line,) = exec_lines(read_unit(SYSTEMD / "kiosk.service"))
    names, options = kiosk_command(line)
    assert names == ["serve"]
    upstreams = [" ".join(words) for words in nginx_directives("server") if words]
    assert f"{options['host']}:{options['port']}" in upstreams


def test_the_purge_timer_starts_a_oneshot_purge():
    timers = sorted(SYSTEMD.glob("*.timer"))
    assert [path.name for path in timers] == ["kiosk-purge.timer"]
    timer = read_unit(timers[0])
    assert timer["Timer"]["OnCalendar"]
    assert timer["Timer"]["Persistent"] == ["true"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]
    # A timer starts the service of its own name unless Unit= says otherwise.
    service_name = timer["Timer"].get("Unit", ["kiosk-purge.service"])[0]
    service = read_unit(SYSTEMD / service_name)
    assert service["Service"]["Type"] == ["oneshot"]
    (line,) = exec_lines(service)
    names, options = kiosk_command(line)
    assert names == ["purge"]
    assert options == {"dry_run": False, "site_names": ()}  # every site, for real


def test_the_settings_example_holds_real_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    values = read_env_file(ENV_EXAMPLE)
    unknown = [
        key
        for key in values
        if not key.startswith("KIOSK_") or key.removeprefix("KIOSK_") not in DEFAULTS
    ]
    assert unknown == []
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    config = app.config
    assert config["TRUSTED_PROXIES"] == 1
    assert config["SESSION_COOKIE_SECURE"] is True
    # The example runs the purge from the timer, so the servers must not schedule it.
    assert purge_time(config) is None
    assert config["PURGE_ON_START"] is False
    assert config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    assert config["DATABASE_URL"].startswith("postgresql+psycopg://")
    for key in ("DATABASE_POOL_SIZE", "DATABASE_MAX_OVERFLOW", "WORKERS"):
        assert isinstance(config[key], int), key


@pytest.fixture
def proxied_app(app_config: dict[str, Any]) -> Flask:
    settings = read_env_file(ENV_EXAMPLE)
    return create_app(
        {
            **app_config,
            "TRUSTED_PROXIES": int(settings["KIOSK_TRUSTED_PROXIES"]),
            "LOGIN_LIMIT_PER_IP": "2 per 10 minutes",
        }
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_nginx_passes_what_trusted_proxies_believes(proxied_app: Flask, make_staff: Any):
    headers = {words[0]: words[1] for words in nginx_directives("proxy_set_header")}
    assert {"Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"} <= set(headers)

    def through_nginx(client_address: str) -> dict[str, str]:
        """The headers nginx sends for a client that sent none of its own, over HTTPS."""
        variables = {
            "$proxy_add_x_forwarded_for": client_address,
            "$remote_addr": client_address,
            "$scheme": "https",
            "$host": "visitors.example.com",
        }
        return {name: variables.get(value, value) for name, value in headers.items() if value}

    # Requests reach kiosk from nginx's address; the session cookie is Secure because the
    # visitor's connection was HTTPS.
    make_staff(username="anna")
    login = proxied_app.test_client().post(
        "/dashboard/login",
        data={"username": "anna", "password": STAFF_PASSWORD},
        headers=through_nginx("203.0.113.7"),
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert login.status_code == 302
    assert "; Secure" in login.headers["Set-Cookie"]

    # Per-address login throttling counts each visitor's address, not nginx's: one address
    # running into the limit leaves the next one alone.
    def failed_login(address: str, username: str) -> int:
        response = proxied_app.test_client().post(
            "/dashboard/login",
            data={"username": username, "password": "wrong password"},
            headers=through_nginx(address),
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        return response.status_code

    assert [failed_login("203.0.113.7", f"user{n}") for n in range(3)] == [200, 200, 429]
    assert failed_login("198.51.100.4", "user9") == 200


def test_deployment_docs_point_at_every_deployment_file():
    deploying = (ROOT / "docs" / "deploying.md").read_text()
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            assert str(path.relative_to(ROOT)) in deploying, path
