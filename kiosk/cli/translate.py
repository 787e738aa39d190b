"""``kiosk translate``: the translation catalogs."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from kiosk.i18n import compile_catalogs


@click.group(cls=AppGroup)
def translate() -> None:
    """Translation catalogs."""


@translate.command("compile")
def translate_compile() -> None:
    """Compile the .po catalogs into .mo files."""
    for path in compile_catalogs():
        click.echo(f"compiled {path}")
