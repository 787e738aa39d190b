"""Check-out by badge (scanner or typed code) and arriving with an invitation."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import Invitation, Visit
from kiosk.services.invitations import create_invitation
from tests.support import destroy_every_key


@pytest.fixture
def site(make_site: Any) -> Any:
    return make_site(field_host="optional")


@pytest.fixture
def kiosk(pair: Any, site: Any) -> FlaskClient:
    return pair(site)


@pytest.mark.parametrize(
    "typed",
    [
        lambda v: v.badge_token,  # a USB scanner types the token
        lambda v: f"https://kiosk.example/b/{v.badge_token}",  # or a URL carrying only it
        lambda v: v.short_code.lower(),  # a person types the code
        lambda v: f" {v.short_code[:3]} {v.short_code[3:]} ",
        # A full-width keyboard's letters and digits, an en dash, a zero-width space.
        lambda v: "".join(chr(ord(char) + 0xFEE0) for char in v.short_code),
        lambda v: f"{v.short_code[:3]}\u2013{v.short_code[3:]}",
        lambda v: f"{v.short_code[:3]}\u200b{v.short_code[3:]}",
    ],
)
def test_check_out_by_badge(
    kiosk: FlaskClient, site: Any, make_visit: Any, session: Session, clock: Any, typed: Any
):
    visit = make_visit(site, visitor_name="Greta Garbo")
    clock.advance(timedelta(hours=2))
    response = kiosk.post("/check-out", data={"code": typed(visit)})
    assert response.headers["Location"] == "/goodbye"
    session.refresh(visit)
    assert visit.checked_out_at == clock.now()
    goodbye = kiosk.get("/goodbye").text
    assert "Greta" in goodbye
    assert "Garbo" not in goodbye
    assert kiosk.get("/goodbye").headers["Location"] == "/"


def test_the_badge_of_an_erased_visit_checks_out_and_says_goodbye_without_a_name(
    app: Any, kiosk: FlaskClient, site: Any, make_visit: Any, session: Session, clock: Any
):
    """Between the purge destroying a day's keys and deleting its rows (a crash, or a database
    restored from an older copy) a visitor may still scan their badge: they are checked out
    (the building's count stays right), and the goodbye greets nobody by name, neither a
    blank nor "(erased)", which are for staff."""
    visit = make_visit(site, visitor_name="Greta Garbo")
    destroy_every_key(app, site.id, clock.now())
    session.expire_all()
    response = kiosk.post("/check-out", data={"code": visit.short_code})
    assert response.headers["Location"] == "/goodbye"
    session.refresh(visit)
    assert visit.checked_out_at == clock.now()
    goodbye = kiosk.get("/goodbye")
    assert goodbye.status_code == 200
    # The heading is the page's title ("Goodbye" in the site's language), with no name.
    title = re.search(r"<title>(.+?) – ", goodbye.text)
    assert title is not None
    assert f"<h1>{title[1]}</h1>" in goodbye.text
    assert "Greta" not in goodbye.text
    assert "erased" not in goodbye.text


def test_a_badge_printed_before_the_days_character_still_checks_out(
    kiosk: FlaskClient, site: Any, make_visit: Any, session: Session, clock: Any
):
    """Badges printed before short codes began with their day's character carry six random
    characters: typed, they still check out, as the seven-character codes do."""
    old = make_visit(site, visitor_name="Olle Older", short_code="K7MX3Q")
    new = make_visit(site, visitor_name="Nina Newer")
    assert len(new.short_code) == 7
    for visit in (old, new):
        response = kiosk.post("/check-out", data={"code": visit.short_code.lower()})
        assert response.headers["Location"] == "/goodbye"
        session.refresh(visit)
        assert visit.checked_out_at == clock.now()


def test_check_out_twice_says_so(kiosk: FlaskClient, site: Any, make_visit: Any, clock: Any):
    visit = make_visit(site, checked_out_at=clock.now())
    response = kiosk.post("/check-out", data={"code": visit.short_code})
    assert response.status_code == 200
    assert "has-error" in response.text
    # The code stays in its field (kiosk.js selects it: the next scan replaces it whole).
    assert f'value="{visit.short_code}"' in response.text


@pytest.mark.parametrize("code", ["ZZZZZZ", "not a code at all", "x" * 40])
def test_unknown_badge(kiosk: FlaskClient, site: Any, code: str):
    response = kiosk.post("/check-out", data={"code": code})
    assert response.status_code == 200
    assert "has-error" in response.text


def test_badge_of_another_site_is_unknown_here(
    kiosk: FlaskClient, make_site: Any, make_visit: Any, session: Session
):
    visit = make_visit(make_site())
    response = kiosk.post("/check-out", data={"code": visit.badge_token})
    assert response.status_code == 200
    session.refresh(visit)
    assert visit.checked_out_at is None


def test_check_out_screen_takes_scanner_input(kiosk: FlaskClient):
    page = kiosk.get("/check-out").text
    assert 'name="code"' in page
    assert "autofocus" in page


class TestInvitation:
    @pytest.fixture
    def invitation(self, site: Any, make_host: Any, session: Session, clock: Any) -> Invitation:
        host = make_host(site, name="Hanna Host")
        invitation = create_invitation(
            session,
            site,
            visitor_name="Ingrid Invited",
            company="Guest AB",
            host=host,
            expected_on=date(2026, 3, 4),
            locale="en",
            now=clock.now(),
        )
        session.commit()
        return invitation

    def test_invited_visitor_confirms_details_and_checks_in(
        self, kiosk: FlaskClient, invitation: Invitation, session: Session
    ):
        response = kiosk.post("/invitation", data={"code": invitation.code.lower()})
        assert response.headers["Location"] == "/check-in"
        form = kiosk.get("/check-in").text
        assert 'value="Ingrid Invited"' in form
        assert 'value="Guest AB"' in form
        assert 'value="Hanna Host"' in form
        kiosk.post(
            "/check-in",
            data={
                "name": "Ingrid Invited",
                "company": "Guest AB",
                "host_id": str(invitation.host_id),
                "host_query": "Hanna Host",
            },
        )
        kiosk.get("/notice")
        kiosk.post("/notice", data={"read": "1"})
        visit = session.scalars(select(Visit)).one()
        session.refresh(invitation)
        assert invitation.visit_id == visit.id
        assert visit.host_id == invitation.host_id

    def test_an_erased_invitation_still_lets_its_visitor_check_in(
        self,
        app: Any,
        kiosk: FlaskClient,
        site: Any,
        invitation: Invitation,
        session: Session,
        clock: Any,
    ):
        """An invitation whose key went while its row stayed (a crash between the purge's two
        steps, or a restored older copy) still lets its visitor in: the form comes empty,
        never "(erased)" in a field, and what they type is kept."""
        destroy_every_key(app, site.id, clock.now())
        session.expire_all()
        response = kiosk.post("/invitation", data={"code": invitation.code})
        assert response.headers["Location"] == "/check-in"
        form = kiosk.get("/check-in")
        assert form.status_code == 200
        assert "Ingrid" not in form.text
        assert "erased" not in form.text
        assert 'value="Hanna Host"' in form.text  # the host is no personal field of the guest
        kiosk.post(
            "/check-in",
            data={
                "name": "Ingrid Typed",
                "company": "Typed AB",
                "host_id": str(invitation.host_id),
                "host_query": "Hanna Host",
            },
        )
        assert kiosk.get("/notice").status_code == 200
        assert kiosk.post("/notice", data={"read": "1"}).headers["Location"] == "/done"
        assert kiosk.get("/done").status_code == 200
        assert kiosk.get("/badge.pdf").status_code == 200
        visit = session.scalars(select(Visit)).one()
        assert (visit.visitor_name, visit.company) == ("Ingrid Typed", "Typed AB")
        assert visit.host_id == invitation.host_id

    @pytest.mark.parametrize(
        "typed",
        [
            lambda code: "".join(chr(ord(char) + 0xFEE0) for char in code),
            lambda code: f"{code[:4]}\u200b{code[4:]}",
            lambda code: f"{code[:4]}\u2010{code[4:].lower()}",
        ],
    )
    def test_a_typed_invitation_code_in_other_characters(
        self, kiosk: FlaskClient, invitation: Invitation, typed: Any
    ):
        response = kiosk.post("/invitation", data={"code": typed(invitation.code)})
        assert response.headers["Location"] == "/check-in"

    def test_scanned_invitation_token(self, kiosk: FlaskClient, invitation: Invitation):
        response = kiosk.post("/invitation", data={"code": invitation.token})
        assert response.headers["Location"] == "/check-in"

    def test_used_invitation(
        self,
        kiosk: FlaskClient,
        invitation: Invitation,
        site: Any,
        make_visit: Any,
        session: Session,
    ):
        invitation.visit_id = make_visit(site).id
        session.commit()
        response = kiosk.post("/invitation", data={"code": invitation.code})
        assert response.status_code == 200
        assert "has-error" in response.text

    def test_invitation_for_another_day(
        self, kiosk: FlaskClient, invitation: Invitation, clock: Any
    ):
        clock.advance(timedelta(days=1))
        response = kiosk.post("/invitation", data={"code": invitation.code})
        assert response.status_code == 200
        assert "has-error" in response.text

    def test_cancelled_invitation(
        self, kiosk: FlaskClient, invitation: Invitation, session: Session, clock: Any
    ):
        invitation.cancelled_at = clock.now()
        session.commit()
        assert kiosk.post("/invitation", data={"code": invitation.code}).status_code == 200

    def test_invitation_of_another_site(self, pair: Any, make_site: Any, invitation: Invitation):
        other = pair(make_site())
        assert other.post("/invitation", data={"code": invitation.code}).status_code == 200

    def test_an_invitation_turns_into_one_visit_only(
        self, kiosk: FlaskClient, pair: Any, site: Any, invitation: Invitation, session: Session
    ):
        # Two kiosks start the same invitation; the second to confirm gets a plain check-in.
        second = pair(site)
        for client in (kiosk, second):
            client.post("/invitation", data={"code": invitation.code})
            client.post("/check-in", data={"name": "Ingrid Invited", "ask_reception": "y"})
            client.get("/notice")
        kiosk.post("/notice", data={"read": "1"})
        response = second.post("/notice", data={"read": "1"})
        assert response.headers["Location"].startswith("/check-in?problem=invitation_used")
        assert len(session.scalars(select(Visit)).all()) == 1
