"""Configuration precedence, the generated secret key and the instance folder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kiosk import create_app
from kiosk.db import get_database


def make(tmp_path: Path, **overrides: object):
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), **overrides})
    get_database(app).engine.dispose()
    return app


def test_precedence_defaults_then_instance_file_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    instance = tmp_path / "instance"
    instance.mkdir()
    assert make(tmp_path).config["CONFIRMATION_SECONDS"] == 15  # built-in default

    (instance / "kiosk.toml").write_text('CONFIRMATION_SECONDS = 20\nSITE = "From File"\n')
    app = make(tmp_path)
    assert (app.config["CONFIRMATION_SECONDS"], app.config["SITE"]) == (20, "From File")

    monkeypatch.setenv("KIOSK_CONFIRMATION_SECONDS", "25")
    app = make(tmp_path)
    assert (app.config["CONFIRMATION_SECONDS"], app.config["SITE"]) == (25, "From File")

    # Explicit configuration (tests) wins over everything.
    assert make(tmp_path, CONFIRMATION_SECONDS=30).config["CONFIRMATION_SECONDS"] == 30


def test_secret_key_is_generated_private_and_kept(tmp_path: Path):
    first = make(tmp_path).config["SECRET_KEY"]
    key_file = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 64
    assert make(tmp_path).config["SECRET_KEY"] == first


def test_configured_secret_key_is_used_and_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("KIOSK_SECRET_KEY", "from-the-environment")
    assert make(tmp_path).config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_instance_path_from_environment_holds_database_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("KIOSK_INSTANCE_PATH", str(elsewhere))
    app = create_app()
    get_database(app).engine.dispose()
    assert app.instance_path == str(elsewhere)
    assert app.config["DATABASE_URL"] == f"sqlite:///{elsewhere / 'kiosk.sqlite3'}"
    assert (elsewhere / "secret_key").exists()


def test_database_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KIOSK_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    assert make(tmp_path).config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'other.db'}"


def test_every_setting_is_documented():
    from kiosk.config import DEFAULTS

    docs = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [key for key in DEFAULTS if f"`{key}`" not in docs]
    assert not missing, f"settings not documented in docs/configuration.md: {missing}"


def test_instance_folder_and_sqlite_files_are_private(tmp_path: Path):
    """The database holds visitors' data like the secret key: only the owner reads them."""
    import os

    from sqlalchemy import text

    saved = os.umask(0o022)  # the usual umask, which would give 0755 folders and 0644 files
    try:
        app = make(tmp_path)
        with get_database(app).engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x TEXT)"))
            connection.execute(text("INSERT INTO t VALUES ('x')"))
            instance = tmp_path / "instance"
            database = instance / "kiosk.sqlite3"
            assert stat.S_IMODE(instance.stat().st_mode) == 0o700
            assert stat.S_IMODE(database.stat().st_mode) == 0o600
            for suffix in ("-wal", "-shm"):  # SQLite gives these the database file's mode
                companion = instance / f"kiosk.sqlite3{suffix}"
                assert stat.S_IMODE(companion.stat().st_mode) == 0o600, suffix
        get_database(app).engine.dispose()
    finally:
        os.umask(saved)
