"""Languages and catalogs: the kiosk's language picker and compiling .po into .mo."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError, localedata, support
from babel.core import get_global
from babel.dates import get_date_format, get_datetime_format, get_time_format, parse_pattern
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import format_number, get_locale, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from wtforms.i18n import messages_path as wtforms_messages_path

from kiosk.models import Site
from kiosk.paths import resource_dir
from kiosk.services.first_layer import first_layer
from kiosk.services.groups import with_groups
from kiosk.services.visitor_types import type_name


def language_choices(app: Flask) -> list[tuple[str, str]]:
    """Each shipped language with its name in that language, for the picker."""
    return list(_language_choices(tuple(app.config["LANGUAGES"])))


@lru_cache(maxsize=8)
def _language_choices(codes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    # Every kiosk page shows the picker: the names are looked up once per process.
    choices = []
    for code in codes:
        name = Locale.parse(code).get_display_name(code) or code
        choices.append((code, name[:1].upper() + name[1:]))
    return tuple(choices)


def shipped_languages() -> list[str]:
    """The languages this installation ships (LANGUAGES), in their configured order."""
    shipped: list[str] = current_app.config["LANGUAGES"]
    return shipped


def language_name(code: str) -> str:
    """A language's name in the current request's language ("Englisch" for "en" in German)."""
    try:
        name = Locale.parse(code).get_display_name(str(get_locale() or "en")) or code
    except (ValueError, TypeError):
        return code
    return name[:1].upper() + name[1:]


def current_locale() -> str:
    """The language of the current request, for ``<html lang>`` and the picker."""
    return str(get_locale())


def site_time(moment: datetime | None, site: Site) -> str:
    """A stored UTC time as the site's clock shows it, in the reader's language."""
    if moment is None:
        return ""
    return site_clock(site).format(moment)


def site_clock(site: Site) -> SiteClock:
    """The site's clock in the reader's language, for a list that shows many times:
    ``{% set clock = site_clock(site) %}`` once, then ``moment|on_clock(clock)`` a row."""
    return _short_clock(site.timezone, reading_locale(site.timezone))


def reading_locale(timezone: str) -> str:
    """The locale a staff page writes its times and dates in: the page's language, written
    as the reader's region writes it when their browser names one for that language (en-GB,
    de-AT), else as the country of the site's time zone does when Babel knows that pair
    (English at a Stockholm site: en_SE), else as the language alone does.

    Babel's bare "en" is American English: 12/7/26 is the 12th of July to most of those who
    read English at a European reception."""
    language = str(get_locale() or "en")
    header = request.headers.get("Accept-Language", "") if has_request_context() else ""
    return _reading_locale(language, header, timezone)


@lru_cache(maxsize=256)
def _reading_locale(language: str, accept_language: str, timezone: str) -> str:
    for asked, _quality in parse_accept_header(accept_language, LanguageAccept):
        try:
            locale = Locale.parse(asked.replace("_", "-"), sep="-")
        except (ValueError, TypeError, UnknownLocaleError):
            continue  # not a language tag Babel knows: the next one
        regional = f"{language}_{locale.territory}"
        if locale.language == language and locale.territory and localedata.exists(regional):
            return regional
    territory = get_global("zone_territories").get(timezone)
    regional = f"{language}_{territory}"
    if territory and territory != "ZZ" and localedata.exists(regional):
        return regional
    return language


class SiteClock:
    """Babel's ``format_datetime(moment, "short", tzinfo, locale)`` with the locale's patterns
    looked up and parsed once, and each minute's text kept: long lists show a time on every
    row, and the live on-site list shows the same ones every few seconds (bench/dashboard.py).
    """

    #: Minutes kept per zone and language: about a day's. With at most 32 zone and language
    #: pairs kept, that bounds the cache to a few megabytes per worker.
    KEPT = 1_500

    def __init__(self, timezone: str, locale: str) -> None:
        self.zone = ZoneInfo(timezone)
        self.locale = Locale.parse(locale)
        # The steps of babel.dates.format_datetime for the named "short" format.
        self.layout = str(get_datetime_format("short", locale=self.locale)).replace("'", "")
        self.time = parse_pattern(get_time_format("short", locale=self.locale))
        self.date = parse_pattern(get_date_format("short", locale=self.locale))
        # Only a text without seconds (s), fractions (S) or milliseconds (A) is the same for
        # a whole minute; a quoted letter only turns the cache off.
        self.by_minute = not any(field in self.time.pattern for field in "sSA")
        self.minutes: dict[datetime, str] = {}

    def format(self, moment: datetime) -> str:
        local = moment.astimezone(self.zone)
        if not self.by_minute:
            return self._text(local)
        minute = local.replace(second=0, microsecond=0)
        text = self.minutes.get(minute)
        if text is None:
            if len(self.minutes) >= self.KEPT:
                self.minutes.clear()
            text = self.minutes[minute] = self._text(local)
        return text

    def _text(self, local: datetime) -> str:
        day = local.date()
        time_text: str = self.time.apply(local.timetz(), self.locale, reference_date=day)
        date_text: str = self.date.apply(day, self.locale)
        return self.layout.replace("{0}", time_text).replace("{1}", date_text)


def on_clock(moment: datetime, clock: SiteClock) -> str:
    """The template filter for a row's time: ``{{ visit.checked_in_at|on_clock(clock) }}``
    (a filter is called directly; ``clock.format(...)`` would go through Jinja's context)."""
    return clock.format(moment)


@lru_cache(maxsize=32)
def _short_clock(timezone: str, locale: str) -> SiteClock:
    return SiteClock(timezone, locale)


@lru_cache(maxsize=16)
def _wtforms_catalog(locale: str) -> support.NullTranslations:
    """WTForms' own messages ("Not a valid integer value." …) in ``locale``, read once per
    process: Flask-WTF reads and parses the catalog file again for every request that uses
    it (several a check-in)."""
    return support.Translations.load(wtforms_messages_path(), [locale], domain="wtforms")


class _WtformsTranslations:
    """What Flask-WTF looks for on the request (``request.wtforms_translations``): the
    request's language is asked only when a message is translated (after the kiosk's
    blueprint has said which site's language it starts in), and its catalog comes from
    the process's cache."""

    def ugettext(self, string: str) -> str:
        return str(_wtforms_catalog(str(get_locale())).ugettext(string))

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return str(_wtforms_catalog(str(get_locale())).ungettext(singular, plural, n))


_WTFORMS_TRANSLATIONS = _WtformsTranslations()


def _use_cached_wtforms_catalogs() -> None:
    request.wtforms_translations = _WTFORMS_TRANSLATIONS  # type: ignore[attr-defined]


def _request_translations() -> support.NullTranslations:
    """The catalog of the request's language, kept on the request while that language holds.

    Flask-Babel's own template callables find the catalog anew for every string (its domain,
    the locale, the cache: about ten context look-ups), and a kiosk page translates 20-30
    strings. ``force_locale`` (a message in the host's language) makes a new locale object,
    and the catalog is looked up again for it."""
    translations: support.NullTranslations
    if not g:  # outside any app context, as Flask-Babel's own callables allow
        translations = get_translations()
        return translations
    locale = get_locale()
    kept: tuple[object, support.NullTranslations] | None = g.get(_TRANSLATIONS_KEY)
    if kept is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    setattr(g, _TRANSLATIONS_KEY, (locale, translations))
    return translations


_TRANSLATIONS_KEY = "_kiosk_translations"


#: A whole-number placeholder of a message ("%(num)d visits").
_WHOLE_NUMBER = re.compile(r"%\((\w+)\)d")


def _with_numbers(message: str, variables: dict[str, Any]) -> str:
    """``message % variables``, a count of a thousand or more written as the language groups
    its digits ("12,345 visits", "12 345 besök"): the statistics' and the purge's totals.
    Below a thousand every shipped language writes a number alike, so nothing is formatted
    (Babel's formatting costs ~10 µs, and most counts are small)."""
    large = [
        name for name, value in variables.items() if type(value) is int and not -1000 < value < 1000
    ]
    if large:
        for name in large:
            variables[name] = number(variables[name])
        whole = _WHOLE_NUMBER.sub(
            lambda found: f"%({found[1]})s" if found[1] in large else found[0], message
        )
        # Markup stays Markup (its variables are escaped when formatted), text stays text.
        message = type(message)(whole) if isinstance(message, Markup) else whole
    return message % variables


def number(value: int) -> str | int:
    """A count as the language writes it (the template filter ``|number``): grouped from a
    thousand, as :func:`_with_numbers` writes the counts inside messages."""
    return value if -1000 < value < 1000 else format_number(value)


@pass_context
def _gettext(context: Context, message: str, **variables: Any) -> str:
    """Jinja's newstyle gettext (jinja2.ext), with :func:`_with_numbers`."""
    text = _request_translations().ugettext(message)
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - our catalogs' text, trusted as jinja2.ext trusts it
    return _with_numbers(text, variables)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
    """Jinja's newstyle ngettext (jinja2.ext), with :func:`_with_numbers`."""
    variables.setdefault("num", num)
    text = _request_translations().ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - our catalogs' text, trusted as jinja2.ext trusts it
    return _with_numbers(text, variables)


def init_app(app: Flask) -> None:
    """Make the language helpers available to templates."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _request_translations().ugettext(s),
        ngettext=lambda s, p, n: _request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _request_translations().unpgettext(c, s, p, n),
    )
    # The same, with counts of a thousand and more grouped as the language writes them; the
    # extension's _() calls whatever "gettext" is.
    app.jinja_env.globals.update(gettext=_gettext, ngettext=_ngettext)
    app.add_template_filter(number)
    app.before_request(_use_cached_wtforms_catalogs)
    app.add_template_global(current_locale)
    app.add_template_global(language_name)
    app.add_template_filter(site_time)
    app.add_template_filter(on_clock)
    app.add_template_global(site_clock)
    app.add_template_global(first_layer)
    app.add_template_global(type_name)
    app.add_template_global(with_groups)
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
