"""Property-based form fuzzing: read a form from its page, generate hostile submissions of it.

The fields of each form come from the rendered page (inputs, selects with their options,
textareas), so the fuzzer follows the forms as they change; the values mix plausible input with
everything a hostile or broken client sends: control characters, NUL, invalid UTF-8, overlong
and repeated values, formulas, markup, dates that do not exist, missing and unknown fields,
whitespace of every kind, numbers beyond any database's integers, and files sent where text is
expected.

Random examples can miss the one bad value of the one field that breaks (a host id of a single
space did, for years): :func:`sweep` adds, for every field of a form, one submission per
:data:`SWEEP` value with plausible values everywhere else, so every field meets every hostile
class at least once.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart body, sent under a field's name."""

    content: bytes = b"Ada Lovelace"
    filename: str = "name.txt"


#: A file where a form expects text.
FILE = Upload()

#: Values that have broken web forms somewhere; every field gets some of them.
NASTY = [
    "",
    " ",
    "\x00",
    "Ada\x00Lovelace",
    '=HYPERLINK("http://evil.example/","x")',
    "+46 70",
    "-1",
    "@SUM(A1)",
    "\t=1",
    "\r\nBcc: victim@example.com",
    "x\r\nSubject: spoofed",
    "<script>alert(1)</script>",
    "'; DROP TABLE visits; --",
    "\u202eevil\u202c",
    "../../../../etc/passwd",
    "%00%ff",
    "Ω" * 201,
    "x" * 5000,
    "9" * 40,
    "0",
    "²",
    "٣",
    "1e309",
    "NaN",
    "2026-02-30",
    "2026-03-04",
    "99999-01-01",
    "0001-01-01",
    "9999-12-31",
    "25:61",
    "17:00",
    "y",
    "on",
    "null",
    "a@b.c",
    "ﬃ Ǆ 𝔘𝔫𝔦",
    # Whitespace only, of every kind, and line and paragraph separators.
    "\t",
    "\r\n",
    "\u2028",
    "\u2029",
    "\u00a0",
    "\u3000",
    "\u200b\u2060\ufeff",
    " 1 ",
    # Numbers beyond PostgreSQL's integer, SQLite's 64 bits, and in other scripts.
    str(2**31),
    str(2**63),
    "9" * 25,
    "١٢٣",
]

#: What :func:`sweep` gives every field of a form, one at a time.
SWEEP: list[Any] = [
    "",
    " ",
    "\t",
    "\r\n",
    "\u2028",
    "\u200b\u2060",
    "\x00",
    "-1",
    str(2**31),
    str(2**63),
    "9" * 25,
    "١",
    "x" * 5000,
    # Real dates at the ends of the calendar: a day's bounds on a site's clock, or a date plus
    # a retention, fall outside it (an export from 0001-01-01 was a 500).
    "0001-01-01",
    "9999-12-31",
    FILE,
]

_SCALAR = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=60),
    st.text(st.characters(max_codepoint=0x7F), max_size=20),
    st.binary(max_size=24),  # percent-encoded as is: mostly invalid UTF-8
    st.just(FILE),
)


@dataclass
class Field:
    name: str
    kind: str  # text, password, email, date, time, number, select, checkbox, radio, textarea, ...
    options: list[str] = field(default_factory=list)
    value: str = ""


@dataclass
class Form:
    action: str
    fields: dict[str, Field] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._form = Form(action=a.get("action", ""))
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or not a.get("name") or a["name"] == "csrf_token":
            if tag == "option" and self._select is not None:
                self._select.options.append(a.get("value", ""))
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            existing = form.fields.get(name)
            if existing and kind in ("checkbox", "radio"):
                existing.options.append(a.get("value", "y"))
            else:
                form.fields[name] = Field(name, kind, [a.get("value", "y")], a.get("value", ""))
        elif tag == "textarea":
            form.fields[name] = Field(name, "textarea")
        elif tag == "select":
            self._select = form.fields[name] = Field(name, "select")
        elif tag == "button":
            form.fields[name] = Field(name, "submit", [a.get("value", "")])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def read_form(page: str, action: str) -> Form:
    """The POST form of ``page`` that posts to ``action`` (an empty action posts to the page)."""
    parser = _FormParser()
    parser.feed(page)
    path = action.split("?")[0]
    for form in parser.forms:
        if form.action.split("?")[0] in (path, "") and form.fields:
            return form
    raise AssertionError(f"no form posting to {action} in the page: {page[:500]}")


def _plausible(item: Field, known: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    if item.name in known:
        return st.sampled_from(known[item.name])
    if item.kind in ("select", "radio", "checkbox", "submit", "hidden") and item.options:
        return st.sampled_from(item.options)
    if item.kind == "date":
        return st.dates().map(str)
    if item.kind == "time":
        return st.times().map(lambda t: t.strftime("%H:%M"))
    if item.kind == "number":
        return st.integers(-5, 5000).map(str)
    if item.kind == "email":
        return st.sampled_from(["ada@example.com", "b.c@example.org", "x@y.zz"])
    return st.text(st.characters(categories=["L", "N", "Zs", "Pd", "Po"]), min_size=1, max_size=40)


@st.composite
def submissions(
    draw: st.DrawFn, form: Form, known: dict[str, list[str]] | None = None
) -> list[tuple[str, Any]]:
    """One submission of ``form``: (name, value) pairs, values str or raw bytes.

    ``known`` gives extra plausible values per field name (a real password, a real id).
    """
    known = known or {}
    pairs: list[tuple[str, Any]] = []
    for item in form.fields.values():
        how = draw(st.integers(0, 9))
        if how == 0:
            continue  # the field is left out
        if how <= 5:
            values = [draw(_plausible(item, known))]
        elif how <= 8:
            values = [draw(_SCALAR)]
        else:  # the same name several times
            values = draw(st.lists(st.one_of(_plausible(item, known), _SCALAR), max_size=3))
        pairs.extend((item.name, value) for value in values)
    if draw(st.integers(0, 9)) == 0:
        pairs.append((draw(st.sampled_from(["x", "id", "site_id", "__proto__", "a[b][c]"])), "1"))
    return pairs


def encode(pairs: list[tuple[str, Any]]) -> bytes:
    """A urlencoded body; bytes values are percent-encoded unchanged (invalid UTF-8 stays)."""
    return urlencode(pairs).encode("ascii")


def _first_plausible(item: Field, known: dict[str, list[str]]) -> str:
    if item.name in known:
        return known[item.name][0]
    if item.kind in ("select", "radio", "checkbox", "submit", "hidden") and item.options:
        return next((option for option in item.options if option), item.options[0])
    return {
        "date": "2026-03-04",
        "time": "09:00",
        "number": "1",
        "email": "ada@example.com",
        "password": "long enough password",
    }.get(item.kind, "Ada Lovelace")


def sweep(form: Form, known: dict[str, list[str]] | None = None) -> list[list[tuple[str, Any]]]:
    """Every field of ``form`` with every :data:`SWEEP` value, the others plausible."""
    known = known or {}
    base = [(item.name, _first_plausible(item, known)) for item in form.fields.values()]
    return [
        [(name, value if name == target else plain) for name, plain in base]
        for target in form.fields
        for value in SWEEP
    ]


def body(pairs: list[tuple[str, Any]]) -> tuple[bytes, str]:
    """A request body and its content type: multipart when a value is an :class:`Upload`,
    else urlencoded (bytes values percent-encoded unchanged, so invalid UTF-8 stays)."""
    if not any(isinstance(value, Upload) for _name, value in pairs):
        return encode(pairs), "application/x-www-form-urlencoded"
    data: MultiDict[str, Any] = MultiDict()
    for name, value in pairs:
        if isinstance(value, Upload):
            data.add(name, FileStorage(io.BytesIO(value.content), value.filename, name))
        elif isinstance(value, bytes):
            data.add(name, value.decode("latin-1"))
        else:
            data.add(name, value)
    boundary, payload = encode_multipart(data)
    return payload, f"multipart/form-data; boundary={boundary}"
