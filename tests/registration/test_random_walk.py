"""The kiosk's screens in any order: a visitor who goes back, taps twice, changes language
half-way, checks out a badge reception has just checked out, or posts a screen that is not
theirs yet. Each seed walks 600 steps through every kiosk route (with plausible and stale
input) while reception checks visitors out from the dashboard and an admin changes the site's
settings (a host deactivated, a visitor type retired or restored, groups allowed or not, a
new notice published, the site's language and the email field changed); no step may answer
a 5xx.

The route and form fuzzing sends each request alone, from a fresh start; what this adds is
the state a visitor builds up (details kept on the server, a group being entered, a notice
shown, a badge just printed) meeting every other screen. Seeds are fixed, so CI cannot flake.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import Host, Invitation, Site, Visit, VisitorType
from kiosk.services.notices import publish_notice
from kiosk.services.visitor_types import VisitorTypeError, restore_type, retire_type

STEPS = 600
PAGES = [
    "/",
    "/reset",
    "/check-in",
    "/check-in/type",
    "/notice",
    "/done",
    "/declined",
    "/badge.pdf",
    "/check-in/group",
    "/check-in/group/add",
    "/check-in/group/done",
    "/check-in/group/badges.pdf",
    "/check-in/sign",
    "/check-in/sign/declined",
    "/already",
    "/check-out",
    "/goodbye",
    "/invitation",
    "/hosts?q=Han",
    "/site-logo.png",
]
#: The same name twice on purpose: "already checked in?" and a group's repeated member.
NAMES = ["Ada Lovelace", "Bo Ek", "Ada Lovelace", "  ", "Åsa Öster"]


class Walk:
    """One visitor's kiosk and reception's dashboard, taking random steps."""

    def __init__(
        self,
        rnd: random.Random,
        session: Session,
        site: Site,
        host: Host,
        invitation: Invitation,
        kiosk: FlaskClient,
        reception: FlaskClient,
        now: Any,
    ) -> None:
        self.rnd, self.session, self.site = rnd, session, site
        self.host, self.invitation = host, invitation
        self.kiosk, self.reception = kiosk, reception
        self.now = now

    def steps(self) -> dict[str, Callable[[], tuple[str, Any]]]:
        """Each step and its weight in the walk (the check-in's own steps more often, so that
        visits get saved and the later screens have something to show)."""
        return {
            "page": self.page,
            "details": self.details,
            "visitor_type": self.visitor_type,
            "notice": self.notice,
            "notice_after_reading": self.notice_after_reading,
            "language": self.language,
            "companion": self.companion,
            "remove_companion": self.remove_companion,
            "already": self.already,
            "check_out": self.check_out,
            "invitation_code": self.invitation_code,
            "sign": self.sign,
            "print_failed": self.print_failed,
            "reception_checks_out": self.reception_checks_out,
            "settings_change": self.settings_change,
        }

    WEIGHTS = [3, 4, 1, 2, 4, 1, 2, 1, 1, 2, 1, 1, 1, 1, 2]

    def page(self) -> tuple[str, Any]:
        path = self.rnd.choice(PAGES)
        return path, self.kiosk.get(path)

    def details(self) -> tuple[str, Any]:
        rnd = self.rnd
        data = {"name": rnd.choice(NAMES), "company": rnd.choice(["", "Fjord AB"])}
        if rnd.random() < 0.5:
            data["host_query"] = rnd.choice(["Hanna Host", "Nobody", "Han"])
        if rnd.random() < 0.3:
            data["host_id"] = rnd.choice([str(self.host.id), "999", ""])
        if rnd.random() < 0.3:
            data["ask_reception"] = "y"
        if rnd.random() < 0.3:
            data["with_others"] = "1"
        return "/check-in", self.kiosk.post("/check-in", data=data)

    def visitor_type(self) -> tuple[str, Any]:
        types = list(
            self.session.scalars(select(VisitorType.id).where(VisitorType.site_id == self.site.id))
        )
        chosen = str(self.rnd.choice([*types, 999]))
        return "/check-in/type", self.kiosk.post("/check-in/type", data={"visitor_type": chosen})

    def notice(self) -> tuple[str, Any]:
        data = self.rnd.choice([{"read": "1"}, {"read": "1"}, {"decline": "1"}, {}])
        return "/notice", self.kiosk.post("/notice", data=data)

    def notice_after_reading(self) -> tuple[str, Any]:
        self.kiosk.get("/notice")
        return self.notice()

    def language(self) -> tuple[str, Any]:
        data = {
            "locale": self.rnd.choice(["sv", "de", "xx", "fi"]),
            "next": self.rnd.choice(["/notice", "/check-in", "//elsewhere.example", ""]),
        }
        return "/language", self.kiosk.post("/language", data=data)

    def companion(self) -> tuple[str, Any]:
        data = {"name": self.rnd.choice(NAMES), "company": ""}
        return "/check-in/group/add", self.kiosk.post("/check-in/group/add", data=data)

    def remove_companion(self) -> tuple[str, Any]:
        path = f"/check-in/group/remove/{self.rnd.randint(0, 3)}"
        return path, self.kiosk.post(path)

    def already(self) -> tuple[str, Any]:
        data = self.rnd.choice([{"reprint": "1"}, {"someone_else": "1"}, {}])
        return "/already", self.kiosk.post("/already", data=data)

    def check_out(self) -> tuple[str, Any]:
        codes = list(
            self.session.scalars(select(Visit.short_code).where(Visit.site_id == self.site.id))
        )
        code = self.rnd.choice([*codes, "ZZZZZZZ", ""])
        return "/check-out", self.kiosk.post("/check-out", data={"code": code})

    def invitation_code(self) -> tuple[str, Any]:
        code = self.rnd.choice([self.invitation.code, "NOPE1234", ""])
        return "/invitation", self.kiosk.post("/invitation", data={"code": code})

    def sign(self) -> tuple[str, Any]:
        data = self.rnd.choice([{"accept": "y", "sign": "1"}, {"decline": "1"}, {}])
        return "/check-in/sign", self.kiosk.post("/check-in/sign", data=data)

    def print_failed(self) -> tuple[str, Any]:
        return "/badge/print-failed", self.kiosk.post("/badge/print-failed")

    def reception_checks_out(self) -> tuple[str, Any]:
        on_site = list(
            self.session.scalars(
                select(Visit.id).where(
                    Visit.site_id == self.site.id, Visit.checked_out_at.is_(None)
                )
            )
        )
        path = f"/dashboard/visits/{self.rnd.choice([*on_site, 999])}/check-out"
        return path, self.reception.post(path, data={"back": "on_site"})

    def settings_change(self) -> tuple[str, Any]:
        """An admin's change, made through the services the settings pages use; then the
        kiosk's current screen again."""
        rnd, site = self.rnd, self.site
        change = rnd.choice(["host", "type", "companions", "notice", "locale", "email"])
        if change == "host":
            self.host.active = not self.host.active
        elif change == "type":
            types = list(site.visitor_types)
            if types:
                chosen = rnd.choice(types)
                try:
                    if chosen.retired_at:
                        restore_type(chosen)
                    else:
                        retire_type(chosen, now=self.now())
                except VisitorTypeError:
                    pass  # the last active type stays
        elif change == "companions":
            site.max_companions = rnd.choice([0, 1, 10])
        elif change == "notice":
            text = "Visitor data is kept for access control. " * 3
            publish_notice(self.session, site, rnd.choice(["en", "sv"]), text, now=self.now())
        elif change == "locale":
            site.default_locale = rnd.choice(["en", "sv", "de"])
        else:
            site.field_email = rnd.choice(["optional", "required", "hidden"])
        self.session.commit()
        return self.page()


@pytest.mark.parametrize("seed", range(6))
def test_any_order_of_kiosk_screens_is_answered(
    seed: int,
    pair: Any,
    make_site: Any,
    make_host: Any,
    make_invitation: Any,
    make_staff: Any,
    login: Any,
    session: Session,
    clock: Any,
):
    site = make_site(default_locale="en", field_email="optional", field_phone="optional")
    if seed % 2:  # half the walks choose a visitor type first
        for position, key in enumerate(["visitor", "contractor", "guest"]):
            session.add(
                VisitorType(site_id=site.id, key=key, position=position, created_at=clock.now())
            )
        session.commit()
    walk = Walk(
        random.Random(seed),
        session,
        site,
        make_host(site, "Hanna Host"),
        make_invitation(site, "Ivy Invited"),
        pair(site),
        login(make_staff(role="reception", sites=(site,))),
        clock.now,
    )
    steps = walk.steps()
    failed = []
    for number in range(STEPS):
        name = walk.rnd.choices(list(steps), weights=Walk.WEIGHTS)[0]
        path, response = steps[name]()
        if response.status_code >= 500 or b"Traceback" in response.get_data():
            failed.append((number, name, path, response.status_code))
        session.expire_all()
    assert not failed, failed[:10]
    # The walk got past the notice: a visit was saved on the way (1 to 25 a seed).
    assert session.scalar(select(Visit.id).where(Visit.site_id == site.id)) is not None
