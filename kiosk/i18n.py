"""Languages and catalogs: the kiosk's language picker and compiling .po into .mo."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import get_locale

from kiosk.models import Site
from kiosk.paths import resource_dir


def language_choices(app: Flask) -> list[tuple[str, str]]:
    """Each shipped language with its name in that language, for the picker."""
    choices = []
    for code in app.config["LANGUAGES"]:
        name = Locale.parse(code).get_display_name(code) or code
        choices.append((code, name[:1].upper() + name[1:]))
    return choices


def current_locale() -> str:
    """The language of the current request, for ``<html lang>`` and the picker."""
    return str(get_locale())


def site_time(moment: datetime | None, site: Site) -> str:
    """A stored UTC time as the site's clock shows it, in the reader's language."""
    if moment is None:
        return ""
    return format_datetime(
        moment, "short", tzinfo=ZoneInfo(site.timezone), locale=get_locale() or "en"
    )


def init_app(app: Flask) -> None:
    """Make the language helpers available to templates."""
    app.add_template_global(current_locale)
    app.add_template_filter(site_time)
    app.context_processor(lambda: {"language_choices": language_choices(app)})


def compile_catalogs(translations: Path | None = None) -> list[Path]:
    """Compile every ``messages.po`` beside itself into ``messages.mo``; return the .mo paths."""
    root = translations or resource_dir("translations")
    written = []
    for po_path in sorted(root.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        written.append(mo_path)
    return written
