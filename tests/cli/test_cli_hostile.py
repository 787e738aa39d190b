"""Every ``kiosk`` command given hostile values in its arguments and options: a clear message
and an exit code, never a traceback.

Each value goes into every argument of a command at once, and into each of its options in
turn. The commands run in a folder of the test's own, since a name like " " or "Ö" is a file
name an output option may rightly write. Left out: ``serve``, ``notify run`` and Flask's
``run`` and ``shell`` (they serve, or wait for work or input) and ``db revision`` (it writes a
migration into the source tree). Found this way: an unknown or empty revision for ``db
upgrade`` / ``downgrade`` and a database behind its migrations were Alembic tracebacks; a NUL
in ``--output`` or ``--logo``, or a name too long for the file system, was a ValueError or
OSError traceback; an id beyond 64 bits overflowed; and on PostgreSQL a NUL in a name was the
driver's DataError.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from flask.testing import FlaskCliRunner

from kiosk.cli import main

VALUES = ["", " ", "\x00", "\u2028", "-1", str(2**63), "9" * 25, "x" * 5000, "Ö", "--", "a\nb"]
LEFT_OUT = {("serve",), ("run",), ("shell",), ("notify", "run"), ("db", "revision")}
#: Flask-Limiter's own commands, not kiosk's.
NOT_OURS = {"limiter"}


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[Any]:
    for name, command in list(group.commands.items()):
        if name in NOT_OURS:
            continue
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        elif (*prefix, name) not in LEFT_OUT:
            yield (*prefix, name), command


def invocations(path: tuple[str, ...], command: click.Command, value: str) -> Iterator[list[str]]:
    """The value in every argument (and required option), then also in each other option."""
    base = list(path)
    for param in command.params:
        if isinstance(param, click.Argument):
            base.append(value)
        elif isinstance(param, click.Option) and param.required and not param.is_flag:
            base += [param.opts[0], value]
    yield base
    for param in command.params:
        if (
            isinstance(param, click.Option)
            and not (param.required or param.is_flag)
            and param.opts[0] != "--help"
        ):
            yield [*base, param.opts[0], value]


def test_every_command_meets_every_hostile_value(
    runner: FlaskCliRunner, make_site: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    make_site(name="Site A")
    monkeypatch.chdir(tmp_path)
    found = list(commands(main))
    assert len(found) >= 18, [path for path, _ in found]
    failed, count = [], 0
    for path, command in found:
        for value in VALUES:
            for args in invocations(path, command, value):
                result = runner.invoke(main, args, input="n\n" * 3)
                count += 1
                if result.exception is not None and not isinstance(result.exception, SystemExit):
                    failed.append((args[:5], type(result.exception).__name__))
    assert not failed, failed[:20]
    assert count >= 300
    # Nothing was written outside the test's folder (every output went where it was named).
    assert all(Path(entry).resolve().is_relative_to(tmp_path) for entry in tmp_path.iterdir())
