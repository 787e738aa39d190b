"""Per-site kiosk fields (data minimisation) and choosing the host."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import Visit


@pytest.fixture
def site(make_site: Any) -> Any:
    return make_site()


def submit(kiosk: FlaskClient, **fields: str) -> Any:
    return kiosk.post("/check-in", data=fields)


def register(kiosk: FlaskClient, session: Session, **fields: str) -> Visit:
    response = submit(kiosk, **fields)
    assert response.status_code == 302, response.text
    kiosk.get("/notice")
    kiosk.post("/notice", data={"read": "1"})
    return session.scalars(select(Visit)).one()


def test_default_fields(pair: Any, site: Any):
    page = pair(site).get("/check-in").text
    for name in ("name", "company", "host_query", "purpose"):
        assert f'name="{name}"' in page
    for name in ("email", "phone"):  # not asked unless a site needs them
        assert f'name="{name}"' not in page


def test_a_field_the_visitor_may_leave_empty_says_so(make_site: Any, pair: Any):
    """A guided step looks as required as any other unless its label says otherwise (an
    outside review: nothing told the visitor a step could be skipped)."""
    site = make_site(field_company="required", field_purpose="optional", field_email="optional")
    page = pair(site).get("/check-in", headers={"Accept-Language": "sv"}).text
    labels = dict(re.findall(r'<label for="(\w+)">([^<]*)</label>', page))
    assert labels["company"] == "Företag"
    assert labels["purpose"].endswith(" (valfritt)")
    assert labels["email"].endswith(" (valfritt)")
    assert "(valfritt)" not in labels["name"]


def test_hidden_fields_are_not_shown_and_not_stored(make_site: Any, pair: Any, session: Session):
    site = make_site(field_company="hidden", field_host="hidden", field_purpose="hidden")
    kiosk = pair(site)
    page = kiosk.get("/check-in").text
    for name in ("company", "host_query", "purpose", "ask_reception"):
        assert f'name="{name}"' not in page
    visit = register(kiosk, session, name="Min Imal", company="Sneaky AB", purpose="sneaky")
    assert (visit.company, visit.purpose, visit.host_id) == (None, None, None)


def test_required_fields_are_enforced_by_the_server(
    app: Flask, make_site: Any, pair: Any, session: Session
):
    site = make_site(
        field_company="required",
        field_purpose="required",
        field_email="required",
        field_phone="required",
    )
    kiosk = pair(site)
    response = submit(kiosk, name="Req Uired", ask_reception="y")
    assert response.status_code == 200
    for message in (
        "Please enter your company.",
        "Please enter the purpose of your visit.",
        "Please enter your email address.",
        "Please enter your phone number.",
    ):
        with app.test_request_context(), force_locale("sv"):
            assert gettext(message) in response.text  # in the site's language
    visit = register(
        kiosk,
        session,
        name="Req Uired",
        company="Co",
        purpose="Meeting",
        email="a@b.se",
        phone="+46 70 123 45 67",
        ask_reception="y",
    )
    assert (visit.email, visit.phone, visit.purpose) == ("a@b.se", "+46 70 123 45 67", "Meeting")


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "not-an-email"), ("email", "a@b"), ("phone", "call me"), ("phone", "12")],
)
def test_malformed_contact_details_are_refused(make_site: Any, pair: Any, field: str, value: str):
    site = make_site(field_email="optional", field_phone="optional")
    response = submit(pair(site), name="X", ask_reception="y", **{field: value})
    assert response.status_code == 200
    assert "has-error" in response.text


def test_optional_contact_details_can_stay_empty(make_site: Any, pair: Any, session: Session):
    site = make_site(field_email="optional", field_phone="optional")
    visit = register(pair(site), session, name="No Contact", email="", phone="", ask_reception="y")
    assert (visit.email, visit.phone) == (None, None)


class TestHost:
    @pytest.fixture
    def hosts(self, site: Any, make_host: Any) -> dict[str, Any]:
        names = ["Johan Berg", "Johanna Ek", "Åsa Lind", "Berit Johansson", "Old Timer"]
        made = {name: make_host(site, name=name) for name in names}
        made["Old Timer"].active = False
        return made

    def test_picked_host_id_is_used(self, pair: Any, site: Any, hosts: Any, session: Session):
        visit = register(pair(site), session, name="V", host_id=str(hosts["Åsa Lind"].id))
        assert visit.host_id == hosts["Åsa Lind"].id

    def test_typed_name_with_one_match_is_used(
        self, pair: Any, site: Any, hosts: Any, session: Session
    ):
        visit = register(pair(site), session, name="V", host_query="asa")  # accents ignored
        assert visit.host_id == hosts["Åsa Lind"].id

    def test_several_matches_offer_a_choice(
        self, pair: Any, site: Any, hosts: Any, session: Session
    ):
        response = submit(pair(site), name="V", host_query="joh")
        assert response.status_code == 200
        assert 'type="radio" name="host_id"' in response.text
        for name in ("Johan Berg", "Johanna Ek", "Berit Johansson"):
            assert name in response.text
        assert "Åsa Lind" not in response.text

    def test_no_match_is_an_error(self, pair: Any, site: Any, hosts: Any):
        response = submit(pair(site), name="V", host_query="zz top")
        assert response.status_code == 200
        assert "has-error" in response.text

    def test_required_host_needs_a_choice(self, pair: Any, site: Any, hosts: Any):
        response = submit(pair(site), name="V")
        assert response.status_code == 200
        assert "has-error" in response.text

    def test_optional_host_may_be_left_out(self, make_site: Any, pair: Any, session: Session):
        visit = register(pair(make_site(field_host="optional")), session, name="V")
        assert visit.host_id is None

    def test_ask_reception(self, pair: Any, site: Any, hosts: Any, session: Session):
        visit = register(pair(site), session, name="V", ask_reception="y", host_query="johan")
        assert visit.host_id is None

    @pytest.mark.parametrize("which", ["inactive", "other site", "missing"])
    def test_host_id_not_offered_here_is_refused(
        self,
        pair: Any,
        site: Any,
        hosts: Any,
        make_site: Any,
        make_host: Any,
        session: Session,
        which: str,
    ):
        host_id = {
            "inactive": lambda: hosts["Old Timer"].id,
            "other site": lambda: make_host(make_site(), name="Elsewhere").id,
            "missing": lambda: 999999,
        }[which]()
        response = submit(pair(site), name="V", host_id=str(host_id))
        assert response.status_code == 200  # refused: asks for a host again
        assert "has-error" in response.text

    def test_search_reveals_names_only_after_two_characters(self, pair: Any, site: Any, hosts: Any):
        kiosk = pair(site)
        assert kiosk.get("/hosts").json == {"hosts": [], "more": False}
        assert kiosk.get("/hosts?q=j").json == {"hosts": [], "more": False}
        names = [h["name"] for h in kiosk.get("/hosts?q=jo").json["hosts"]]
        assert names == ["Berit Johansson", "Johan Berg", "Johanna Ek"]
        assert kiosk.get("/hosts?q=old").json["hosts"] == []  # inactive hosts stay hidden

    def test_search_never_dumps_the_directory(self, pair: Any, site: Any, make_host: Any):
        for number in range(20):
            make_host(site, name=f"Anna Andersson {number:02d}")
        result = pair(site).get("/hosts?q=an").json
        assert len(result["hosts"]) == 8
        assert result["more"] is True

    def test_search_of_a_site_without_host_field(self, make_site: Any, make_host: Any, pair: Any):
        site = make_site(field_host="hidden")
        make_host(site, name="Secret Person")
        assert pair(site).get("/hosts?q=se").json == {"hosts": []}
