"""Every UI string is extracted and translated in every shipped catalog."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import force_locale

from kiosk.config import LANGUAGES
from kiosk.i18n import reading_locale, site_time
from kiosk.models import Site

ROOT = Path(__file__).parents[2]
TRANSLATIONS = ROOT / "translations"
SOURCE_LANGUAGE = "en"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def catalog(language: str):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        return read_po(po_file)


def extracted_messages() -> set[str]:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def singular(msgid: str | tuple[str, ...]) -> str:
    return msgid[0] if isinstance(msgid, tuple) else msgid


def test_template_is_current_with_the_sources():
    with (TRANSLATIONS / "messages.pot").open("rb") as pot_file:
        template = {singular(m.id) for m in read_po(pot_file) if m.id}
    missing = extracted_messages() - template
    assert not missing, f"run `make translations`: not extracted yet: {sorted(missing)}"


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE])
def test_catalog_is_complete(language: str):
    wanted = extracted_messages()
    messages = {singular(m.id): m for m in catalog(language) if m.id}
    problems = []
    for msgid in sorted(wanted):
        message = messages.get(msgid)
        forms = (
            message.string
            if message and isinstance(message.string, tuple)
            else ((message.string,) if message else ())
        )
        if message is None or not forms or not all(forms):
            problems.append(f"untranslated: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif any(
            sorted(set(PLACEHOLDER.findall(msgid))) != sorted(set(PLACEHOLDER.findall(form)))
            for form in forms
        ):
            problems.append(f"placeholders differ: {msgid!r}")
    assert not problems, f"{language}: " + "; ".join(problems)


def test_every_shipped_language_has_a_catalog():
    shipped = {p.name for p in TRANSLATIONS.iterdir() if p.is_dir()}
    assert shipped == set(LANGUAGES) - {SOURCE_LANGUAGE}


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE])
def test_no_consent_wording(language: str):
    # The legal basis is legitimate interest: the kiosk must never ask for consent.
    words = re.compile(r"samtyck|samtykk|suostum|einwillig|zustimm|godkänn|consent", re.I)
    offending = [m.string for m in catalog(language) if m.id and words.search(str(m.string))]
    assert not offending


def test_templates_have_no_text_outside_the_catalog():
    """Every user-visible word in a template goes through gettext."""
    problems = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        # Blocks that only fill in HTML attributes hold no visible text.
        source = re.sub(
            r"{% block (?:body_class|body_attrs|screen_class|html_attrs) %}.*?{% endblock %}",
            " ",
            source,
            flags=re.S,
        )
        # Drop Jinja comments, statements and expressions, then HTML comments and tags.
        stripped = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", " ", source, flags=re.S)
        stripped = re.sub(r"<!--.*?-->", " ", stripped, flags=re.S)
        for attribute in re.findall(
            r'(?:aria-label|placeholder|title|alt|value)="([^"{]*[A-Za-z][^"{]*)"', stripped
        ):
            problems.append(f"{path.name}: attribute text {attribute!r}")
        text = re.sub(r"<[^>]*>", " ", stripped)
        for word in re.findall(r"[^\W\d_]{2,}", text):
            problems.append(f"{path.name}: {word!r}")
    assert not problems


@pytest.mark.parametrize("language", LANGUAGES)
def test_site_time_is_babels_short_date_and_time(app: Flask, language: str):
    """The dashboard's cached patterns give what babel's format_datetime gives, in every zone
    and language, on both sides of daylight saving time (in the locale the reader's region
    or the site's country gives the language: the next test)."""
    moments = [
        datetime(2026, 1, 15, 7, 5, tzinfo=UTC),
        datetime(2026, 1, 15, 7, 5, 59, 999_999, tzinfo=UTC),  # the same minute, from the cache
        datetime(2026, 1, 15, 7, 6, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),  # an hour before Europe's clocks jump
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # in the hour Europe repeats
        datetime(2026, 12, 31, 23, 59, tzinfo=UTC),  # already next year east of UTC
    ]
    zones = ["Europe/Stockholm", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "UTC"]
    for zone in zones:
        site = Site(timezone=zone)
        with app.test_request_context(), force_locale(language):
            for moment in moments + moments:  # the second time from the minute cache
                locale = reading_locale(zone)
                expected = format_datetime(moment, "short", tzinfo=ZoneInfo(zone), locale=locale)
                assert site_time(moment, site) == expected
            assert site_time(None, site) == ""


@pytest.mark.parametrize(
    ("language", "accept_language", "zone", "written"),
    [
        # English as the reader's browser asks for it, wherever the site is.
        ("en", "en-GB,en;q=0.9", "Europe/Stockholm", "15/01/2026, 08:05"),
        ("en", "en-US,en;q=0.9", "Europe/Stockholm", "1/15/26, 8:05\u202fAM"),
        ("en", "sv-SE, en_gb;q=0.5", "Europe/Stockholm", "15/01/2026, 08:05"),
        # No region for the page's language: as the site's country writes English.
        ("en", "", "Europe/Stockholm", "2026-01-15, 08:05"),
        ("en", "en", "Europe/Berlin", "15/01/2026, 08:05"),
        ("en", "", "America/New_York", "1/15/26, 2:05\u202fAM"),
        # No country either (UTC), or one Babel has no English of: the language alone.
        ("en", "", "UTC", "1/15/26, 7:05\u202fAM"),
        ("sv", "en-GB", "Europe/Oslo", "2026-01-15 08:05"),
        ("de", "de-AT,de;q=0.8", "Europe/Stockholm", "15.01.26, 08:05"),
        ("de", "", "Europe/Vienna", "15.01.26, 08:05"),
        # What a browser should not send is passed over, not an error.
        ("en", "en-XX, en-GB", "UTC", "15/01/2026, 07:05"),
        ("en", "zz-ZZ;q=abc, ;;;, \u2028en-, -GB", "Europe/Stockholm", "2026-01-15, 08:05"),
        ("en", "en-" + "a" * 5000, "Europe/Stockholm", "2026-01-15, 08:05"),
    ],
)
def test_times_are_written_as_the_readers_region_writes_them(
    app: Flask, language: str, accept_language: str, zone: str, written: str
):
    """Babel's bare "en" writes the 15th of January as 1/15/26: a European reception's staff
    read their browser's region, or the site's country's."""
    moment = datetime(2026, 1, 15, 7, 5, tzinfo=UTC)
    headers = {"Accept-Language": accept_language} if accept_language else {}
    with app.test_request_context(headers=headers), force_locale(language):
        assert site_time(moment, Site(timezone=zone)) == written


def test_a_time_that_shows_seconds_is_not_kept_by_the_minute(monkeypatch: pytest.MonkeyPatch):
    from kiosk.i18n import SiteClock

    monkeypatch.setattr("kiosk.i18n.get_time_format", lambda *_args, **_kwargs: "HH:mm:ss")
    clock = SiteClock("UTC", "sv")
    assert clock.format(datetime(2026, 1, 15, 7, 5, 1, tzinfo=UTC)) == "2026-01-15 07:05:01"
    assert clock.format(datetime(2026, 1, 15, 7, 5, 2, tzinfo=UTC)) == "2026-01-15 07:05:02"
    assert clock.minutes == {}


def test_the_minute_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch):
    from kiosk.i18n import SiteClock

    monkeypatch.setattr(SiteClock, "KEPT", 3)
    clock = SiteClock("Europe/Stockholm", "sv")
    for minute in range(10):
        moment = datetime(2026, 1, 15, 7, minute, tzinfo=UTC)
        assert clock.format(moment) == f"2026-01-15 08:{minute:02d}"
        assert len(clock.minutes) <= 3


def test_wtforms_own_messages_follow_the_language_asked_when_translated(app: Flask):
    # WTForms' catalogs are read once per process (kiosk.i18n), and the language is the one
    # of the moment a message is translated, not of the first request that read a catalog.
    from babel import support
    from flask_wtf import FlaskForm
    from werkzeug.datastructures import MultiDict
    from wtforms import IntegerField
    from wtforms.i18n import messages_path

    from kiosk.i18n import _use_cached_wtforms_catalogs

    class Number(FlaskForm):  # type: ignore[misc]
        number = IntegerField()

    english = "Not a valid integer value."
    expected = {
        language: support.Translations.load(messages_path(), [language], domain="wtforms").gettext(
            english
        )
        for language in ("de", "sv", "en")
    }
    assert expected["de"] != english
    assert expected["sv"] != english
    for _round in range(2):
        for language in ("de", "sv", "en"):
            with app.test_request_context("/"), force_locale(language):
                _use_cached_wtforms_catalogs()
                form = Number(formdata=MultiDict({"number": "x"}), meta={"csrf": False})
                assert not form.validate()
                assert form.number.errors == [expected[language]]


def test_templates_translate_in_the_language_of_the_moment(app: Flask):
    # Templates keep the request's catalog while its language holds (kiosk.i18n); a message
    # rendered in another language (force_locale, as for a host's email) gets that one's, and
    # the request's own comes back after it.
    from flask import render_template_string
    from flask_babel import refresh

    page = "{{ _('Continue') }}|{{ ngettext('%(num)d visitor', '%(num)d visitors', 2) }}"
    with app.test_request_context("/", headers={"Accept-Language": "sv"}):
        assert render_template_string(page).startswith("Fortsätt|")
        with force_locale("de"):
            assert render_template_string(page).startswith("Weiter|")
        assert render_template_string(page).startswith("Fortsätt|")
        with force_locale("en"):
            assert render_template_string(page) == "Continue|2 visitors"
        refresh()
        assert render_template_string(page).startswith("Fortsätt|")


def test_counts_of_a_thousand_and_more_are_grouped_as_the_language_writes_them(app: Flask):
    # The statistics' totals and the purge's counts: "90438 visits" read as a code.
    from flask import render_template_string

    page = (
        "{{ ngettext('%(num)d visit', '%(num)d visits', count) }}|"
        "{{ _('More than %(num)d visits found. The newest are shown; type more of the name"
        " to narrow the search.', num=count) }}|{{ _('Continue') }}|{{ _('%(site)s', site=site) }}"
    )
    with app.test_request_context("/"):
        with force_locale("en"):
            rendered = render_template_string(page, count=90438, site="<b>")
            assert rendered.startswith("90,438 visits|More than 90,438 visits found.")
            assert rendered.endswith("|Continue|&lt;b&gt;")  # variables are still escaped
            assert render_template_string(page, count=999, site="").startswith("999 visits|")
            assert render_template_string(page, count=-1500, site="").startswith("-1,500 ")
        with force_locale("sv"):
            assert render_template_string(page, count=90438, site="").startswith(
                "90\N{NO-BREAK SPACE}438 besök|Fler än 90\N{NO-BREAK SPACE}438 besök"
            )
        with force_locale("de"):
            assert render_template_string(page, count=1000, site="").startswith("1.000 Besuche|")
    with app.test_request_context("/"), force_locale("fi"):
        assert render_template_string("{{ 12345|number }}|{{ 999|number }}") == (
            "12\N{NO-BREAK SPACE}345|999"
        )


#: Words a catalog once used beside its own for the visitor's badge: three names for one
#: thing on one screen, and "access card" (adgangskort, kulkukortti) says it opens doors.
OTHER_WORDS_FOR_THE_BADGE = {
    "nb": ("besøkskort", "adgangskort"),
    "da": ("besøgskort", "adgangskort"),
    "fi": ("vierailijakort", "kulkukort"),
}


@pytest.mark.parametrize("language", sorted(OTHER_WORDS_FOR_THE_BADGE))
def test_each_catalog_calls_the_badge_one_thing(language: str):
    path = Path(__file__).parents[2] / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        catalog = read_po(file, locale=language)
    found = [
        message.id
        for message in catalog
        for text in (message.string if isinstance(message.string, tuple) else (message.string,))
        if any(word in (text or "").casefold() for word in OTHER_WORDS_FOR_THE_BADGE[language])
    ]
    assert found == []
