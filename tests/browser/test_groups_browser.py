"""Group check-in in Debian's Chromium (issue 15): on a portrait kiosk (1080x1920, touch) the
first visitor taps "I am with others", adds two companions with the on-screen keyboard, and
the group of three checks in: three badges whose QR codes decode to three different tokens,
and exactly one email to the host at a real SMTP server. The dashboard (1440x900) shows the
group together with the visitors' type. Screenshots land in test-artifacts/screens/."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.services.demo import DEMO_HOSTS
from tests.browser.conftest import Server, assert_accessible, shot, start_server, tap_next_until
from tests.browser.test_badge_browser import log_in
from tests.browser.test_visitor_types_browser import add_type
from tests.servers import Inbox, smtp_server
from tests.support import decode_qr_codes, require_tool, run_kiosk

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def mail_and_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Inbox, Server]]:
    with smtp_server() as (port, inbox):
        yield from (
            (inbox, server)
            for server in start_server(
                tmp_path_factory.mktemp("groups"),
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=str(port),
                SMTP_STARTTLS="false",
                MAIL_FROM="reception@example.com",
            )
        )


@pytest.fixture(scope="module")
def server(mail_and_server: tuple[Inbox, Server]) -> Server:
    return mail_and_server[1]


def qr_tokens(pdf: bytes, tmp_path: Path) -> list[str]:
    """The QR code of every page of the PDF (poppler renders, zxing-cpp decodes)."""
    pdftoppm = require_tool("pdftoppm", "poppler-utils")
    source = tmp_path / "badges.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-r", "200", "-gray", "-png", str(source), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    tokens = []
    for page in sorted(tmp_path.glob("page*.png")):
        found = decode_qr_codes(page)
        assert len(found) == 1, (page.name, found)
        tokens.extend(found)
    return tokens


def test_a_group_of_three_checks_in_with_three_badges_and_one_host_email(
    mail_and_server: tuple[Inbox, Server], new_page: Any, kiosk_page: Any, tmp_path: Path
):
    inbox, server = mail_and_server
    host_name, host_email = DEMO_HOSTS[0]
    admin = new_page(viewport=DESKTOP)
    log_in(admin, server)
    add_type(admin, server, "Guest")
    add_type(admin, server, "Contractor", band_label_en="CONTRACTOR", band_colour="#C2410C")

    kiosk = kiosk_page(has_touch=True, is_mobile=False)
    kiosk.get_by_role("button", name="English").tap()
    kiosk.wait_for_selector("html[lang=en]")
    kiosk.get_by_role("link", name="Check in", exact=True).tap()
    kiosk.get_by_role("button", name="Guest").tap()
    kiosk.wait_for_url(re.compile(r"/check-in$"))
    kiosk.get_by_label("Your name").fill("Ann Lead")
    tap_next_until(kiosk, kiosk.get_by_label("Whom are you visiting?")).fill(host_name)
    with_others = tap_next_until(kiosk, kiosk.get_by_role("button", name="I am with others"))
    shot(kiosk, "portrait-group-entry")
    with_others.tap()
    kiosk.wait_for_url(re.compile(r"/check-in/group$"))

    for number, name in ((2, "Bo Two"), (3, "Cy Three")):
        kiosk.get_by_role("link", name="Add another person").tap()
        kiosk.wait_for_url(re.compile(r"/check-in/group/add$"))
        assert kiosk.get_by_role("heading", name=f"Person {number} in the group").is_visible()
        field = kiosk.get_by_label("Name", exact=True)  # they may be someone else: not "Your"
        if number == 2:
            # Nothing typed: the same message as for the first visitor, and the step stays.
            kiosk.locator(".step-next").tap()
            assert kiosk.get_by_text("Please enter your name.").first.is_visible()
            field.tap()
            kiosk.wait_for_selector("#osk", state="visible")
            shot(kiosk, "portrait-group-companion-keyboard")
        field.fill(name)
        tap_next_until(kiosk, kiosk.get_by_role("button", name="Add this person")).tap()
        kiosk.wait_for_url(re.compile(r"/check-in/group$"))

    members = kiosk.locator(".group-member .member-name")
    assert members.all_inner_texts() == ["Ann Lead", "Bo Two", "Cy Three"]
    assert kiosk.get_by_role("button", name="Remove Bo Two").is_visible()
    shot(kiosk, "portrait-group-list")
    assert_accessible(kiosk, "group-list")
    kiosk.get_by_role("link", name="Continue").tap()
    kiosk.wait_for_url(re.compile(r"/notice$"))
    kiosk.get_by_role("button", name="I have read this – check me in").tap()
    kiosk.wait_for_url(re.compile(r"/check-in/group/done$"))
    codes = kiosk.locator("tr[data-badge-code]")
    assert codes.count() == 3
    kiosk.wait_for_selector("html[data-badge-printed=true]")  # one print of all three
    shot(kiosk, "portrait-group-done")
    assert_accessible(kiosk, "group-done")

    badges = kiosk.request.get(f"{server.base}/check-in/group/badges.pdf")
    assert badges.ok, badges.status
    tokens = qr_tokens(badges.body(), tmp_path)
    assert len(tokens) == 3, tokens
    assert len(set(tokens)) == 3, tokens

    messages = inbox.wait_for(1, timeout=20)
    time.sleep(2)  # a second message, were one sent, would have arrived by now
    assert len(inbox.messages) == 1, [m["Subject"] for m in inbox.messages]
    message = messages[0]
    assert message["To"] == host_email
    assert "Ann Lead" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    # In the host's language (the demo site's: Swedish).
    assert "Bo Two" in body
    assert "Cy Three" in body
    assert "3 personer totalt" in body

    admin.goto(f"{server.base}/dashboard/")
    rows = admin.locator("table.visits tr.in-group")
    assert rows.count() == 3
    assert admin.locator(".group-tag").inner_text() == "Group of 3"
    assert admin.locator(".type-tag").first.inner_text() == "Guest"
    shot(admin, "desktop-dashboard-group")
    admin.goto(f"{server.base}/dashboard/today")
    assert admin.locator("table.visits tr.in-group").count() == 3
    shot(admin, "desktop-dashboard-today-group")

    # A purge run records each visitor type's cutoff; the retention page shows it.
    run_kiosk(["purge"], server.env)
    admin.goto(f"{server.base}/dashboard/retention")
    assert admin.locator(".run-types li").count() == 2
    shot(admin, "desktop-retention-types")
