"""Every route of the app, sent hostile request headers, methods, path endings and bodies:
never a 5xx, for anyone.

The route and form fuzzing (test_fuzz_routes.py, test_fuzz_forms.py) varies the URL, the query
and the body; what a browser or a proxy puts in the headers reaches the app too: the language
it asks for (the kiosk's and the dashboard's locale), the Host (every URL the app builds),
cookies (the session, the kiosk device), conditional and range requests, forwarding headers.
Each class is sent to every route and method, as an anonymous browser, a paired kiosk, a
reception user and an admin. Found this way: a Host werkzeug cannot read ("a..b", a label over
63 characters) made the 400 page fail to draw, a 500 (kiosk.errors._can_build_urls); HEAD on
any GET path of the API was a KeyError, a 500 (kiosk.api.framework.route_operations); a JSON
body that is not an object of fields, sent to any page's form with its CSRF token in the header,
was a 500 (kiosk.forms.refuse_json_bodies).
"""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from flask import Flask

from tests.security.test_fuzz_routes import app, build_path, make_client, routes, world

__all__ = ["app", "world"]  # fixtures, used by name

pytestmark = pytest.mark.slow

#: The language a browser asks for: nonsense, huge weights, separators, very long tags.
LANGUAGES = [
    "\x00",
    "zz-ZZ;q=abc",
    "*",
    "en;q=99999999999999999999",
    "a" * 8000,
    "sv-SE,\u2028en",
    "en-US;q=0.5,,,;;",
    "\u00e9\u00e9-\u00e9\u00e9",
]
#: Hosts werkzeug refuses (an empty label, a label over 63 characters), one to encode, a port
#: out of range, none.
HOSTS = ["a..b", "a" * 64 + ".example", "\u00fc.example", "[::1]:99999", ""]
#: Cookies that are not ours, or ours broken; conditional, range and forwarding headers.
OTHERS: list[dict[str, str]] = [
    {"Cookie": "session=" + "A" * 5000},
    {"Cookie": "session=\x00; kiosk_device=.;"},
    {"Cookie": "__Host-session=e30.x.y; __Host-kiosk_device=WzEsImEiXQ.bad"},
    {"If-Modified-Since": "garbage"},
    {"If-None-Match": "\x00"},
    {"Range": "bytes=999999999999999999999-"},
    {"X-Forwarded-For": "\x00, ::::"},
    {"X-Forwarded-Proto": "gopher"},
    {"X-Forwarded-Host": "\u2028"},
    {"Referer": "\x00"},
    {"User-Agent": "\u2028" * 2000},
]
HEADERS = (
    [{"Accept-Language": value} for value in LANGUAGES]
    + [{"Host": value} for value in HOSTS]
    + OTHERS
)
#: PostgreSQL sees none of these itself: there, the classes that change what is read or
#: written (the language, a broken session or device cookie) and the Host that failed.
PG_HEADERS = [
    {"Accept-Language": "\x00"},
    {"Accept-Language": "a" * 8000},
    {"Host": "a..b"},
    *OTHERS[:3],
]


#: Reception's routes are the admin's, fewer: a header reaches the same code with either, and
#: the admin's client reaches every route (CI's 30 minutes; tests/security/test_fuzz_routes.py
#: still sends reception's client every route's hostile arguments).
@pytest.mark.parametrize("kind", ["anonymous", "kiosk", "admin"])
def test_every_route_meets_every_hostile_header(
    app: Flask, backend: str, world: dict[str, Any], pair: Any, make_staff: Any, kind: str
):
    client = make_client(kind, app, world["site"], pair, make_staff)
    ids = world["ids"]
    sent, failed = 0, []
    for rule, method in routes(app):
        if method not in {"GET", "POST"} or rule.endpoint.endswith(("logout", "revoke")):
            continue  # the client must stay logged in (or paired) for the routes after
        values = {
            name: ids[0] if "Id" in type(rule._converters[name]).__name__ else "en"
            for name in rule.arguments
        }
        path = build_path(rule, values)
        for headers in HEADERS if backend == "sqlite" else PG_HEADERS:
            response = client.open(
                path,
                method=method,
                headers=headers,
                data={"name": "x"} if method == "POST" else None,
            )
            sent += 1
            if response.status_code >= 500 or b"Traceback" in response.get_data():
                failed.append((method, path, {k: v[:30] for k, v in headers.items()}))
    assert not failed, failed[:20]
    assert sent >= 90 * len(PG_HEADERS)


#: Methods no route declares, and HEAD, which Flask adds wherever GET is declared.
METHODS = ["HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]
#: What can follow a route's path. (A path that begins with "//" is not sent: the test client
#: reads it as a host; gunicorn answers 414 to one of 9,000 characters before the app sees it.)
ENDINGS = ["/", "//x", "%2F..", "/" + "a" * 9000, ".json", "%00", ";x=1", "?" + "a=1&" * 5000]


@pytest.mark.parametrize("kind", ["anonymous", "kiosk", "admin"])
def test_every_route_meets_other_methods_and_path_endings(
    app: Flask, world: dict[str, Any], pair: Any, make_staff: Any, kind: str
):
    client = make_client(kind, app, world["site"], pair, make_staff)
    ids = world["ids"]
    paths = set()
    for rule, _method in routes(app):
        if rule.endpoint.endswith(("logout", "revoke")):
            continue
        paths.add(
            build_path(
                rule,
                {
                    name: ids[0] if "Id" in type(rule._converters[name]).__name__ else "en"
                    for name in rule.arguments
                },
            )
        )
    failed = []
    for path in sorted(paths):
        requests = [(method, path) for method in METHODS]
        requests += [("GET", path + ending) for ending in ENDINGS if path != "/"]
        requests.append(("POST", path + ENDINGS[-1]))
        for method, url in requests:
            response = client.open(url, method=method)
            if response.status_code >= 500 or b"Traceback" in response.get_data():
                failed.append((method, url[:80], response.status_code))
    assert not failed, failed[:20]
    assert len(paths) >= 90


#: Bodies of every kind a write route can be sent: broken multipart, JSON that is not an object
#: of fields, odd charsets and encodings, and types no route reads.
BODIES: list[tuple[str, bytes, dict[str, str]]] = [
    ("multipart/form-data", b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nA', {}),
    ("multipart/form-data; boundary=x", b"--x\r\nbroken", {}),
    ("multipart/form-data; boundary=" + "x" * 300, b"--x", {}),
    (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="\x00.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n\xff\xfe\r\n--x--\r\n",
        {},
    ),
    ("application/json", b'{"name": "Ada"}', {}),
    ("application/json", b'{"name": ', {}),
    ("application/json", b"[" * 5000, {}),
    ("application/json", b'"\\ud800"', {}),
    ("application/json", b"[1, 2]", {}),
    ("application/x-www-form-urlencoded", b"%%%=%%%&&&=&name", {}),
    ("application/x-www-form-urlencoded; charset=utf-16", "name=Ada".encode("utf-16"), {}),
    ("application/x-www-form-urlencoded; charset=klingon", b"name=Ada", {}),
    ("application/x-www-form-urlencoded", gzip.compress(b"name=Ada"), {"Content-Encoding": "gzip"}),
    ("application/x-www-form-urlencoded", b"not gzip", {"Content-Encoding": "gzip"}),
    ("text/plain", b"\x00\x01\x02", {}),
    ("application/xml", b"<!DOCTYPE x [<!ENTITY a SYSTEM 'file:///etc/passwd'>]><x>&a;</x>", {}),
]


@pytest.mark.parametrize("kind", ["anonymous", "kiosk", "admin"])
def test_every_write_route_meets_every_kind_of_body(
    app: Flask, world: dict[str, Any], pair: Any, make_staff: Any, kind: str
):
    """The tests' apps have CSRF off, so each body reaches the view as one with a valid token
    would (test_a_json_body_to_a_page_is_415 checks that case with CSRF on)."""
    client = make_client(kind, app, world["site"], pair, make_staff)
    ids = world["ids"]
    sent, failed = 0, []
    for rule, method in routes(app):
        if method == "GET" or rule.endpoint.endswith(("logout", "revoke")):
            continue
        values = {
            name: ids[0] if "Id" in type(rule._converters[name]).__name__ else "en"
            for name in rule.arguments
        }
        path = build_path(rule, values)
        for content_type, data, headers in BODIES:
            response = client.open(
                path, method=method, data=data, content_type=content_type, headers=headers
            )
            sent += 1
            if response.status_code >= 500 or b"Traceback" in response.get_data():
                failed.append((method, path, content_type[:40], headers))
    assert not failed, failed[:20]
    assert sent >= 60 * len(BODIES)
