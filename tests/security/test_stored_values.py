"""Every value a visitor can give, by class, through every page and file staff open.

The fuzzing sends hostile input to the forms; this stores the widest values the forms accept
(the longest, the widest glyphs, other scripts, marks stacked on letters, PDF and HTML markup,
spreadsheet formulas, emoji, unusual spaces) as a visit, an invitation and a signed document,
and opens every dashboard page, CSV and PDF an admin can open, and the badge. None may fail,
and each page that shows the name shows it as given.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy.orm import Session

from tests.security.test_views_audited import _answer, _login, _requests


def _long(text: str, length: int = 200) -> str:
    return (text * (length // len(text) + 1))[:length].strip()


#: (visitor name, company) per class; each as the kiosk's form would accept it.
VALUES = {
    "widest": ("W" * 200, "M" * 200),
    "arabic": (_long("محمد عبد الله "), "شركة الأمل"),
    "cjk": (_long("王小明"), "株式会社テスト"),
    "korean": (_long("김민준 "), "삼성"),
    "stacked marks": (_long("Z\u0351\u0337\u0322a\u0300\u0301\u0302l\u0303g\u0304o "), "A\u030a"),
    "pdf and html markup": ('<b>Eva</b> & <font size="99">Ö</font> <br/>', '<para>"AB"</para>'),
    "spreadsheet formula": ('=HYPERLINK("http://example.com","x")', "+46 @SUM(A1)"),
    "emoji": ("Eva 🙂 Öberg 👩‍🔬", "Rocket 🚀 AB"),
    "mixed direction": ("Eva \u05e9\u05dc\u05d5\u05dd 123", "\u0627\u0644\u0641 AB"),
    "unusual spaces": ("Eva\u00a0Öberg\u2009Jr\u202fII", "Fjord\u3000Systems"),
}


@pytest.mark.parametrize("kind", list(VALUES))
def test_every_page_and_file_takes_any_accepted_value(
    app: Flask,
    session: Session,
    make_site: Any,
    make_visit: Any,
    make_host: Any,
    make_invitation: Any,
    make_staff: Any,
    clock: Any,
    kind: str,
) -> None:
    name, company = VALUES[kind]
    site = make_site(name="Here")
    host = make_host(site, name="Hanna Host")
    visit = make_visit(site, visitor_name=name, company=company, host_id=host.id)
    make_visit(
        site,
        visitor_name=name,
        company=company,
        host_id=host.id,
        checked_in_at=clock.now() - timedelta(days=2),
        checked_out_at=clock.now() - timedelta(days=2, hours=-1),
    )
    invitation = make_invitation(
        site, visitor_name=name, company=company, expected_on=clock.now().date()
    )
    ids = {
        "site": site.id,
        "visit": visit.id,
        "invitation": invitation.id,
        "host": host.id,
        # The routes of objects not made here answer 404.
        **dict.fromkeys(("device", "notification", "signed", "user", "type", "document"), 0),
        **dict.fromkeys(("document_version", "notice", "token", "webhook"), 0),
    }
    client = _login(app, make_staff, "admin", {"site": site})
    requests = [
        *_requests(ids, clock.now().date()),
        ("POST", "/dashboard/requests", {"name": name.split()[0].lower(), "email": ""}),
    ]
    texts = {}
    for method, path, data in requests:
        status, text = _answer(client, clock, method, path, data)
        if status == 200:
            texts[path] = text
    # The pages show the name as given (escaped), ...
    for page in ("/dashboard/", f"/dashboard/visits/{visit.id}", "/dashboard/today"):
        assert str(escape(name)) in texts[page], page
    # ... the CSV files hold it in a cell (a formula made text by a leading quote), ...
    for export in ("/dashboard/evacuation.csv", "/dashboard/export"):
        cells = {
            cell.removeprefix("'") for row in csv.reader(io.StringIO(texts[export])) for cell in row
        }
        assert name in cells, export
    # ... and the PDFs draw markup as the letters it is, never as markup.
    if kind == "pdf and html markup":
        for pdf in ("/dashboard/evacuation.pdf", f"/dashboard/visits/{visit.id}/badge.pdf"):
            assert "<b>Eva</b>" in texts[pdf], pdf
