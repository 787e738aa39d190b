"""Row URLs built once per list give exactly what url_for gives for each row."""

from __future__ import annotations

import pytest
from flask import Flask, url_for

from kiosk.urls import IdUrl

ROW_ENDPOINTS = [
    ("dashboard.badge_reprint", "visit_id"),
    ("dashboard.badge_download", "visit_id"),
    ("dashboard.check_out", "visit_id"),
    ("dashboard.cancel_invitation", "invitation_id"),
]


@pytest.mark.parametrize(("endpoint", "key"), ROW_ENDPOINTS)
@pytest.mark.parametrize("base_url", ["http://localhost/", "https://reception.example/kiosk/"])
def test_row_url_is_url_for(app: Flask, endpoint: str, key: str, base_url: str):
    with app.test_request_context(base_url=base_url):
        row_url = IdUrl(endpoint, key)
        for row_id in (0, 1, 7, 42, 10**9, 2**63 - 1):
            assert row_url(row_id) == url_for(endpoint, **{key: row_id})


def test_other_values_stay_in_the_url(app: Flask):
    with app.test_request_context():
        row_url = IdUrl("dashboard.check_out", "visit_id", back="today")
        assert row_url(5) == url_for("dashboard.check_out", visit_id=5, back="today")
        assert "back=today" in row_url(5)
