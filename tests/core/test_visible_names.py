"""Names made only of invisible characters are refused everywhere a name is typed: at the
kiosk, in invitations, hosts (form and CSV import), staff, kiosks, sites and rectifications.
A name needs at least one letter or digit (Unicode categories L and N).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.forms import has_letter_or_digit
from kiosk.models import Host, Invitation, Site, StaffUser, Visit

#: Each prints a blank badge: no letter, no digit, whatever else it holds.
INVISIBLE = {
    "zero-width joiner and space": "\u200d\u200b",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad\u00ad",
    "lone combining marks": "\u0301\u0308",
    "Hangul filler": "\u3164",
    "Hangul choseong and jungseong fillers": "\u115f\u1160",
    "halfwidth Hangul filler": "\uffa0",
    "Braille blank": "\u2800",
    "private use": "\ue000\uf8ff",
    "tag characters": "\U000e0041\U000e0042",
    "punctuation only": "-.'",
}
NAMES = pytest.mark.parametrize("name", list(INVISIBLE.values()), ids=list(INVISIBLE))
MESSAGE = "Please enter a name with at least one letter or digit."


def test_visible_names_are_letters_or_digits_of_any_script():
    for name in ("Åsa", "李小龍", "محمد", "Ωmega", "7", "O'Brien", "Zoë\u200d"):
        assert has_letter_or_digit(name), name
    for name in INVISIBLE.values():
        assert not has_letter_or_digit(name), ascii(name)


@NAMES
def test_the_kiosk_refuses_an_invisible_name_in_the_visitors_language(
    pair: Any, make_site: Any, session: Session, name: str
):
    kiosk: FlaskClient = pair(make_site(field_host="hidden"))
    kiosk.post("/language", data={"locale": "de"})
    response = kiosk.post("/check-in", data={"name": name})
    assert response.status_code == 200
    assert 'lang="de"' in response.text
    assert "mindestens einem Buchstaben oder einer Ziffer" in response.text
    assert kiosk.get("/notice").status_code == 302  # nothing pending: back to the form


@NAMES
def test_staff_forms_refuse_invisible_names(
    staff_client: FlaskClient,
    make_site: Any,
    make_host: Any,
    make_visit: Any,
    session: Session,
    name: str,
):
    site = make_site()
    host = make_host(site)
    visit = make_visit(site, "Vera Visitor")
    before = {
        model: session.scalar(select(func.count()).select_from(model))
        for model in (Host, Invitation, StaffUser, Site)
    }
    posts = {
        "/dashboard/expected/new": {
            "site": site.id,
            "name": name,
            "host": host.id,
            "expected_on": "2026-03-04",
        },
        "/dashboard/admin/hosts/new": {"site": site.id, "name": name, "email": "n@example.com"},
        f"/dashboard/admin/hosts/{host.id}": {"name": name, "email": "host@example.com"},
        "/dashboard/admin/staff/new": {
            "username": name,
            "role": "reception",
            "sites": [site.id],
            "password": "long enough password",
        },
        "/dashboard/kiosks": {"site": site.id, "name": name},
        f"/dashboard/requests/visits/{visit.id}": {"visitor_name": name},
    }
    for path, data in posts.items():
        response = staff_client.post(path, data=data)
        assert response.status_code == 200, (path, response.status_code)
        assert MESSAGE in response.text, path
    session.expire_all()
    after = {
        model: session.scalar(select(func.count()).select_from(model))
        for model in (Host, Invitation, StaffUser, Site)
    }
    assert after == before
    assert session.get(Host, host.id).name == "Hanna Host"  # type: ignore[union-attr]
    assert session.get(Visit, visit.id).visitor_name == "Vera Visitor"  # type: ignore[union-attr]


def test_the_hosts_csv_import_refuses_an_invisible_name(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    site = make_site()
    csv = f"name,email\nAda Host,ada@example.com\n{INVISIBLE['Hangul filler']},x@example.com\n"
    response = staff_client.post(
        "/dashboard/admin/hosts/import",
        data={"site": site.id, "file": (io.BytesIO(csv.encode()), "hosts.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert session.scalar(select(func.count()).select_from(Host)) == 0  # nothing unless all
