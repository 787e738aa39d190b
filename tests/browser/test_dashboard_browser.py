"""Reception's dashboard in Chromium: its two navigation bars, and the history search."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.test_badge_browser import check_in, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _spread(page: Any, selector: str) -> float:
    """How far apart (px) the top edges of the boxes ``selector`` matches lie: a few px when
    they share a line (a button sits a pixel off a link), a line's height or more when not."""
    boxes = page.locator(selector)
    tops = [boxes.nth(i).bounding_box()["y"] for i in range(boxes.count())]
    return max(tops) - min(tops)


@pytest.mark.parametrize("width", [1024, 1440])
def test_each_navigation_bar_is_one_line_at_desk_widths(new_page: Any, server: Any, width: int):
    page = new_page(viewport={"width": width, "height": 800})
    log_in(page, server)
    daily = page.get_by_role("navigation", name="Daily work")
    administration = page.get_by_role("navigation", name="Administration")
    for name in (
        "On site now",
        "Today",
        "History",
        "Expect a visitor",
        "Badge prints",
        "Evacuation list",
        "Notifications",
    ):
        assert daily.get_by_role("link", name=name, exact=True).is_visible()
    for name in ("Admin", "Kiosks", "Statistics", "Export", "Requests", "Retention", "Audit log"):
        assert administration.get_by_role("link", name=name, exact=True).is_visible()
    assert administration.get_by_role("button", name="Log out").is_visible()
    # The admin has every link: sixteen wrapped onto a second line at 1440 px when they were
    # one bar.
    assert _spread(page, ".dashboard-nav > a") < 5
    assert _spread(page, ".dashboard-subnav > a, .dashboard-subnav button") < 5


def test_clear_the_search_sits_beside_search_and_forgets_it(
    kiosk_page: Any, new_page: Any, server: Any
):
    check_in(kiosk_page(), "Quentin Clearwater")
    page = new_page(viewport={"width": 1440, "height": 900})
    log_in(page, server)
    page.get_by_role("navigation", name="Daily work").get_by_role("link", name="History").click()
    page.get_by_label("Name starts with").fill("clearw")
    page.get_by_role("button", name="Search", exact=True).click()
    # The search posts, then the browser follows the redirect to the results: wait for them
    # (is_visible() does not wait, and CI once looked before the results page had loaded).
    page.get_by_role("row").filter(has_text="Quentin Clearwater").wait_for()
    # And for the page's stylesheet: the row can be in the DOM before it has loaded, and CI once
    # measured the Search button unstyled (320 px below the Clear button laid out a moment later).
    page.wait_for_load_state("load")
    search = page.get_by_role("button", name="Search", exact=True).bounding_box()
    clear = page.get_by_role("button", name="Clear the search").bounding_box()
    assert abs(clear["y"] - search["y"]) < 2
    assert search["x"] + search["width"] < clear["x"] < search["x"] + search["width"] + 60

    page.get_by_role("button", name="Clear the search").click()
    page.wait_for_load_state()
    assert page.get_by_label("Name starts with").input_value() == ""
    assert page.get_by_role("button", name="Clear the search").count() == 0
    assert "Quentin Clearwater" not in page.content()


def test_a_broad_search_shows_its_newest_and_counts_them_when_asked(new_page: Any, server: Any):
    """A name matching more visits than a page: the newest 50, "more than 50" and a link that
    counts them; the count goes on through the pages."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from kiosk.models import Site, Visit
    from kiosk.services.visits import new_badge_token, new_short_code
    from tests.browser.conftest import shot

    at = datetime.now(UTC) - timedelta(days=1)
    with server.session() as session:
        site = session.scalars(select(Site).where(Site.name == "Demo Office")).one()
        for number in range(53):
            moment = at - timedelta(minutes=number)
            session.add(
                Visit(
                    site_id=site.id,
                    visitor_name=f"Bulk Countable {number:02d}",
                    badge_token=new_badge_token(moment),
                    short_code=new_short_code(moment),
                    locale="en",
                    checked_in_at=moment,
                    checked_out_at=moment + timedelta(hours=1),
                )
            )
        session.commit()
    page = new_page(viewport={"width": 1440, "height": 900})
    log_in(page, server)
    page.goto(f"{server.base}/dashboard/history")
    page.get_by_label("Name starts with").fill("bulk count")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(re.compile(r"/dashboard/history\?page=1$"))
    assert page.get_by_text("More than 50 visits found, the newest first.").is_visible()
    rows = page.get_by_role("row").filter(has_text="Bulk Countable")
    assert rows.count() == 50
    assert rows.first.inner_text().startswith("Bulk Countable 00")
    pages = page.get_by_role("navigation", name="Pages")
    assert pages.inner_text().split() == ["Page", "1", "Next"]
    # The link on the line that says there are more (wait_for_url waited for the stylesheet).
    count = page.get_by_role("link", name="Count them")
    link, text = count.bounding_box(), page.locator("p.found").bounding_box()
    assert link["y"] >= text["y"]
    assert link["y"] + link["height"] <= text["y"] + text["height"]
    shot(page, "desktop-history-not-counted")
    count.click()
    page.wait_for_url(re.compile(r"count=1"))
    assert page.get_by_text("53 visits found.").is_visible()
    assert page.get_by_text("Page 1 of 2").is_visible()
    page.get_by_role("link", name="Next").click()
    page.wait_for_url(re.compile(r"page=2&count=1$"))
    assert page.get_by_text("53 visits found.").is_visible()
    assert page.get_by_role("row").filter(has_text="Bulk Countable").count() == 3


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_the_on_site_rows_buttons_check_out_and_cancel_the_row_they_sit_in(
    kiosk_page: Any, new_page: Any, server: Any, javascript: bool
):
    """Every row's buttons send one shared form (their formaction names the row): the right
    visitor is checked out and the right expected visit cancelled, the others stay."""
    # The server is the module's: names of this run's own.
    leaving, staying, cancelled, expected = (
        f"{name} {'Script' if javascript else 'Plain'}"
        for name in ("Olga Leaving", "Peter Staying", "Quinn Cancelled", "Rita Expected")
    )
    kiosk = kiosk_page()
    for name in (leaving, staying):
        kiosk.goto(f"{server.base}/")
        check_in(kiosk, name)
        kiosk.wait_for_url(re.compile(r"/done$"))
    kiosk.close()
    page = new_page(viewport={"width": 1440, "height": 900}, java_script_enabled=javascript)
    log_in(page, server)
    for name in (cancelled, expected):
        page.goto(f"{server.base}/dashboard/expected/new")
        page.get_by_label("Visitor's name").fill(name)
        page.get_by_role("button", name="Register the visit").click()
        page.wait_for_selector("h1")
    page.goto(f"{server.base}/dashboard/")

    def row(name: str) -> Any:
        return page.get_by_role("row").filter(has_text=name)

    row(leaving).get_by_role("button", name="Check out").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    assert page.get_by_text("Checked out.").is_visible()
    assert row(leaving).count() == 0
    assert row(staying).get_by_role("button", name="Check out").is_visible()

    row(cancelled).get_by_role("button", name="Cancel").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    assert page.get_by_text("The expected visit was cancelled.").is_visible()
    assert row(cancelled).count() == 0
    assert row(expected).get_by_role("button", name="Cancel").is_visible()


def test_statistics_figures_line_up_at_the_right_of_their_column(new_page: Any, server: Any):
    """Counts read down a column by their size: right-aligned, in digits of one width."""
    page = new_page(viewport={"width": 1440, "height": 900})
    log_in(page, server)
    page.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Statistics", exact=True
    ).click()
    per_day = page.locator("details").filter(has_text="Numbers per day").first
    per_day.locator("summary").click()
    table = per_day.locator("table")
    table.wait_for()
    for cell in ("th", "td"):
        label, figure = table.locator(f"tr:has({cell}) > {cell}").all()[:2]
        assert label.evaluate("e => getComputedStyle(e).textAlign") in ("left", "start")
        style = figure.evaluate(
            "e => [getComputedStyle(e).textAlign, getComputedStyle(e).fontVariantNumeric]"
        )
        assert style == ["right", "tabular-nums"]


def _cells_end_with_their_row(row: Any) -> list[float]:
    """How far (px) each cell of ``row`` ends above the row's bottom: 0 for a table cell, more
    for an action cell laid out as a flex box, which no longer stretched to the row's height
    and drew its line under the buttons, above the row's line."""
    gaps: list[float] = row.evaluate(
        "tr => [...tr.cells].map(td => tr.getBoundingClientRect().bottom"
        " - td.getBoundingClientRect().bottom)"
    )
    return gaps


def test_a_tall_rows_action_cell_ends_with_the_row(kiosk_page: Any, new_page: Any, server: Any):
    """A name that wraps makes its row taller than its buttons: the cell of Check out still
    reaches the row's line, on reception's list and on the kiosks page."""
    name = "Maximiliane Alexandra Tallrow von Hohenzollern-Sigmaringen"
    kiosk = kiosk_page()
    check_in(kiosk, name)
    kiosk.wait_for_url(re.compile(r"/done$"))
    kiosk.close()
    page = new_page(viewport={"width": 1024, "height": 900})
    log_in(page, server)
    row = page.get_by_role("row").filter(has_text="Tallrow")
    assert row.get_by_role("button", name="Check out").is_visible()
    button = row.get_by_role("button", name="Check out").bounding_box()
    assert row.bounding_box()["height"] > button["height"] + 20  # the name took more lines
    assert all(abs(gap) < 1 for gap in _cells_end_with_their_row(row))

    page.goto(f"{server.base}/dashboard/kiosks")
    listed = page.locator("table tbody tr")
    assert listed.count() > 0
    for number in range(listed.count()):
        assert all(abs(gap) < 1 for gap in _cells_end_with_their_row(listed.nth(number)))


def test_an_erasure_by_request_says_when_old_backups_forget_the_records(
    kiosk_page: Any, new_page: Any, server: Any
):
    """The privacy officer's erasure, in Chromium at a desk's width: the person is found, the
    confirmation says when backups made before stop yielding the records, and the erasure
    goes through; the correction page says the same of the values it replaces."""
    from playwright.sync_api import expect

    from tests.browser.conftest import assert_accessible, shot

    kiosk = kiosk_page()
    check_in(kiosk, "Rut Requestsson")
    kiosk.wait_for_url(re.compile(r"/done$"))
    kiosk.close()
    page = new_page(viewport={"width": 1440, "height": 900})
    log_in(page, server)

    def find() -> Any:
        page.goto(f"{server.base}/dashboard/requests")
        page.get_by_label("Name").fill("rut requestsson")
        page.get_by_role("button", name="Find").click()
        row = page.get_by_role("row").filter(has_text="Rut Requestsson")
        # The search posts and the browser follows the redirect: count() does not wait for the
        # results (CI once counted on the page before them), expect() retries until they are there.
        expect(row).to_have_count(1)
        return row

    with page.expect_navigation():
        find().get_by_role("link", name="Correct").click()
    correction = page.get_by_text("In backups made before now, the values as they were before")
    assert correction.is_visible()
    assert "about 15 minutes after it is saved" in correction.inner_text()
    shot(page, "dashboard-request-correct")

    find()
    page.get_by_role("button", name="Erase…").click()
    page.wait_for_url(re.compile(r"/dashboard/requests/erase$"))
    hint = page.get_by_text("In backups made before now, what you erase here becomes unreadable")
    assert hint.is_visible()
    assert "about 15 minutes later" in hint.inner_text()
    shot(page, "dashboard-request-erase")
    assert_accessible(page, "dashboard-request-erase")
    page.get_by_label("The person asked for erasure").check()
    page.get_by_label("I have checked that these records are this person's").check()
    page.get_by_role("button", name="Erase now").click()
    page.wait_for_url(re.compile(r"/dashboard/requests$"))
    assert page.get_by_text("1 record erased.").is_visible()
