"""The kiosk command: help for every command, create-user, demo."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import click
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.cli import main
from kiosk.config import LANGUAGES
from kiosk.models import AuditEvent, Host, KioskDevice, NoticeVersion, Site, StaffUser
from kiosk.services.notices import check_notice_text


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in group.commands.items():
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths.extend(all_commands(command, (*prefix, name)))
    return paths


EXPECTED = {
    ("serve",),
    ("db", "upgrade"),
    ("demo",),
    ("create-user",),
    ("device", "add"),
    ("purge",),
    ("keys", "check"),
    ("keys", "init"),
}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_command_has_help(runner: FlaskCliRunner):
    commands = all_commands(main)
    assert set(commands) >= EXPECTED
    for path in commands:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_create_user_reads_password_from_stdin(
    runner: FlaskCliRunner, make_site: Any, session: Session, client: FlaskClient
):
    make_site(name="Lobby")
    result = runner.invoke(
        main,
        ["create-user", "rita", "--role", "reception", "--site", "Lobby"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = session.scalars(select(StaffUser)).one()
    assert (user.username, user.role, [s.name for s in user.sites]) == (
        "rita",
        "reception",
        ["Lobby"],
    )
    assert user.password_hash.startswith("$argon2id$")
    assert "a long enough password" not in user.password_hash
    audit = session.scalars(select(AuditEvent)).one()
    assert (audit.actor, audit.action, audit.target_id) == (
        "cli",
        "create_staff_user",
        str(user.id),
    )
    response = client.post(
        "/dashboard/login", data={"username": "rita", "password": "a long enough password"}
    )
    assert response.status_code == 302


def test_create_user_prompts_twice_on_a_terminal(
    runner: FlaskCliRunner, session: Session, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("kiosk.cli.users._stdin_is_terminal", lambda: True)
    result = runner.invoke(
        main,
        ["create-user", "tess", "--role", "admin"],
        input="first password\nother password\nsecond password\nsecond password\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") >= 2
    assert "do not match" in result.output
    assert session.scalar(select(StaffUser.username)) == "tess"


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--role", "admin"], "short\n", "at least 10"),
        (["--role", "reception", "--site", "Nowhere"], "long enough pw\n", "no site named"),
    ],
)
def test_create_user_refusals(
    runner: FlaskCliRunner, session: Session, args: list[str], password: str, message: str
):
    result = runner.invoke(main, ["create-user", "ulla", *args], input=password)
    assert result.exit_code == 1
    assert message in result.output
    assert session.scalar(select(func.count()).select_from(StaffUser)) == 0


def test_create_user_refuses_a_taken_name(runner: FlaskCliRunner, make_staff: Any):
    make_staff(username="vera")
    result = runner.invoke(
        main, ["create-user", "VERA", "--role", "admin"], input="long enough pw\n"
    )
    assert result.exit_code == 1
    assert "exists already" in result.output


def test_create_user_rejects_unknown_role(runner: FlaskCliRunner):
    result = runner.invoke(main, ["create-user", "x", "--role", "root"], input="long enough pw\n")
    assert result.exit_code == 2


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_demo_is_idempotent_and_prints_the_password_once(
    runner: FlaskCliRunner, session: Session, client: FlaskClient
):
    first = runner.invoke(main, ["demo"])
    assert first.exit_code == 0, first.output
    line = next(line for line in first.output.splitlines() if line.startswith("Demo login:"))
    password = line.split(" / ")[1].strip()
    models = (Site, Host, NoticeVersion, StaffUser, KioskDevice)
    counts = [count(session, m) for m in models]
    assert counts == [1, 5, 6, 1, 1]  # a notice in each of the six languages
    pairing = re.search(r"/pair\?code=(\w+)", first.output)
    assert pairing

    second = runner.invoke(main, ["demo"])
    assert second.exit_code == 0
    assert password not in second.output
    assert [count(session, m) for m in models] == counts

    assert client.post("/pair", data={"code": pairing[1]}).status_code == 200  # replaced
    third = runner.invoke(main, ["demo"])
    code = re.search(r"/pair\?code=(\w+)", third.output)
    assert code
    assert client.post("/pair", data={"code": code[1]}).headers["Location"] == "/"
    assert "is paired" in runner.invoke(main, ["demo"]).output

    response = client.post("/dashboard/login", data={"username": "admin", "password": password})
    assert response.status_code == 302
    site = session.scalars(select(Site)).one()
    assert site.dpo_contact
    assert site.controller_name
    assert "IMY" in site.authority_name
    assert {n.locale for n in session.scalars(select(NoticeVersion))} == set(LANGUAGES)
    # Each its own language's text, its placeholders known.
    texts = [n.text for n in session.scalars(select(NoticeVersion))]
    assert len(set(texts)) == len(LANGUAGES)
    for text in texts:
        check_notice_text(text)
        assert "{retention_days}" in text
    assert "data-without-notice" not in client.get(f"/dashboard/admin/sites/{site.id}/notices").text


def test_demo_reset_password(runner: FlaskCliRunner, client: FlaskClient):
    runner.invoke(main, ["demo"])
    result = runner.invoke(main, ["demo", "--reset-password"])
    new_password = result.output.split("admin / ")[1].split()[0]
    response = client.post("/dashboard/login", data={"username": "admin", "password": new_password})
    assert response.status_code == 302


def test_keys_check_opens_the_instance_key_store_when_no_key_store_is_set(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
):
    """`make run`'s SQLite instance keeps its keys in <instance>/keys: `kiosk keys check` checks
    that store (it said "KEY_STORE is not set"), and refuses it when it is gone."""
    import shutil

    from kiosk.db import get_database
    from kiosk.key_setup import open_key_store

    if get_database(app).engine.dialect.name != "sqlite":
        pytest.skip("the instance key store is for SQLite only")
    instance = tmp_path / "instance"
    app.config.update(KEY_STORE=None, MASTER_KEY_FILE=None, INSTANCE_KEY_STORE=True)
    app.instance_path = str(instance)
    missing = runner.invoke(main, ["keys", "check"])
    assert missing.exit_code != 0
    assert "key_store_missing" in missing.output  # never made by the check
    assert not (instance / "keys").exists()
    open_key_store(app.config, instance, get_database(app).engine).close()  # as the app does
    checked = runner.invoke(main, ["keys", "check"])
    assert checked.exit_code == 0, checked.output
    assert "key store ok: 0 live keys, 0 destroyed" in checked.output
    shutil.rmtree(instance / "keys")
    gone = runner.invoke(main, ["keys", "check"])
    assert gone.exit_code != 0
    assert "key_store_missing" in gone.output


def test_keys_check_opens_the_key_store_and_refuses_a_wrong_master_key(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
):
    made = runner.invoke(main, ["keys", "new-master-key"])
    assert made.exit_code == 0, made.output
    master = made.output.strip()
    assert len(base64.b64decode(master)) == 32
    # Not the test's own store, nor an instance key store.
    app.config.update(KEY_STORE=None, MASTER_KEY_FILE=None, INSTANCE_KEY_STORE=False)

    unset = runner.invoke(main, ["keys", "check"])
    assert unset.exit_code != 0
    assert "KEY_STORE is not set" in unset.output

    app.config.update(KEY_STORE=f"sqlite:///{tmp_path / 'other-keys' / 'keys.sqlite3'}")
    no_master = runner.invoke(main, ["keys", "check"])
    assert no_master.exit_code != 0
    assert "master_key_not_configured" in no_master.output

    app.config.update(MASTER_KEY=master)
    missing = runner.invoke(main, ["keys", "check"])
    assert missing.exit_code != 0
    assert "key_store_missing" in missing.output  # check never makes one: it would hide a loss
    made_store = runner.invoke(main, ["keys", "init"])
    assert made_store.exit_code == 0, made_store.output
    checked = runner.invoke(main, ["keys", "check"])
    assert checked.exit_code == 0, checked.output
    assert "key store ok: 0 live keys, 0 destroyed" in checked.output

    app.config.update(MASTER_KEY=runner.invoke(main, ["keys", "new-master-key"]).output.strip())
    wrong = runner.invoke(main, ["keys", "check"])
    assert wrong.exit_code != 0
    assert "wrong_master_key" in wrong.output
    assert master not in wrong.output
