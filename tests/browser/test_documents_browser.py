"""Documents to sign in Debian's Chromium (issue 15): an admin writes and publishes a safety
briefing (signed with a finger) and house rules (ticked) on the dashboard (1440x900) and has
contractors sign both; on the portrait kiosk (1080x1920) a contractor draws a signature with
pointer events and checks in; the stored PDF holds the text, the version and a non-empty
signature; a guest of the same site is not asked to sign. Screenshots of each screen land in
test-artifacts/screens/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pypdfium2 as pdfium
import pytest

from tests.browser.conftest import (
    SCREENS,
    Server,
    assert_accessible,
    shot,
    start_server,
    tap_next_until,
)
from tests.browser.test_badge_browser import log_in
from tests.browser.test_kiosk_screens import check_screen
from tests.browser.test_visitor_types_browser import add_type

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DESKTOP = {"width": 1440, "height": 900}
TEXT = "Safety briefing for {name} of {company} on {date}.\n\n" + "\n\n".join(
    f"{number}. Wear a helmet and safety shoes in the workshop; stay behind the yellow "
    "lines; report every incident to reception at once."
    for number in range(1, 16)
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(tmp_path_factory.mktemp("documents"))


def add_document(admin: Any, server: Server, title: str, acceptance: str, text: str) -> None:
    admin.goto(f"{server.base}/dashboard/admin/sites")
    admin.get_by_role("link", name="Documents to sign").first.click()
    admin.get_by_role("link", name="Add a document").click()
    admin.locator("#title").fill(title)
    admin.locator("#acceptance").select_option(acceptance)
    admin.locator("#retention_days").fill("400")
    admin.get_by_role("button", name="Save").click()
    admin.wait_for_url(re.compile(r"/admin/documents/\d+$"))
    shot(admin, f"desktop-admin-document-{acceptance}")
    admin.get_by_role("row", name=re.compile("English")).get_by_role("link", name="Write").click()
    admin.locator("#title").fill(title)
    admin.locator("#text").fill(text)
    shot(admin, f"desktop-admin-document-draft-{acceptance}")
    admin.get_by_role("button", name="Save and preview").click()
    admin.wait_for_url(re.compile(r"/admin/document-versions/\d+$"))
    assert "Alex Example" in admin.locator(".document-preview").inner_text()
    shot(admin, f"desktop-admin-document-preview-{acceptance}")
    admin.get_by_role("link", name="Back to the draft").click()
    admin.get_by_role("button", name="Publish").click()
    admin.wait_for_url(re.compile(r"/admin/documents/\d+$"))
    assert admin.get_by_text("Version 1 is published").is_visible()


def start_check_in(kiosk: Any, visitor_type: str, name: str, company: str | None) -> None:
    kiosk.get_by_role("button", name="English").tap()
    kiosk.wait_for_selector("html[lang=en]")
    kiosk.get_by_role("link", name="Check in", exact=True).tap()
    kiosk.wait_for_url(re.compile(r"/check-in/type$"))
    kiosk.get_by_role("button", name=visitor_type).tap()
    kiosk.wait_for_url(re.compile(r"/check-in$"))
    kiosk.get_by_label("Your name").fill(name)
    if company:
        tap_next_until(kiosk, kiosk.get_by_label("Company")).fill(company)
    tap_next_until(kiosk, kiosk.get_by_label("I don't know – please ask reception")).check()
    tap_next_until(kiosk, kiosk.get_by_role("button", name="Continue")).tap()
    kiosk.wait_for_url(re.compile(r"/notice$"))
    kiosk.get_by_role("button", name="I have read this – check me in").tap()


def draw_signature(page: Any) -> None:
    """A signature drawn as a finger would: pointer down, a zigzag of moves, pointer up."""
    box = page.locator("canvas[data-signature-pad]").bounding_box()
    assert box
    assert box["width"] > 500, box
    assert box["height"] > 150, box
    left, top, width, height = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(left + 0.1 * width, top + 0.7 * height)
    page.mouse.down()
    for step in range(1, 13):
        x = left + (0.1 + 0.065 * step) * width
        y = top + (0.3 if step % 2 else 0.75) * height
        page.mouse.move(x, y, steps=6)
    page.mouse.up()


def dark_pixels_of_images(pdf: bytes) -> int:
    """Dark pixels of the images embedded in the PDF (the signature, after the text)."""
    document = pdfium.PdfDocument(pdf)
    try:
        dark = 0
        for page in document:
            for obj in page.get_objects():
                if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE:
                    image = obj.get_bitmap().to_pil().convert("L")
                    dark += sum(image.histogram()[:128])
        return dark
    finally:
        document.close()


def test_a_contractor_signs_with_a_finger_and_a_guest_is_not_asked(
    server: Server, new_page: Any, kiosk_page: Any
):
    admin = new_page(viewport=DESKTOP)
    log_in(admin, server)
    add_type(admin, server, "Guest")
    add_type(admin, server, "Contractor", field_company="required")
    add_document(admin, server, "Safety briefing", "signature", TEXT)
    add_document(admin, server, "House rules", "tick", "No photos inside, {name}.")
    admin.get_by_role("link", name="All documents of this site").click()
    admin.wait_for_url(re.compile(r"/documents$"))
    assert admin.locator("tr[data-document]").count() == 2
    shot(admin, "desktop-admin-documents")
    # Contractors sign both.
    admin.goto(f"{server.base}/dashboard/admin/sites")
    admin.get_by_role("link", name="Visitor types").first.click()
    admin.get_by_role("row", name=re.compile("Contractor")).get_by_role("link", name="Edit").click()
    admin.get_by_label("Safety briefing").check()
    admin.get_by_label("House rules").check()
    shot(admin, "desktop-admin-visitor-type-documents")
    admin.get_by_role("button", name="Save").click()
    admin.wait_for_url(re.compile(r"/admin/sites/\d+/types$"))

    kiosk = kiosk_page(has_touch=True, is_mobile=False)
    start_check_in(kiosk, "Contractor", "Cole Contractor", "Pipes AB")
    kiosk.wait_for_url(re.compile(r"/check-in/sign$"))
    assert kiosk.locator("h1").inner_text() == "Safety briefing"
    text = kiosk.locator(".document-text")
    assert "Safety briefing for Cole Contractor of Pipes AB" in text.inner_text()
    # The long text scrolls inside its panel; the screen itself does not scroll.
    assert text.evaluate("e => e.scrollHeight > e.clientHeight")
    check_screen(kiosk, "portrait", "sign-empty")
    assert_accessible(kiosk, "sign-empty")
    for name in ("Clear", "Sign and continue", "I don't want to sign"):
        height = kiosk.get_by_role("button", name=name).bounding_box()["height"]
        assert height >= 80, (name, height)

    # No signature, no check-in.
    kiosk.get_by_role("button", name="Sign and continue").tap()
    kiosk.wait_for_selector("#signature-errors")
    assert kiosk.get_by_text("Please sign with your finger in the box").is_visible()
    shot(kiosk, "portrait-sign-error")

    # Drawn, cleared, drawn again.
    draw_signature(kiosk)
    kiosk.get_by_role("button", name="Clear").tap()
    assert kiosk.locator("canvas.signed").count() == 0
    draw_signature(kiosk)
    assert kiosk.locator("canvas.signed").count() == 1
    shot(kiosk, "portrait-sign-signed")
    kiosk.get_by_role("button", name="Sign and continue").tap()

    # The house rules: a tick.
    kiosk.wait_for_selector("h1:text('House rules')")
    assert "No photos inside, Cole Contractor." in kiosk.locator(".document-text").inner_text()
    check_screen(kiosk, "portrait", "sign-tick")
    assert_accessible(kiosk, "sign-tick")
    kiosk.get_by_label("I have read this document and I accept it").check()
    kiosk.get_by_role("button", name="Accept and continue").tap()
    kiosk.wait_for_url(re.compile(r"/done$"))

    # Reception finds the signed documents with the visit and downloads the PDF.
    admin.goto(f"{server.base}/dashboard/history")
    admin.get_by_label("Name starts with").fill("Cole")
    admin.locator(".search-form [type=submit]").click()
    admin.get_by_role("link", name="Cole Contractor").first.click()
    admin.wait_for_url(re.compile(r"/dashboard/visits/\d+$"))
    assert admin.locator("tr[data-signed-document]").count() == 2
    shot(admin, "desktop-visit-signed-documents")
    link = admin.locator("tr[data-signed-document]").first.get_by_role("link", name="View PDF")
    pdf = admin.request.get(server.base + link.get_attribute("href")).body()
    assert pdf.startswith(b"%PDF-")
    (SCREENS / "signed-document.pdf").write_bytes(pdf)  # a test artifact, to look at
    document = pdfium.PdfDocument(pdf)
    pdf_text = "\n".join(page.get_textpage().get_text_range() for page in document)
    document.close()
    assert "Safety briefing for Cole Contractor of Pipes AB" in pdf_text
    assert "Version 1" in pdf_text
    assert "Signed by: Cole Contractor" in pdf_text
    assert dark_pixels_of_images(pdf) > 300

    # A guest of the same site signs nothing.
    guest = kiosk_page(has_touch=True, is_mobile=False)
    start_check_in(guest, "Guest", "Gail Guest", None)
    guest.wait_for_url(re.compile(r"/done$"))


def test_i_dont_want_to_sign_goes_to_reception(server: Server, kiosk_page: Any):
    kiosk = kiosk_page(has_touch=True, is_mobile=False)
    start_check_in(kiosk, "Contractor", "Nina Nosign", "Pipes AB")
    kiosk.wait_for_url(re.compile(r"/check-in/sign$"))
    # Back is there, to the notice, with everything kept (there was no way back: an outside
    # review); declining stands apart from the other buttons.
    sign = kiosk.get_by_role("button", name="Sign and continue").bounding_box()
    back = kiosk.get_by_role("link", name="Back").bounding_box()
    decline = kiosk.get_by_role("button", name="I don't want to sign").bounding_box()
    assert decline["y"] - (back["y"] + back["height"]) >= 2 * (
        back["y"] - (sign["y"] + sign["height"])
    )
    shot(kiosk, "portrait-sign-actions")
    kiosk.get_by_role("link", name="Back").tap()
    kiosk.wait_for_url(re.compile(r"/notice$"))
    kiosk.get_by_role("button", name="I have read this – check me in").tap()
    kiosk.wait_for_url(re.compile(r"/check-in/sign$"))
    kiosk.get_by_role("button", name="I don't want to sign").tap()
    kiosk.wait_for_url(re.compile(r"/check-in/sign/declined$"))
    assert kiosk.get_by_role("heading", name="Please ask reception").is_visible()
    shot(kiosk, "portrait-sign-declined")


def test_an_expected_contractor_is_not_asked_the_kind_of_visit_and_signs(
    server: Server, new_page: Any, kiosk_page: Any
):
    """Reception says the kind of visit with the invitation: the invited contractor goes from
    the code straight to their details, sees "Contractor" with no way to change it, and the
    briefing follows the notice."""
    admin = new_page(viewport=DESKTOP)
    log_in(admin, server)
    admin.goto(f"{server.base}/dashboard/expected/new")
    admin.get_by_label("Visitor's name").fill("Ivo Invited")
    admin.get_by_label("Company", exact=True).fill("Pipes AB")
    admin.get_by_label("Kind of visit").select_option(label="Contractor")
    shot(admin, "desktop-expect-a-contractor")
    admin.get_by_role("button", name="Register the visit").click()
    code = admin.locator(".pairing-code").inner_text().strip()

    kiosk = kiosk_page(has_touch=True, is_mobile=False)
    kiosk.get_by_role("button", name="English").tap()
    kiosk.wait_for_selector("html[lang=en]")
    kiosk.get_by_role("link", name="I have an invitation").tap()
    kiosk.get_by_label("Invitation code").fill(code)
    kiosk.keyboard.press("Enter")
    kiosk.wait_for_url(re.compile(r"/check-in$"))
    chosen = kiosk.locator(".chosen-type")
    assert chosen.inner_text().strip() == "Contractor"
    assert chosen.get_by_role("link").count() == 0  # no "Change"
    assert kiosk.get_by_label("Company").input_value() == "Pipes AB"
    check_screen(kiosk, "portrait", "invitation-contractor")
    kiosk.get_by_label("I don't know – please ask reception").check()
    kiosk.get_by_role("button", name="Continue").tap()
    kiosk.wait_for_url(re.compile(r"/notice$"))
    kiosk.get_by_role("button", name="I have read this – check me in").tap()
    kiosk.wait_for_url(re.compile(r"/check-in/sign$"))
    assert (
        "Safety briefing for Ivo Invited of Pipes AB"
        in kiosk.locator(".document-text").inner_text()
    )


def test_a_group_of_contractors_signs_in_turn(server: Server, kiosk_page: Any):
    """The kiosk is passed along: the screen says whose turn it is, each person signs the
    briefing and ticks the house rules under their own name, and the group checks in."""
    kiosk = kiosk_page(has_touch=True, is_mobile=False)
    kiosk.get_by_role("button", name="English").tap()
    kiosk.wait_for_selector("html[lang=en]")
    kiosk.get_by_role("link", name="Check in", exact=True).tap()
    kiosk.get_by_role("button", name="Contractor").tap()
    kiosk.wait_for_url(re.compile(r"/check-in$"))
    kiosk.get_by_label("Your name").fill("Gus Groupleader")
    tap_next_until(kiosk, kiosk.get_by_label("Company")).fill("Pipes AB")
    tap_next_until(kiosk, kiosk.get_by_label("I don't know – please ask reception")).check()
    tap_next_until(kiosk, kiosk.get_by_role("button", name="I am with others")).tap()
    kiosk.wait_for_url(re.compile(r"/check-in/group$"))
    kiosk.get_by_role("link", name="Add another person").tap()
    kiosk.wait_for_url(re.compile(r"/check-in/group/add$"))
    kiosk.get_by_label("Name", exact=True).fill("Hedda Helper")  # a companion: not "Your"
    tap_next_until(kiosk, kiosk.get_by_label("Company")).fill("Pipes AB")
    tap_next_until(kiosk, kiosk.get_by_role("button", name="Add this person")).tap()
    kiosk.wait_for_url(re.compile(r"/check-in/group$"))
    kiosk.get_by_role("link", name="Continue").tap()
    kiosk.wait_for_url(re.compile(r"/notice$"))
    kiosk.get_by_role("button", name="I have read this – check me in").tap()

    for name in ("Gus Groupleader", "Hedda Helper"):
        kiosk.wait_for_selector("h1:text('Safety briefing')")
        assert kiosk.locator(".signer-turn").inner_text() == f"For {name} to sign"
        assert f"Safety briefing for {name}" in kiosk.locator(".document-text").inner_text()
        if name == "Hedda Helper":
            check_screen(kiosk, "portrait", "sign-group-turn")
        draw_signature(kiosk)
        kiosk.get_by_role("button", name="Sign and continue").tap()
        kiosk.wait_for_selector("h1:text('House rules')")
        assert kiosk.locator(".signer-turn").inner_text() == f"For {name} to sign"
        kiosk.get_by_label("I have read this document and I accept it").check()
        kiosk.get_by_role("button", name="Accept and continue").tap()
    kiosk.wait_for_url(re.compile(r"/check-in/group/done$"))
    assert kiosk.get_by_text("Hedda Helper").first.is_visible()
