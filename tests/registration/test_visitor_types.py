"""Visitor types at the kiosk (issue 15): asked first when a site has several, as big
buttons; the details screen asks what the type asks; the visit records its type; the badge
band, the host's email and the first layer of the notice follow the type."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.badges.content import badge_content
from kiosk.clock import FrozenClock
from kiosk.models import Invitation, NoticeVersion, Site, Visit, VisitorType
from kiosk.notifications.messages import arrival_messages
from kiosk.notifications.outbox import NotifySettings
from kiosk.services.first_layer import first_layer
from kiosk.services.invitations import create_invitation
from kiosk.services.visitor_types import add_default_types, retire_type, type_name


@pytest.fixture
def site(make_site: Any, session: Session, clock: FrozenClock) -> Site:
    site = make_site(default_locale="en")
    add_default_types(session, site, now=clock.now())
    session.commit()
    return site


def types_by_key(session: Session, site: Site) -> dict[str, VisitorType]:
    return {
        t.key or "": t
        for t in session.scalars(select(VisitorType).where(VisitorType.site_id == site.id))
    }


EMAIL = NotifySettings(email_enabled=True, queue_limit=100, max_attempts=3, retry_seconds=1)


def host_emails(app: Flask, session: Session, visit: Visit) -> list[str]:
    """The messages this check-in sets off with email configured (rendered, not sent)."""
    with app.test_request_context():
        visit = session.get(Visit, visit.id)
        return [message.kind for message in arrival_messages(visit, EMAIL)]


def choose(kiosk: FlaskClient, visitor_type: VisitorType) -> Any:
    return kiosk.post("/check-in/type", data={"visitor_type": str(visitor_type.id)})


def finish(kiosk: FlaskClient, session: Session, **fields: str) -> Visit:
    response = kiosk.post("/check-in", data=fields)
    assert response.status_code == 302, response.text
    assert response.location.endswith("/notice")
    kiosk.get("/notice")
    assert kiosk.post("/notice", data={"read": "1"}).location.endswith("/done")
    return session.scalars(select(Visit).order_by(Visit.id.desc())).first()


def test_a_new_site_asks_the_type_first_as_big_buttons(pair: Any, site: Site):
    kiosk = pair(site)
    response = kiosk.get("/check-in")
    assert response.status_code == 302
    assert response.location.endswith("/check-in/type")
    page = kiosk.get("/check-in/type").text
    buttons = re.findall(
        r'<button type="submit" name="visitor_type" value="\d+"[^>]*>([^<]+)<', page
    )
    assert buttons == ["Guest", "Contractor", "Interview", "Delivery"]


def test_the_type_names_are_translated(pair: Any, site: Site):
    kiosk = pair(site)
    kiosk.post("/language", data={"locale": "sv", "next": ".choose_type"})
    page = kiosk.get("/check-in/type").text
    assert "Hantverkare" in page or "Entreprenör" in page, page


def test_the_contractor_is_asked_for_company_and_gets_a_contractor_badge(
    app: Flask, pair: Any, site: Site, session: Session, make_host: Any
):
    host = make_host(site)
    kiosk = pair(site)
    contractor = types_by_key(session, site)["contractor"]
    assert choose(kiosk, contractor).location.endswith("/check-in")
    form = kiosk.get("/check-in").text
    assert 'name="company"' in form
    assert 'name="email"' not in form
    refused = kiosk.post("/check-in", data={"name": "Cole Contractor", "host_id": str(host.id)})
    assert refused.status_code == 200
    assert "Please enter your company." in refused.text
    visit = finish(
        kiosk,
        session,
        name="Cole Contractor",
        company="Pipes AB",
        purpose="Plumbing",
        host_id=str(host.id),
    )
    assert visit.visitor_type_id == contractor.id
    with app.app_context():
        visit = session.get(Visit, visit.id)
        content = badge_content(visit)
    assert content.band_text == "CONTRACTOR"
    assert content.band_colour == "#C2410C"


def test_the_interview_hides_company_and_purpose_and_says_visitor_on_the_badge(
    app: Flask, pair: Any, site: Site, session: Session, make_host: Any
):
    host = make_host(site)
    kiosk = pair(site)
    choose(kiosk, types_by_key(session, site)["interview"])
    form = kiosk.get("/check-in").text
    assert 'name="company"' not in form
    assert 'name="purpose"' not in form
    visit = finish(
        kiosk, session, name="Ina Interview", company="Secret Corp", host_id=str(host.id)
    )
    assert visit.company is None
    with app.app_context():
        assert badge_content(session.get(Visit, visit.id)).band_text == "VISITOR"


def test_a_type_that_does_not_tell_the_host_queues_no_host_email(
    app: Flask, pair: Any, site: Site, session: Session, make_host: Any
):
    host = make_host(site)
    delivery = types_by_key(session, site)["delivery"]
    delivery.notify_host = False
    session.commit()
    kiosk = pair(site)
    choose(kiosk, delivery)
    visit = finish(kiosk, session, name="Del Ivery", company="Parcels AB", host_id=str(host.id))
    assert host_emails(app, session, visit) == []
    guest = types_by_key(session, site)["guest"]
    kiosk = pair(site)
    choose(kiosk, guest)
    visit = finish(kiosk, session, name="Gus Guest", host_id=str(host.id))
    assert host_emails(app, session, visit) == ["host_email"]


def test_a_retired_type_is_not_offered_and_cannot_be_posted(
    pair: Any, site: Site, session: Session, clock: FrozenClock
):
    types = types_by_key(session, site)
    types["delivery"].retired_at = clock.now()
    session.commit()
    kiosk = pair(site)
    page = kiosk.get("/check-in/type").text
    assert "Delivery" not in page
    refused = choose(kiosk, types["delivery"])
    assert refused.status_code == 200
    assert "Please choose one of the buttons." in refused.text
    assert kiosk.get("/check-in").location.endswith("/check-in/type")


def test_a_site_with_one_type_asks_no_type_and_records_it(
    app: Flask, pair: Any, make_site: Any, session: Session, clock: FrozenClock, make_host: Any
):
    # As migration 0020 leaves every existing site: one "Visitor" type with nothing of its own.
    site = make_site(field_email="optional")
    only = VisitorType(site_id=site.id, key="visitor", position=0, created_at=clock.now())
    session.add(only)
    session.commit()
    host = make_host(site)
    kiosk = pair(site)
    form = kiosk.get("/check-in")
    assert form.status_code == 200
    assert 'name="email"' in form.text
    assert 'name="company"' in form.text
    assert "chosen-type" not in form.text
    visit = finish(kiosk, session, name="Vic Visitor", host_id=str(host.id))
    assert visit.visitor_type_id == only.id
    assert host_emails(app, session, visit) == ["host_email"]


def test_the_first_layer_names_what_the_type_is_asked_and_how_long_it_is_kept(
    app: Flask, pair: Any, site: Site, session: Session
):
    types = types_by_key(session, site)
    with app.test_request_context(), force_locale("en"):
        site = session.get(Site, site.id)
        delivery = session.get(VisitorType, types["delivery"].id)
        lines = {e.key: e.lines for e in first_layer(site, delivery)}
        assert (
            "We ask for your name and your company. If you wish, also whom you are visiting."
            in lines["purposes"]
        )
        assert lines["storage"][0] == "Deleted automatically 7 days after you check out."
        # Without a type (the public notice page), each type is named.
        everyone = {e.key: e.lines for e in first_layer(site)}
        assert any(
            line.startswith("Delivery: Deleted automatically 7 days")
            for line in everyone["storage"]
        )
        assert any(
            line.startswith(
                "Contractor: We ask for your name, your company, whom you are visiting, and the "
                "purpose of your visit."
            )
            for line in everyone["purposes"]
        )
        assert type_name(delivery, "en") == "Delivery"
    # The kiosk records the type's first layer as the notice the visitor saw.
    kiosk = pair(site)
    choose(kiosk, types["delivery"])
    kiosk.post("/check-in", data={"name": "Del", "company": "Parcels AB"})
    page = kiosk.get("/notice").text
    assert "7 days after you check out" in page
    recorded = session.scalars(select(NoticeVersion).where(NoticeVersion.generated)).all()
    assert any("We ask for your name and your company." in version.text for version in recorded)


def test_changing_the_type_keeps_what_was_typed(pair: Any, site: Site, session: Session):
    types = types_by_key(session, site)
    kiosk = pair(site)
    choose(kiosk, types["guest"])
    kiosk.post("/check-in", data={"name": "Gale", "company": "Winds AB", "ask_reception": "y"})
    page = kiosk.get("/check-in").text
    assert "chosen-type" in page
    assert 'value="Gale"' in page
    choose(kiosk, types["contractor"])
    page = kiosk.get("/check-in").text
    assert 'value="Winds AB"' in page


def test_leaving_the_form_half_typed_for_the_type_or_a_language_keeps_it(
    pair: Any, site: Site, session: Session, make_host: Any
):
    """The guided form is sent only at its end: "Change" (and Back on its first step) and a
    language button lost everything typed (an outside review). They now send what was typed
    with where to go; it fills the form again and is no detail entered until the form is sent."""
    types = types_by_key(session, site)
    kiosk = pair(site)
    choose(kiosk, types["guest"])
    typed = {"name": "Gale Storm", "company": "Winds AB", "email": "not an address"}
    left = kiosk.post("/check-in", data={**typed, "leave": "type"})
    assert left.headers["Location"] == "/check-in/type"
    # Typed is not entered: the notice still needs the form sent.
    assert kiosk.get("/notice").headers["Location"] == "/check-in"
    choose(kiosk, types["contractor"])
    page = kiosk.get("/check-in").text
    assert 'value="Gale Storm"' in page
    assert 'value="Winds AB"' in page
    assert "not an address" not in page  # what its own checks refuse is not kept

    left = kiosk.post("/check-in", data={"name": "Gale Storm", "leave": "language", "locale": "fi"})
    assert left.headers["Location"] == "/check-in"
    page = kiosk.get("/check-in").text
    assert '<html lang="fi">' in page
    assert 'value="Gale Storm"' in page
    # An unknown language keeps the one there was.
    kiosk.post("/check-in", data={"name": "Gale Storm", "leave": "language", "locale": "xx"})
    assert '<html lang="fi">' in kiosk.get("/check-in").text
    # Sent at last, the form goes on as ever.
    visit = finish(
        kiosk,
        session,
        name="Gale Storm",
        company="Winds AB",
        purpose="Wind",
        host_id=str(make_host(site).id),
    )
    assert (visit.visitor_name, visit.company) == ("Gale Storm", "Winds AB")


def test_an_invited_visitor_is_asked_the_type_and_keeps_the_invitations_details(
    pair: Any, site: Site, session: Session, make_invitation: Any, make_host: Any
):
    host = make_host(site)
    invitation = make_invitation(site, "Ivy Invited", company="Ivy AB", host=host)
    kiosk = pair(site)
    response = kiosk.post("/invitation", data={"code": invitation.code})
    assert response.location.endswith("/check-in")
    assert kiosk.get("/check-in").location.endswith("/check-in/type")
    choose(kiosk, types_by_key(session, site)["contractor"])
    page = kiosk.get("/check-in").text
    assert 'value="Ivy Invited"' in page
    assert 'value="Ivy AB"' in page
    visit = finish(
        kiosk, session, name="Ivy Invited", company="Ivy AB", purpose="Audit", host_id=str(host.id)
    )
    session.expire_all()
    assert visit.visitor_type.key == "contractor"
    assert session.get(type(invitation), invitation.id).visit_id == visit.id


def test_reception_says_the_kind_of_visit_with_the_invitation_and_the_kiosk_keeps_it(
    pair: Any,
    site: Site,
    session: Session,
    make_site: Any,
    make_staff: Any,
    login: Any,
    make_host: Any,
    clock: FrozenClock,
):
    """Reception expects a contractor: the kiosk does not ask the invited visitor the kind
    of visit, shows it without "Change", and will not let it be changed (a contractor is not
    to become a guest with no briefing to sign). A type retired since is asked again; a type
    of another site is refused on the form."""
    types = types_by_key(session, site)
    other = make_site(name="Elsewhere", default_locale="en")
    add_default_types(session, other, now=clock.now())
    session.commit()
    staff = login(make_staff(sites=(site, other)))
    form = staff.get("/dashboard/expected/new").text
    listed = form.split('id="visitor_type"')[1].split("</select>")[0]
    options = [name for _, name in re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)<', listed)]
    # Each site's own, named with the site when reception serves several.
    assert options[0] == "Let the visitor choose at the kiosk"
    assert {f"Guest ({site.name})", f"Contractor ({other.name})"} <= set(options)
    assert len(options) == 1 + 2 * 4
    host = make_host(site)
    expected = {
        "site": site.id,
        "name": "Cora Carpenter",
        "company": "Cora AB",
        "host": host.id,
        "expected_on": clock.now().date().isoformat(),
        "locale": "en",
    }
    refused = staff.post(
        "/dashboard/expected/new",
        data=expected | {"visitor_type": types_by_key(session, other)["contractor"].id},
    )
    assert "This kind of visit is not offered at this site." in refused.text
    created = staff.post(
        "/dashboard/expected/new", data=expected | {"visitor_type": types["contractor"].id}
    )
    assert created.status_code == 200
    invitation = session.scalars(select(Invitation)).one()
    assert invitation.visitor_type_id == types["contractor"].id
    # Reception's list of who is expected says it too.
    listing = staff.get("/dashboard/").text
    assert 'Cora Carpenter<span class="tag type-tag">Contractor</span>' in listing

    kiosk = pair(site)
    assert kiosk.post("/invitation", data={"code": invitation.code}).location.endswith("/check-in")
    page = kiosk.get("/check-in")
    assert page.status_code == 200  # not sent to choose the kind of visit
    assert re.search(r'class="chosen-type">Contractor\s*</p>', page.text), page.text
    assert "/check-in/type" not in page.text
    assert kiosk.get("/check-in/type").location.endswith("/check-in")
    assert choose(kiosk, types["guest"]).location.endswith("/check-in")
    visit = finish(
        kiosk,
        session,
        name="Cora Carpenter",
        company="Cora AB",
        purpose="Audit",
        host_id=str(host.id),
    )
    assert visit.visitor_type_id == types["contractor"].id

    # Retired since the invitation was made: the visitor chooses.
    again = make_invitation_of_type(session, site, types["delivery"], clock)
    retire_type(types["delivery"], now=clock.now())
    session.commit()
    kiosk = pair(site)
    kiosk.post("/invitation", data={"code": again.code})
    assert kiosk.get("/check-in").location.endswith("/check-in/type")


def make_invitation_of_type(
    session: Session, site: Site, visitor_type: VisitorType, clock: FrozenClock
) -> Invitation:
    invitation = create_invitation(
        session,
        site,
        visitor_name="Dan Delivery",
        expected_on=clock.now().date(),
        locale="en",
        now=clock.now(),
        visitor_type=visitor_type,
    )
    session.commit()
    return invitation


def test_the_kind_of_visit_is_not_asked_on_the_form_where_the_kiosk_would_not_ask(
    site: Site, make_site: Any, make_staff: Any, login: Any
):
    """A site with one type gives it to every visitor: reception is not asked either."""
    single = make_site(name="Single")
    staff = login(make_staff(sites=(single,)))
    form = staff.get("/dashboard/expected/new").text
    assert 'id="visitor_type"' not in form
    assert "Kind of visit" not in form


def test_visitors_of_two_types_in_turn_add_one_generated_notice_per_type(
    pair: Any, site: Site, session: Session
):
    types = types_by_key(session, site)
    for number, key in enumerate(("guest", "delivery", "guest", "delivery")):
        kiosk = pair(site)
        choose(kiosk, types[key])
        finish(kiosk, session, name=f"Visitor {number}", company="Co", ask_reception="y")
    generated = session.scalars(select(NoticeVersion).where(NoticeVersion.generated)).all()
    assert len(generated) == 2
    visits = session.scalars(select(Visit).order_by(Visit.id)).all()
    assert visits[0].notice_version_id == visits[2].notice_version_id
    assert visits[1].notice_version_id == visits[3].notice_version_id
    assert visits[0].notice_version_id != visits[1].notice_version_id
