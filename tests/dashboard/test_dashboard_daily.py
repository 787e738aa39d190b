"""Reception's day on the dashboard: check-outs, expected visitors, today, history, export,
end of day, and staff sessions (throttling, idle expiry, password, secure cookies)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kiosk import create_app
from kiosk.cli import main
from kiosk.db import get_database
from kiosk.models import AuditEvent, Invitation, Visit
from kiosk.services.daily import check_out_at_end_of_day
from kiosk.services.invitations import create_invitation
from tests.conftest import STAFF_PASSWORD
from tests.support import named


@pytest.fixture
def site(make_site: Any) -> Any:
    return make_site(name="Main")


@pytest.fixture
def staff(site: Any, make_staff: Any, login: Any) -> FlaskClient:
    return login(make_staff(sites=(site,)))


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


class TestCheckOut:
    def test_reception_checks_a_visitor_out(
        self, staff: FlaskClient, site: Any, make_visit: Any, session: Session, clock: Any
    ):
        visit = make_visit(site, visitor_name="Leaving Soon")
        assert "Leaving Soon" in staff.get("/dashboard/").text
        clock.advance(timedelta(minutes=20))
        response = staff.post(f"/dashboard/visits/{visit.id}/check-out")
        assert response.status_code == 302, response.text
        session.refresh(visit)
        assert visit.checked_out_at == clock.now()
        assert "Leaving Soon" not in staff.get("/dashboard/").text
        assert "check_out" in actions(session)

    def test_visits_of_other_sites_are_out_of_reach(
        self, staff: FlaskClient, make_site: Any, make_visit: Any, session: Session
    ):
        visit = make_visit(make_site(name="Other"))
        assert staff.post(f"/dashboard/visits/{visit.id}/check-out").status_code == 404
        assert staff.get("/dashboard/sites/9999/check-out-all").status_code == 404

    def test_check_out_everyone_asks_first(
        self, staff: FlaskClient, site: Any, make_visit: Any, session: Session
    ):
        for number in range(3):
            make_visit(site, visitor_name=f"Evacuee {number}")
        confirm = staff.get(f"/dashboard/sites/{site.id}/check-out-all")
        assert confirm.status_code == 200
        assert session.scalars(select(Visit).where(Visit.checked_out_at.is_(None))).all()
        staff.post(f"/dashboard/sites/{site.id}/check-out-all")
        assert not session.scalars(select(Visit).where(Visit.checked_out_at.is_(None))).all()
        assert "check_out_all" in actions(session)


class TestLiveList:
    def test_live_fragment_holds_the_lists_and_count(
        self, staff: FlaskClient, site: Any, make_visit: Any
    ):
        make_visit(site, visitor_name="Live One")
        page = staff.get("/dashboard/").text
        assert 'data-live-url="/dashboard/live"' in page
        fragment = staff.get("/dashboard/live").text
        assert "Live One" in fragment
        assert 'id="on-site-count">1<' in fragment
        assert "<html" not in fragment

    def test_refreshes_are_audited_every_few_minutes_not_each_time(
        self, staff: FlaskClient, site: Any, session: Session, clock: Any
    ):
        staff.get("/dashboard/")
        for _ in range(5):
            staff.get("/dashboard/live")
        assert actions(session).count("view_on_site") == 1
        clock.advance(timedelta(minutes=6))
        staff.get("/dashboard/live")
        assert actions(session).count("view_on_site") == 2


class TestExpected:
    def test_pre_registered_visitor_is_expected_and_can_use_the_kiosk(
        self, staff: FlaskClient, site: Any, make_host: Any, pair: Any, session: Session
    ):
        host = make_host(site, name="Hanna Host")
        page = staff.post(
            "/dashboard/expected/new",
            data={
                "site": site.id,
                "name": "Ingrid Invited",
                "company": "Guest AB",
                "host": host.id,
                "expected_on": "2026-03-04",
                "locale": "en",
            },
        ).text
        code = re.search(r'class="pairing-code">(\w{6})<', page)
        assert code, page
        assert "<svg" in page
        listing = staff.get("/dashboard/").text
        assert "Ingrid Invited" in listing
        assert code[1] in listing
        kiosk = pair(site)
        assert kiosk.post("/invitation", data={"code": code[1]}).headers["Location"] == "/check-in"
        assert "create_invitation" in actions(session)

    @pytest.mark.parametrize(
        ("fields", "problem"),
        [
            ({"expected_on": "2026-03-03"}, "The date has passed."),
            (
                {"expected_on": "9999-12-31"},
                "Please choose a day from January 1, 2000 to December 31, 2199.",
            ),
            ({"name": ""}, "Please enter the visitor's name."),
            ({"email": "nope"}, "Please check the email address."),
        ],
    )
    def test_invalid_pre_registration(
        self, staff: FlaskClient, site: Any, session: Session, fields: dict[str, str], problem: str
    ):
        data = {
            "site": site.id,
            "name": "X",
            "host": 0,
            "expected_on": "2026-03-05",
            "locale": "en",
        }
        response = staff.post("/dashboard/expected/new", data={**data, **fields})
        assert response.status_code == 200
        assert problem in response.text, re.findall(
            r'class="errors"[^>]*>(.*?)</ul>', response.text
        )
        assert not session.scalars(select(Invitation)).all()

    def test_host_of_another_site_is_refused(
        self, staff: FlaskClient, site: Any, make_site: Any, make_host: Any, session: Session
    ):
        elsewhere = make_host(make_site(name="Far"), name="Far Host")
        response = staff.post(
            "/dashboard/expected/new",
            data={
                "site": site.id,
                "name": "X",
                "host": elsewhere.id,
                "expected_on": "2026-03-05",
                "locale": "en",
            },
        )
        assert "has-error" in response.text
        assert not session.scalars(select(Invitation)).all()

    def test_only_today_and_not_cancelled_are_expected(
        self, staff: FlaskClient, site: Any, session: Session, clock: Any
    ):
        for name, day in (("Today Tina", date(2026, 3, 4)), ("Tomorrow Tom", date(2026, 3, 5))):
            create_invitation(
                session, site, visitor_name=name, expected_on=day, locale="sv", now=clock.now()
            )
        session.commit()
        page = staff.get("/dashboard/").text
        assert "Today Tina" in page
        assert "Tomorrow Tom" not in page
        tina = named(session, Invitation, "Today Tina")
        staff.post(f"/dashboard/expected/{tina.id}/cancel")
        assert "Today Tina" not in staff.get("/dashboard/").text


def test_today_uses_the_site_calendar(staff: FlaskClient, site: Any, make_visit: Any, clock: Any):
    # 23:30 UTC on 3 March is 00:30 on 4 March in Stockholm: today. 22:30 UTC is yesterday.
    make_visit(
        site,
        visitor_name="Just After Midnight",
        checked_in_at=datetime(2026, 3, 3, 23, 30, tzinfo=UTC),
        checked_out_at=datetime(2026, 3, 4, 1, 0, tzinfo=UTC),
    )
    make_visit(
        site, visitor_name="Late Yesterday", checked_in_at=datetime(2026, 3, 3, 22, 30, tzinfo=UTC)
    )
    page = staff.get("/dashboard/today").text
    assert "Just After Midnight" in page
    assert "Late Yesterday" not in page


def test_today_lists_each_site_by_its_own_calendar_in_one_read(
    session: Session, make_site: Any, make_visit: Any, make_host: Any, clock: Any
):
    """The "Today" page reads every served site's visits at once: each site's today is its own
    (at 08:00 UTC it is 4 March in Stockholm and still 3 March until 05:00 UTC in New York),
    each visit listed under its site, newest first, with its host and unsealed name."""
    from kiosk.services.daily import visits_today

    stockholm = make_site(name="Stockholm", timezone="Europe/Stockholm")
    new_york = make_site(name="New York", timezone="America/New_York")
    host = make_host(new_york, name="Nora Host")
    at = datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    make_visit(stockholm, "Sune Early", checked_in_at=at - timedelta(minutes=30))  # 00:30 local
    make_visit(stockholm, "Stina Late", company="Late AB", checked_in_at=at + timedelta(hours=7))
    make_visit(new_york, "Ned Yesterday", checked_in_at=at + timedelta(hours=4, minutes=30))
    make_visit(
        new_york, "Nina Today", host_id=host.id, checked_in_at=at + timedelta(hours=5, minutes=30)
    )
    make_visit(stockholm, "Sam Yesterday", checked_in_at=at - timedelta(hours=1, minutes=30))
    listed = visits_today(session, [stockholm, new_york], now=clock.now())
    assert [(v.visitor_name, v.company) for v in listed[stockholm.id]] == [
        ("Stina Late", "Late AB"),
        ("Sune Early", None),
    ]
    assert [(v.visitor_name, v.host_name) for v in listed[new_york.id]] == [
        ("Nina Today", "Nora Host")
    ]
    assert visits_today(session, [], now=clock.now()) == {}


class TestHistory:
    @pytest.fixture
    def visits(self, site: Any, make_host: Any, make_visit: Any, make_site: Any) -> None:
        host = make_host(site, name="Hanna Host")
        make_visit(
            site,
            visitor_name="Eva Berg",
            company="Acme",
            host_id=host.id,
            checked_in_at=datetime(2026, 3, 1, 9, tzinfo=UTC),
        )
        make_visit(
            site,
            visitor_name="Bertil Ek",
            company="Other Co",
            checked_in_at=datetime(2026, 2, 20, 9, tzinfo=UTC),
        )
        make_visit(make_site(name="Hidden"), visitor_name="Berg Elsewhere")

    def search(self, staff: FlaskClient, **fields: Any) -> str:
        response = staff.post("/dashboard/history", data=fields)
        assert response.status_code == 302
        location = response.headers["Location"]
        assert location == "/dashboard/history?page=1"  # no search terms in the URL
        return staff.get(location).text

    @staticmethod
    def counted(staff: FlaskClient, page: int = 1) -> str:
        """The search's page with its visits counted (its "Count them" link)."""
        return staff.get(f"/dashboard/history?page={page}&count=1").text

    def test_name_prefix_matches_any_word(self, staff: FlaskClient, visits: None):
        page = self.search(staff, name="berg", host=0)
        assert "Eva Berg" in page
        assert "Bertil Ek" not in page
        assert "Berg Elsewhere" not in page  # another site
        assert "Bertil Ek" in self.search(staff, name="ber", host=0)

    def test_name_ignores_case_and_accents_both_ways(
        self, staff: FlaskClient, site: Any, make_visit: Any
    ):
        make_visit(site, visitor_name="Åsa Öberg-Lindqvist")
        make_visit(site, visitor_name="ΑΛΈΞΗΣ Παπαδόπουλος")
        make_visit(site, visitor_name="Oscar Obermann")
        for typed in ("åsa", "ASA", "Asa", "öberg", "OBERG", "lindq"):
            page = self.search(staff, name=typed, host=0)
            assert "Åsa Öberg-Lindqvist" in page, typed
            assert "Oscar Obermann" not in page, typed
        assert "Παπαδόπουλος" in self.search(staff, name="παπαδο", host=0)
        assert "Παπαδόπουλος" in self.search(staff, name="αλεξ", host=0)
        assert "Oscar Obermann" in self.search(staff, name="obe", host=0)

    def test_every_word_typed_must_start_a_word(
        self, staff: FlaskClient, site: Any, make_visit: Any
    ):
        make_visit(site, visitor_name="Eva Berg")
        make_visit(site, visitor_name="Eva Lund")
        page = self.search(staff, name="berg eva", host=0)
        assert "Eva Berg" in page
        assert "Eva Lund" not in page
        page = self.search(staff, name="va", host=0)  # inside a word: no match
        assert "Eva Berg" not in page
        assert "0 visits found." in self.search(staff, name="%", host=0)
        assert "0 visits found." in self.search(staff, name="_va", host=0)

    def test_name_with_other_terms_and_names_with_alike_words(
        self, staff: FlaskClient, site: Any, make_visit: Any, visits: None
    ):
        make_visit(site, visitor_name="Berg Bergström")  # two words match "berg": one visit
        page = self.search(staff, name="berg", host=0)
        assert "2 visits found." in page
        assert page.count("Berg Bergström") == 1
        page = self.search(staff, name="berg", company="acm", host=0)
        assert "1 visit found." in page
        assert "Eva Berg" in page
        page = self.search(staff, name="be", host=0, date_from="2026-02-01", date_to="2026-02-28")
        assert "Bertil Ek" in page
        assert "Eva Berg" not in page

    def test_a_rectified_name_is_found_by_its_new_words(
        self, staff: FlaskClient, site: Any, make_visit: Any, session: Session
    ):
        from kiosk.privacy.requests import rectify_visit

        visit = make_visit(site, visitor_name="Typo Nmae")
        rectify_visit(visit, {"visitor_name": "Tove Name"})
        session.commit()
        assert "Tove Name" in self.search(staff, name="name", host=0)
        assert "Tove Name" not in self.search(staff, name="nmae", host=0)

    def test_company_host_and_dates(self, staff: FlaskClient, visits: None, session: Session):
        assert "Eva Berg" in self.search(staff, company="acm", host=0)
        hanna = named(session, Visit, "Eva Berg").host_id
        page = self.search(staff, host=hanna)
        assert "Eva Berg" in page
        assert "Bertil Ek" not in page
        page = self.search(staff, host=0, date_from="2026-02-01", date_to="2026-02-28")
        assert "Bertil Ek" in page
        assert "Eva Berg" not in page
        assert "search_history" in actions(session)

    def test_company_among_the_newest_in_two_reads_with_pages_and_a_count(
        self,
        staff: FlaskClient,
        site: Any,
        make_visit: Any,
        make_host: Any,
        monkeypatch: pytest.MonkeyPatch,
    ):
        """The company is compared after decryption among the newest visits matching the rest:
        the newest COMPANY_BATCH first, then the rest of HISTORY_COMPANY_SCAN_LIMIT from where
        they ended (three visits at one second straddle the two reads: the first ends after
        two of them)."""
        from kiosk.services import daily

        monkeypatch.setattr(daily, "COMPANY_BATCH", 2)
        monkeypatch.setattr(daily, "HISTORY_COMPANY_SCAN_LIMIT", 8)
        monkeypatch.setattr(daily, "HISTORY_PAGE_SIZE", 2)
        host = make_host(site, name="Hilda Host")
        at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        # Newest first: 0 and 1 at one second, 2 at the same second, then older ones.
        moments = [at, at, at, *(at - timedelta(minutes=n) for n in range(1, 7))]
        for number, moment in enumerate(moments):
            make_visit(
                site,
                visitor_name=f"Visitor {number}",
                company="Åcme AB" if number in (0, 2, 3, 5, 8) else "Other",
                host_id=host.id if number == 3 else None,
                checked_in_at=moment,
            )
        page = self.search(staff, company="acme  ab", host=0)
        # Not counted: the page's two and one more were found in the first read.
        assert "More than 2 visits found, the newest first." in page
        assert 'href="/dashboard/history?page=1&amp;count=1">Count them</a>' in page
        assert re.findall(r"Visitor \d", page) == ["Visitor 2", "Visitor 0"]  # newest first
        assert "Page 1<" in page
        second = staff.get("/dashboard/history?page=2").text
        assert re.findall(r"Visitor \d", second) == ["Visitor 3", "Visitor 5"]
        assert "Hilda Host" in second  # the page's visits are loaded with their host
        # The second page's scan looked for five and found four: they are counted.
        assert "4 visits found." in second
        assert "Page 2 of 2" in second
        # Counted on request: Visitor 8 is the ninth newest, beyond the scan of eight.
        page = self.counted(staff)
        assert "4 visits found." in page
        assert re.findall(r"Visitor \d", page) == ["Visitor 2", "Visitor 0"]
        assert 'href="/dashboard/history?page=2&amp;count=1">Next</a>' in page
        assert "Visitor 8" not in page

        # A common company fills the count from the first read.
        monkeypatch.setattr(daily, "COMPANY_BATCH", 3)
        monkeypatch.setattr(daily, "HISTORY_COUNT_LIMIT", 1)
        self.search(staff, company="acme", host=0)
        assert "More than 1 visits found." in self.counted(staff)

    def test_pagination(self, staff: FlaskClient, site: Any, make_visit: Any, clock: Any):
        for number in range(60):
            make_visit(
                site,
                visitor_name=f"Many {number:02d}",
                checked_in_at=clock.now() - timedelta(minutes=number),
            )
        first = self.search(staff, name="many", host=0)
        assert "More than 50 visits found, the newest first." in first
        assert "Many 00" in first
        assert "Many 55" not in first
        assert "60 visits found." in self.counted(staff)
        second = staff.get("/dashboard/history?page=2").text
        assert "Many 55" in second
        assert "Many 00" not in second
        assert "60 visits found." in second  # the second page's search found them all

    def test_a_broad_search_counts_up_to_a_limit_and_shows_the_newest(
        self,
        staff: FlaskClient,
        site: Any,
        make_visit: Any,
        clock: Any,
        monkeypatch: pytest.MonkeyPatch,
    ):
        from kiosk.services import daily

        monkeypatch.setattr(daily, "HISTORY_COUNT_LIMIT", 3)
        for number in range(5):
            make_visit(
                site,
                visitor_name=f"Many {number:02d}",
                checked_in_at=clock.now() - timedelta(minutes=number),
            )
        self.search(staff, name="many", host=0)
        page = self.counted(staff)
        assert "More than 3 visits found." in page
        assert "Many 00" in page  # the newest
        assert "Many 04" not in page  # beyond the three counted
        monkeypatch.setattr(daily, "HISTORY_COUNT_LIMIT", 5)
        assert "5 visits found." in self.counted(staff)
        # More matching rows than the first statement reads (2 x limit + 2): the page comes
        # from a second, ordered statement; a name matching twice is still one visit.
        make_visit(site, visitor_name="Many Manyson", checked_in_at=clock.now() + timedelta(1))
        monkeypatch.setattr(daily, "HISTORY_COUNT_LIMIT", 2)
        page = self.counted(staff)
        assert "More than 2 visits found." in page
        assert page.count("Many Manyson") == 1
        assert "Many 00" in page
        assert "Many 01" not in page

    @pytest.mark.parametrize(
        "terms", [{"name": "many"}, {"company": "co"}, {"name": "", "company": ""}]
    )
    def test_any_page_number_and_count_answer_with_a_page(
        self, staff: FlaskClient, site: Any, make_visit: Any, clock: Any, terms: dict[str, str]
    ):
        """Page numbers and the count's flag as anyone may write them in the address: the
        nearest page, never an error."""
        for number in range(3):
            make_visit(site, visitor_name=f"Many {number}", company="Co AB")
        self.search(staff, host=0, **terms)
        for page in ("0", "-1", "99999999999999999999999999", "1e3", "\uff12", " 2", "", "x"):
            for count in ("1", "0", "yes", "\u00a0", "9" * 40):
                response = staff.get(
                    "/dashboard/history", query_string={"page": page, "count": count}
                )
                assert response.status_code == 200, (page, count)
                assert "Many 0" in response.text, (page, count)

    def test_names_whose_every_word_matches_still_fill_the_page(
        self,
        staff: FlaskClient,
        site: Any,
        make_visit: Any,
        clock: Any,
        monkeypatch: pytest.MonkeyPatch,
    ):
        from kiosk.services import daily

        # Four matching words a visit: the first 2 x 3 + 2 rows read hold only two visits.
        monkeypatch.setattr(daily, "HISTORY_COUNT_LIMIT", 3)
        for number in range(4):
            make_visit(
                site,
                visitor_name=f"Ann{number} Anna Anne Annika",
                checked_in_at=clock.now() - timedelta(minutes=number),
            )
        page = self.search(staff, name="ann", host=0)
        assert "More than 3 visits found." in page
        for number in range(3):
            assert page.count(f"Ann{number} Anna Anne Annika") == 1
        assert "Ann3 Anna" not in page

    def test_clearing_forgets_the_terms(self, staff: FlaskClient, visits: None):
        self.search(staff, name="berg", host=0)
        staff.post("/dashboard/history/clear")
        assert "Eva Berg" not in staff.get("/dashboard/history").text


class TestExport:
    def test_csv_with_site_times_and_neutralised_formulas(
        self, staff: FlaskClient, site: Any, make_visit: Any, session: Session
    ):
        make_visit(
            site,
            visitor_name='=HYPERLINK("http://x")',
            company="+46 Co",
            checked_in_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        )
        make_visit(
            site, visitor_name="Outside Range", checked_in_at=datetime(2026, 1, 2, 8, tzinfo=UTC)
        )
        response = staff.post(
            "/dashboard/export",
            data={"site": site.id, "date_from": "2026-03-01", "date_to": "2026-03-04"},
        )
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
        assert len(rows) == 2
        assert rows[1][1] == '\'=HYPERLINK("http://x")'  # text, still readable
        assert rows[1][2] == "'+46 Co"
        assert rows[1][5] == "2026-03-02T09:00+01:00"
        assert "export_visits" in actions(session)

    @pytest.fixture
    def in_batches_of_two(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from kiosk.services import daily

        monkeypatch.setattr(daily, "EXPORT_BATCH", 2)

    def export(self, staff: FlaskClient, site: Any, **options: Any) -> Any:
        return staff.post(
            "/dashboard/export",
            data={"site": site.id, "date_from": "2026-03-01", "date_to": "2026-03-04"},
            **options,
        )

    def test_read_in_batches_every_visit_once_in_order(
        self,
        staff: FlaskClient,
        site: Any,
        make_visit: Any,
        make_host: Any,
        in_batches_of_two: None,
    ):
        host = make_host(site, name="Hilda Host")
        at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        # Three share a check-in time: a batch ending inside them must not skip or repeat one.
        times = [at, at, at, at + timedelta(minutes=1), at - timedelta(minutes=1)]
        for number, moment in enumerate(times):
            make_visit(
                site,
                visitor_name=f"Visitor {number}",
                purpose=f"Purpose {number}",
                host_id=host.id if number % 2 else None,
                checked_in_at=moment,
                checked_out_at=moment + timedelta(hours=1) if number == 3 else None,
            )
        body = self.export(staff, site).get_data(as_text=True)
        rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
        assert [row[1] for row in rows[1:]] == [f"Visitor {n}" for n in (4, 0, 1, 2, 3)]
        assert [row[3] for row in rows[1:]] == ["", "", "Hilda Host", "", "Hilda Host"]
        assert rows[2][4] == "Purpose 0"
        assert rows[5][6] == "2026-03-02T10:01+01:00"  # checked out, in the site's zone
        assert body.count("\ufeff") == 1
        assert rows[0][0] == "Site"

    def test_rows_kept_from_before_sealing_export_their_old_columns(
        self, staff: FlaskClient, site: Any, make_visit: Any, session: Session
    ):
        """A visit written before sealing (kiosk db upgrade from an older version) has its
        name, company and purpose in the old plaintext columns: the export reads them there,
        beside a sealed visit's."""
        at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        make_visit(site, "Sally Sealed", company="Sealed AB", purpose="Audit", checked_in_at=at)
        old = make_visit(site, "Olle Old", checked_in_at=at + timedelta(minutes=1))
        session.execute(
            text(
                "UPDATE visits SET visitor_name_sealed = NULL, company_sealed = NULL,"
                " purpose_sealed = NULL, visitor_name = 'Olle Old', company = 'Old Firm AB',"
                " purpose = 'Delivery' WHERE id = :i"
            ),
            {"i": old.id},
        )
        session.commit()
        body = self.export(staff, site).get_data(as_text=True)
        rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
        assert [(row[1], row[2], row[4]) for row in rows[1:]] == [
            ("Sally Sealed", "Sealed AB", "Audit"),
            ("Olle Old", "Old Firm AB", "Delivery"),
        ]

    def test_company_filter_spans_batches(
        self, app: Flask, site: Any, make_visit: Any, in_batches_of_two: None
    ):
        from kiosk.services.daily import HistoryQuery, visits_for_export

        at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        for number in range(5):
            company = "Acme  Åb" if number in (0, 3, 4) else "Other"
            make_visit(
                site,
                visitor_name=f"Visitor {number}",
                company=company,
                checked_in_at=at + timedelta(minutes=number),
            )
        query = HistoryQuery(site_ids=(site.id,), company="acme ab")
        batches = list(visits_for_export(get_database(app).sessionmaker, query))
        assert [[row.visitor_name for row in batch] for batch in batches] == [
            ["Visitor 0"],
            ["Visitor 3"],
            ["Visitor 4"],
        ]

    def test_a_download_holds_no_connection_between_batches_nor_once_dropped(
        self,
        app: Flask,
        backend: str,
        staff: FlaskClient,
        site: Any,
        make_visit: Any,
        session: Session,
        in_batches_of_two: None,
    ):
        for number in range(5):
            make_visit(
                site,
                visitor_name=f"Visitor {number}",
                checked_in_at=datetime(2026, 3, 2, 8, number, tzinfo=UTC),
            )
        pool = get_database(app).engine.pool
        session.close()
        before = pool.checkedout()  # type: ignore[attr-defined]
        response = self.export(staff, site, buffered=False)
        try:
            pieces = iter(response.response)
            assert next(pieces) == "\ufeff".encode()
            assert next(pieces).startswith(b"Site,")
            assert b"Visitor 1" in next(pieces)  # the first batch: the download now stalls
            assert pool.checkedout() == before  # type: ignore[attr-defined]
            if backend == "postgresql":
                # Nothing holds even a read lock on the table: an exclusive lock is free.
                session.execute(text("LOCK TABLE visits IN ACCESS EXCLUSIVE MODE NOWAIT"))
                session.rollback()
        finally:
            # The visitor of the page went away (and a failure above must not leave the
            # export's transaction holding the schema the teardown drops).
            response.close()
        assert pool.checkedout() == before  # type: ignore[attr-defined]
        whole = self.export(staff, site).get_data(as_text=True)
        assert all(f"Visitor {number}" in whole for number in range(5))
        assert pool.checkedout() == before  # type: ignore[attr-defined]

    @pytest.mark.parametrize(
        ("path", "field", "language", "problem"),
        [
            ("/dashboard/export", "date_from", "en", "from January 1, 2000 to December 31, 2199"),
            ("/dashboard/export", "date_to", "sv", "från 1 januari 2000 till 31 december 2199"),
            (
                "/dashboard/history",
                "date_from",
                "de",
                "vom 1. Januar 2000 bis zum 31. Dezember 2199",
            ),
            ("/dashboard/history", "date_to", "en", "from January 1, 2000 to December 31, 2199"),
        ],
    )
    @pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
    def test_days_at_the_ends_of_the_calendar_are_a_form_error_in_the_staff_language(
        self,
        staff: FlaskClient,
        site: Any,
        session: Session,
        path: str,
        field: str,
        language: str,
        problem: str,
        day: str,
    ):
        """Real dates, but a day's bounds on the site's clock fall outside Python's calendar:
        an export from 0001-01-01 was a 500."""
        data = {"site": site.id, "host": 0, "date_from": "2026-03-01", "date_to": "2026-03-04"}
        response = staff.post(
            path, data={**data, field: day}, headers={"Accept-Language": language}
        )
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        assert problem in response.text
        assert "export_visits" not in actions(session)

    def test_reversed_dates_are_a_form_error(self, staff: FlaskClient, site: Any):
        response = staff.post(
            "/dashboard/export",
            data={"site": site.id, "date_from": "2026-03-04", "date_to": "2026-03-01"},
        )
        assert response.status_code == 200
        assert "has-error" in response.text

    def test_other_sites_cannot_be_exported(self, staff: FlaskClient, make_site: Any):
        other = make_site(name="Not Mine")
        response = staff.post(
            "/dashboard/export",
            data={"site": other.id, "date_from": "2026-03-01", "date_to": "2026-03-04"},
        )
        assert response.status_code == 200  # not a choice: form error, nothing exported
        assert response.mimetype == "text/html"


class TestEndOfDay:
    @pytest.fixture
    def evening_site(self, make_site: Any) -> Any:
        return make_site(name="Evening", end_of_day=time(18, 0))

    def test_visitors_left_on_site_are_checked_out_at_the_site_time(
        self, session: Session, evening_site: Any, make_visit: Any
    ):
        morning = make_visit(evening_site, checked_in_at=datetime(2026, 3, 4, 8, tzinfo=UTC))
        evening = make_visit(evening_site, checked_in_at=datetime(2026, 3, 4, 17, 30, tzinfo=UTC))
        cutoff = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)  # 18:00 in Stockholm (CET)
        assert check_out_at_end_of_day(session, now=cutoff - timedelta(seconds=1)) == {}
        assert check_out_at_end_of_day(session, now=cutoff + timedelta(seconds=1)) == {
            evening_site.id: [morning]
        }
        session.commit()
        assert morning.checked_out_at == cutoff
        assert evening.checked_out_at is None  # arrived after closing: next day's run
        assert check_out_at_end_of_day(session, now=cutoff + timedelta(hours=1)) == {}

    def test_summer_time(self, session: Session, evening_site: Any, make_visit: Any):
        visit = make_visit(evening_site, checked_in_at=datetime(2026, 7, 1, 8, tzinfo=UTC))
        check_out_at_end_of_day(session, now=datetime(2026, 7, 1, 16, 1, tzinfo=UTC))
        assert visit.checked_out_at == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)  # 18:00 CEST

    def test_command(
        self,
        runner: FlaskCliRunner,
        evening_site: Any,
        make_visit: Any,
        clock: Any,
        session: Session,
    ):
        make_visit(evening_site, checked_in_at=clock.now())
        clock.set(datetime(2026, 3, 4, 20, 0, tzinfo=UTC))
        result = runner.invoke(main, ["end-of-day"])
        assert f"site {evening_site.id}: 1 checked out" in result.output
        assert "end_of_day_check_out" in actions(session)


class TestStaffSessions:
    def test_failed_logins_are_throttled_per_username(self, client: FlaskClient, make_staff: Any):
        make_staff(username="target")
        for _ in range(5):
            assert (
                client.post(
                    "/dashboard/login", data={"username": "target", "password": "wrong pw!"}
                ).status_code
                == 200
            )
        blocked = client.post(
            "/dashboard/login", data={"username": "target", "password": STAFF_PASSWORD}
        )
        assert blocked.status_code == 429
        assert "Too many attempts" in blocked.text
        other = client.post("/dashboard/login", data={"username": "other", "password": "x" * 12})
        assert other.status_code == 200  # another username is not blocked

    def test_successful_logins_are_not_counted(self, app: Flask, make_staff: Any):
        make_staff(username="daily")
        for _ in range(8):
            fresh = app.test_client()
            assert (
                fresh.post(
                    "/dashboard/login", data={"username": "daily", "password": STAFF_PASSWORD}
                ).status_code
                == 302
            )

    def test_idle_session_expires(self, staff: FlaskClient, clock: Any):
        clock.advance(timedelta(minutes=29))
        assert staff.get("/dashboard/").status_code == 200
        clock.advance(timedelta(minutes=29))
        assert staff.get("/dashboard/").status_code == 200  # activity keeps it alive
        clock.advance(timedelta(minutes=20))
        for _ in range(3):
            assert staff.get("/dashboard/live").status_code == 200  # refreshes are no activity
            clock.advance(timedelta(minutes=5))
        response = staff.get("/dashboard/")
        assert response.status_code == 302
        assert response.headers["Location"] == "/dashboard/login"
        assert staff.get("/dashboard/").status_code == 302

    def test_change_password(self, app: Flask, site: Any, make_staff: Any, login: Any):
        user = make_staff(username="changer", sites=(site,))
        client = login(user)
        wrong = client.post(
            "/dashboard/password", data={"current": "nope", "new": "n" * 12, "confirm": "n" * 12}
        )
        assert "has-error" in wrong.text
        differ = client.post(
            "/dashboard/password",
            data={"current": STAFF_PASSWORD, "new": "n" * 12, "confirm": "m" * 12},
        )
        assert "has-error" in differ.text
        ok = client.post(
            "/dashboard/password",
            data={
                "current": STAFF_PASSWORD,
                "new": "brand new secret",
                "confirm": "brand new secret",
            },
        )
        assert ok.status_code == 302
        fresh = app.test_client()
        assert (
            fresh.post(
                "/dashboard/login", data={"username": "changer", "password": STAFF_PASSWORD}
            ).status_code
            == 200
        )
        assert (
            fresh.post(
                "/dashboard/login", data={"username": "changer", "password": "brand new secret"}
            ).status_code
            == 302
        )

    def test_cookies_are_secure_over_https(self, app: Flask, make_staff: Any):
        make_staff(username="secure")
        client = app.test_client()
        response = client.post(
            "/dashboard/login",
            base_url="https://kiosk.example",
            data={"username": "secure", "password": STAFF_PASSWORD},
        )
        assert "Secure" in response.headers["Set-Cookie"]
        plain = app.test_client().post(
            "/dashboard/login", data={"username": "secure", "password": STAFF_PASSWORD}
        )
        assert "session=" in plain.headers["Set-Cookie"]
        assert "Secure" not in plain.headers["Set-Cookie"]

    def test_https_behind_a_trusted_proxy(self, app_config: dict[str, Any], make_staff: Any):
        make_staff(username="proxied")
        app = create_app({**app_config, "TRUSTED_PROXIES": 1})
        try:
            response = app.test_client().post(
                "/dashboard/login",
                headers={"X-Forwarded-Proto": "https"},
                data={"username": "proxied", "password": STAFF_PASSWORD},
            )
            assert "Secure" in response.headers["Set-Cookie"]
        finally:
            get_database(app).engine.dispose()


class TestAuditLog:
    def test_admin_browses_and_filters(self, make_staff: Any, login: Any, session: Session):
        admin = login(make_staff(role="admin", username="boss"))
        admin.get("/dashboard/")
        page = admin.get("/dashboard/audit").text
        assert "login" in page
        assert "view_on_site" not in admin.get("/dashboard/audit?action=login").text
        assert "staff:" in page

    def test_reception_may_not(self, staff: FlaskClient):
        assert staff.get("/dashboard/audit").status_code == 403

    @pytest.mark.parametrize("page", ["10" + "0" * 27, "-" + "9" * 30, "0", "2"])
    def test_a_page_beyond_the_last_is_the_nearest_one(
        self, make_staff: Any, login: Any, page: str, session: Session, clock: Any
    ):
        """The page number was written into "Page %(page)d of %(pages)d" as asked: one of 28
        digits made Babel's number formatting fail, a 500 (an outside fuzz)."""
        from kiosk.services.audit import AUDIT_PAGE_SIZE, record_events

        admin = login(make_staff(role="admin", username="boss"))
        record_events(
            session,
            actor="staff:1",
            action="view_on_site",
            target_type="site",
            target_ids=range(AUDIT_PAGE_SIZE),
            now=clock.now(),
        )
        session.commit()
        response = admin.get(f"/dashboard/audit?page={page}")
        assert response.status_code == 200
        shown = 2 if page.isdigit() and int(page) > 1 else 1
        assert f"Page {shown} of 2" in response.text


class TestNotificationsJoinTheDay:
    """Kiosk and dashboard meet: the confirmation tells the truth about the host being told, and a
    pre-registration with an email address queues the invitation email."""

    @pytest.fixture
    def mail_app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": 1}

    def test_confirmation_says_the_host_is_told_only_when_a_message_is_queued(
        self, mail_app_config: dict[str, Any], site: Any, make_host: Any, pair: Any
    ):
        host = make_host(site, name="Hanna Host", email="hanna@example.com")
        for config, expected in (
            (mail_app_config, "We are letting Hanna Host know that you have arrived."),
            ({**mail_app_config, "SMTP_HOST": None}, "Your visit to Hanna Host is registered."),
        ):
            app = create_app(config)
            try:
                kiosk = pair(site, app.test_client())
                kiosk.post("/language", data={"locale": "en"})
                kiosk.post("/check-in", data={"name": "Vic Visitor", "host_id": str(host.id)})
                kiosk.get("/notice")
                kiosk.post("/notice", data={"read": "1"})
                assert expected in kiosk.get("/done").text
            finally:
                get_database(app).engine.dispose()

    def test_pre_registration_queues_the_invitation_email(
        self, mail_app_config: dict[str, Any], site: Any, make_staff: Any, session: Session
    ):
        from kiosk.models import Notification

        make_staff(username="planner", sites=(site,))
        app = create_app(mail_app_config)
        try:
            staff = app.test_client()
            staff.post("/dashboard/login", data={"username": "planner", "password": STAFF_PASSWORD})
            page = staff.post(
                "/dashboard/expected/new",
                data={
                    "site": site.id,
                    "name": "Ines Invited",
                    "host": 0,
                    "expected_on": "2026-03-05",
                    "email": "ines@example.com",
                    "locale": "en",
                },
            ).text
            assert "The invitation is on its way to ines@example.com." in page
            [queued] = session.scalars(select(Notification)).all()
            assert (queued.kind, queued.invitation_id is not None) == ("invitation_email", True)
        finally:
            get_database(app).engine.dispose()

    def test_pre_registration_without_mail_says_so(self, staff: FlaskClient, site: Any):
        page = staff.post(
            "/dashboard/expected/new",
            data={
                "site": site.id,
                "name": "Ines Invited",
                "host": 0,
                "expected_on": "2026-03-05",
                "email": "ines@example.com",
                "locale": "en",
            },
        ).text
        assert "No email was sent" in page


def test_the_served_scheduler_checks_out_at_end_of_day(
    app: Flask, make_site: Any, make_visit: Any, session: Session, clock: Any
):
    from kiosk.scheduler import Scheduler

    site = make_site(name="Closing", end_of_day=time(18, 0))
    visit = make_visit(site, checked_in_at=clock.now())
    scheduler = Scheduler(app, startup_id=None)
    scheduler.tick()
    session.refresh(visit)
    assert visit.checked_out_at is None  # 09:00 in Stockholm: not closing time yet
    clock.set(datetime(2026, 3, 4, 17, 30, tzinfo=UTC))  # 18:30 local
    scheduler.tick()
    session.refresh(visit)
    assert visit.checked_out_at == datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
    assert "end_of_day_check_out" in actions(session)


def test_prefix_upper_bound_is_the_next_string_in_code_point_order():
    from kiosk.text import prefix_upper_bound

    assert prefix_upper_bound("berg") == "berh"
    assert prefix_upper_bound("a\ud7ff") == "a\ue000"  # past the surrogates
    assert prefix_upper_bound("a\U0010ffff") == "b"
    assert prefix_upper_bound("\U0010ffff") is None
    for word in ("berg", "bergström", "berg\U0010ffff"):
        assert "berg" <= word < "berh"


def test_expected_today_reads_each_sites_own_calendar_in_one_query(
    session: Session, make_site: Any, clock: Any, app: Any
):
    """At 11:30 UTC on 4 March it is already 5 March in Auckland; in Honolulu and Stockholm
    it is 4 March. One query serves sites on different dates, each with its own."""
    from sqlalchemy import event

    from kiosk.db import get_database
    from kiosk.services.daily import expected_today

    sites = [
        make_site(name="Stockholm", timezone="Europe/Stockholm"),
        make_site(name="Auckland", timezone="Pacific/Auckland"),
        make_site(name="Honolulu", timezone="Pacific/Honolulu"),
    ]
    for site in sites:
        for day in (date(2026, 3, 4), date(2026, 3, 5)):
            create_invitation(
                session,
                site,
                visitor_name=f"{site.name} {day.day}",
                expected_on=day,
                locale="sv",
                now=clock.now(),
            )
    cancelled = create_invitation(
        session,
        sites[0],
        visitor_name="Cancelled 4",
        expected_on=date(2026, 3, 4),
        locale="sv",
        now=clock.now(),
    )
    cancelled.cancelled_at = clock.now()
    session.commit()
    statements: list[str] = []
    engine = get_database(app).engine
    record = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    try:
        expected = expected_today(session, sites, now=datetime(2026, 3, 4, 11, 30, tzinfo=UTC))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert {site.name: [i.visitor_name for i in expected[site.id]] for site in sites} == {
        "Stockholm": ["Stockholm 4"],
        "Auckland": ["Auckland 5"],
        "Honolulu": ["Honolulu 4"],
    }
    assert len([s for s in statements if "FROM invitations" in s]) == 1
    assert expected_today(session, [], now=clock.now()) == {}
