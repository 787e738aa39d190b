"""Admin: hosts one by one and from CSV, for admins and for reception of their own sites."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.models import AuditEvent, Host
from kiosk.services.hosts import IMPORT_MAX_ROWS, import_hosts_csv

LANGUAGES = ["sv", "en", "nb", "da", "fi", "de"]


def hosts(session: Session, site: Any) -> list[tuple[str, str, str | None, bool]]:
    session.expire_all()
    return [
        (h.name, h.email, h.locale, h.active)
        for h in session.scalars(select(Host).where(Host.site_id == site.id).order_by(Host.id))
    ]


def upload(client: FlaskClient, site: Any, content: bytes, name: str = "hosts.csv") -> Any:
    return client.post(
        "/dashboard/admin/hosts/import",
        data={"site": str(site.id), "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_add_edit_deactivate_and_reactivate_a_host(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    site = make_site()
    response = staff_client.post(
        "/dashboard/admin/hosts/new",
        data={
            "site": site.id,
            "name": " Åsa  Öberg ",
            "email": "asa@example.com",
            "language": "fi",
            "active": "y",
        },
    )
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == f"/dashboard/admin/hosts?site={site.id}"
    assert hosts(session, site) == [("Åsa Öberg", "asa@example.com", "fi", True)]
    host = session.scalar(select(Host))
    listing = staff_client.get(f"/dashboard/admin/hosts?site={site.id}").text
    assert "Åsa Öberg" in listing
    assert "Suomi" in listing

    edit = staff_client.post(
        f"/dashboard/admin/hosts/{host.id}",
        data={"name": "Åsa Berg", "email": "asa.berg@example.com", "language": ""},
    )
    assert edit.status_code == 302, edit.text
    # An unticked box is "inactive"; an empty language is the site's.
    assert hosts(session, site) == [("Åsa Berg", "asa.berg@example.com", None, False)]

    staff_client.post(f"/dashboard/admin/hosts/{host.id}/reactivate")
    assert hosts(session, site)[0][3] is True
    staff_client.post(f"/dashboard/admin/hosts/{host.id}/deactivate")
    assert hosts(session, site)[0][3] is False
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.target_type == "host").order_by(AuditEvent.id)
    ).all()
    assert actions == ["create_host", "update_host", "reactivate_host", "deactivate_host"]


def test_an_inactive_host_is_not_offered_at_the_kiosk(
    staff_client: FlaskClient, make_site: Any, make_host: Any, pair: Any
):
    site = make_site()
    host = make_host(site, name="Hidden Person")
    kiosk = pair(site)
    assert "Hidden Person" in kiosk.get("/hosts?q=hid").text
    staff_client.post(f"/dashboard/admin/hosts/{host.id}/deactivate")
    assert "Hidden Person" not in kiosk.get("/hosts?q=hid").text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "Please fill this in."),
        ({"name": "x" * 201}, "Please use at most 200 characters."),
        ({"name": "Evil\u202eName"}, "Please use only letters, digits and ordinary punctuation."),
        ({"email": ""}, "Please fill this in."),
        ({"email": "not-an-email"}, "Please check the email address."),
        ({"email": "TAKEN@example.com"}, "This site has a host with this email already."),
        ({"language": "xx"}, "Not a valid choice."),
        ({"site": "abc"}, "Invalid Choice: could not coerce."),
    ],
)
def test_host_form_validation(
    staff_client: FlaskClient,
    make_site: Any,
    make_host: Any,
    session: Session,
    data: dict[str, str],
    message: str,
):
    site = make_site()
    make_host(site, name="Known", email="taken@example.com")
    form = {"site": str(site.id), "name": "New Host", "email": "new@example.com", **data}
    response = staff_client.post("/dashboard/admin/hosts/new", data=form)
    assert response.status_code == 200
    assert message in response.text
    assert len(hosts(session, site)) == 1


def test_the_same_email_at_another_site_is_fine(
    staff_client: FlaskClient, make_site: Any, make_host: Any
):
    make_host(make_site(), email="shared@example.com")
    other = make_site()
    response = staff_client.post(
        "/dashboard/admin/hosts/new",
        data={"site": other.id, "name": "Twin", "email": "shared@example.com"},
    )
    assert response.status_code == 302


def test_reception_manages_hosts_of_their_own_sites_only(
    make_site: Any, make_host: Any, make_staff: Any, login: Any, session: Session
):
    mine, other = make_site(name="Mine"), make_site(name="Theirs")
    my_host = make_host(mine, name="My Host", email="my@example.com")
    their_host = make_host(other, name="Their Host", email="their@example.com")
    client = login(make_staff(sites=(mine,)))

    page = client.get("/dashboard/admin/hosts").text
    assert "My Host" in page
    assert "Their Host" not in page
    assert "Theirs" not in page
    assert client.get(f"/dashboard/admin/hosts?site={other.id}").status_code == 404
    assert client.get(f"/dashboard/admin/hosts/{their_host.id}").status_code == 404
    assert client.post(f"/dashboard/admin/hosts/{their_host.id}/deactivate").status_code == 404
    assert client.get(f"/dashboard/admin/hosts/new?site={other.id}").status_code == 404
    # A site outside theirs is not among the choices.
    response = client.post(
        "/dashboard/admin/hosts/new",
        data={"site": other.id, "name": "Sneaky", "email": "sneaky@example.com"},
    )
    assert "Not a valid choice." in response.text
    assert upload(client, other, b"name,email\nSneaky,sneaky@example.com\n").status_code == 200
    assert len(hosts(session, other)) == 1

    assert client.post(f"/dashboard/admin/hosts/{my_host.id}/deactivate").status_code == 302
    assert hosts(session, mine)[0][3] is False
    imported = upload(client, mine, b"name,email\nNew Colleague,new@example.com\n")
    assert "New hosts: 1." in imported.text


def test_import_creates_and_updates_and_reimporting_changes_nothing(
    staff_client: FlaskClient, make_site: Any, make_host: Any, session: Session
):
    site = make_site()
    make_host(site, name="Old Name", email="Known@Example.com")
    content = (
        "name,email,language,active\n"
        "New Name,known@example.com,de,\n"
        "Björn Ödman,bjorn@example.com,SV,yes\n"
        '"Lee, Ann",ann@example.com,,no\n'
        "\n"
    ).encode()
    response = upload(staff_client, site, content)
    assert response.status_code == 200
    assert "New hosts: 2. Updated: 1. Unchanged: 0." in response.text
    assert hosts(session, site) == [
        ("New Name", "known@example.com", "de", True),
        ("Björn Ödman", "bjorn@example.com", "sv", True),
        ("Lee, Ann", "ann@example.com", None, False),
    ]
    again = upload(staff_client, site, content)
    assert "New hosts: 0. Updated: 0. Unchanged: 3." in again.text
    assert len(hosts(session, site)) == 3
    events = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert events.count("import_hosts") == 2
    assert events.count("create_host") == 2
    assert events.count("update_host") == 1


def test_a_partly_bad_file_imports_nothing_and_reports_every_row(
    staff_client: FlaskClient, make_site: Any, make_host: Any, session: Session
):
    site = make_site()
    make_host(site, name="Keep Me", email="keep@example.com")
    content = (
        b"name,email,language,active\n"
        b"Good One,good@example.com,sv,yes\n"
        b",noname@example.com,,\n"
        b"Bad Mail,not-an-email,,\n"
        b"Changed,keep@example.com,xx,\n"
        b"Twice,good@EXAMPLE.com,,\n"
        b"Odd,odd@example.com,,maybe\n"
        b"Too,many@example.com,sv,yes,extra\n"
    )
    response = upload(staff_client, site, content)
    assert response.status_code == 200
    page = response.text
    assert "Nothing was imported" in page
    expected = [
        (3, "The name is missing."),
        (4, "The email address is not valid."),
        (5, "Unknown language “xx”"),
        (6, "The same email is on line 2 already."),
        (7, "“maybe” is not yes or no"),
        (8, "This row has more values than there are columns."),
    ]
    for line, message in expected:
        assert f"<td>{line}</td><td>{message}" in page, (line, message)
    assert "<td>2</td>" not in page
    assert hosts(session, site) == [("Keep Me", "keep@example.com", None, True)]
    assert (
        session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "import_hosts"))
        == 0
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name;email\nÅsa;asa@example.com\n".encode("cp1252"), "The file is not in UTF-8."),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "This is not a text file."),
        (b"", "The file has no hosts in it."),
        (b"name,email\n", "The file has no hosts in it."),
        (b"Anna,anna@example.com\n", "missing: name, email"),
        (b"name,mail\nAnna,anna@example.com\n", "Unknown columns: mail."),
        (
            b"name,email,email\nA,a@example.com,b@example.com\n",
            "Columns named more than once: email.",
        ),
        (b'name,email\n"Anna,anna@example.com\n', "The file is not valid CSV"),
    ],
)
def test_a_bad_file_gets_a_clear_report(
    staff_client: FlaskClient, make_site: Any, session: Session, content: bytes, message: str
):
    site = make_site()
    response = upload(staff_client, site, content)
    assert response.status_code == 200
    assert message in response.text
    assert hosts(session, site) == []


def test_no_file_at_all(staff_client: FlaskClient, make_site: Any):
    site = make_site()
    response = staff_client.post(
        "/dashboard/admin/hosts/import", data={"site": site.id}, content_type="multipart/form-data"
    )
    assert "Please choose a file." in response.text


def test_spreadsheet_exports_with_semicolons_and_a_bom_are_understood(
    staff_client: FlaskClient, make_site: Any, session: Session
):
    site = make_site()
    content = "\ufeffName;E-mail\n".replace("E-mail", "Email").encode() + (
        "Åsa Ek;asa@example.com\r\nJon Berg;jon@example.com\r\n".encode()
    )
    response = upload(staff_client, site, content)
    assert "New hosts: 2." in response.text
    assert [h[0] for h in hosts(session, site)] == ["Åsa Ek", "Jon Berg"]


def test_a_file_larger_than_the_limit_gets_the_friendly_413(
    app: Any, staff_client: FlaskClient, make_site: Any, session: Session
):
    site = make_site()
    big = b"name,email\n" + b"A Person,a@example.com\n" * (app.config["MAX_CONTENT_LENGTH"] // 20)
    response = upload(staff_client, site, big)
    assert response.status_code == 413
    assert "Too much data" in response.text
    assert hosts(session, site) == []


def test_too_many_rows_are_refused(make_site: Any, session: Session):
    site = make_site()
    rows = "".join(f"P{i},p{i}@example.com\n" for i in range(IMPORT_MAX_ROWS + 1))
    report = import_hosts_csv(session, site, f"name,email\n{rows}".encode(), languages=LANGUAGES)
    assert [p.code for p in report.problems] == ["too_many_rows"]
    assert not report.created


def test_a_header_of_many_columns_is_refused_naming_a_few(make_site: Any, session: Session):
    """An 80 KB header row of 40,000 columns (an outside fuzz; each column counted across
    the whole row held a worker for 30 s): refused, naming the first ten columns."""
    site = make_site()
    header = ",".join(["name", "email", *(f"c{i}" for i in range(40_000)), "name"])
    report = import_hosts_csv(session, site, f"{header}\n".encode(), languages=LANGUAGES)
    problems = {problem.code: problem.detail for problem in report.problems}
    assert problems["unknown_columns"] == ", ".join(f"c{i}" for i in range(10)) + ", …"
    assert problems["repeated_columns"] == "name"
    assert not report.created


def test_the_import_page_explains_the_format(staff_client: FlaskClient, make_site: Any):
    site = make_site()
    page = staff_client.get(f"/dashboard/admin/hosts/import?site={site.id}").text
    assert "sv, en, nb, da, fi, de" in page
    assert 'enctype="multipart/form-data"' in page
