"""Admin: a site's badge and print settings on the dashboard."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import AuditEvent, Site
from tests.support import decode_qr_codes, pdf_to_image


@pytest.fixture
def site(make_site: Any) -> Any:
    return make_site(name="Badge Site", default_locale="en")


def png_logo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (120, 40), (11, 92, 173)).save(out, format="PNG")
    return out.getvalue()


def test_admin_changes_format_colour_logo_and_printer(
    staff_client: FlaskClient, site: Any, session: Session
):
    response = staff_client.post(
        f"/dashboard/admin/sites/{site.id}/badges",
        data={
            "preset": "cr80",
            "band_colour": "#aa0000",
            "print_backend": "cups",
            "cups_printer": "Reception_QL",
            "logo": (io.BytesIO(png_logo()), "logo.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    session.expire_all()
    saved = session.get(Site, site.id)
    assert saved is not None
    assert (
        saved.badge_preset,
        saved.badge_band_colour,
        saved.print_backend,
        saved.cups_printer,
    ) == (
        "cr80",
        "#AA0000",
        "cups",
        "Reception_QL",
    )
    assert saved.badge_logo
    assert "configure_badges" in session.scalars(select(AuditEvent.action)).all()
    form = staff_client.get(f"/dashboard/admin/sites/{site.id}/badges").text
    assert 'value="#AA0000"' in form
    assert "Remove the logo" in form


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"band_colour": "red"}, "Use a colour like #0B5CAD."),
        ({"print_backend": "cups", "cups_printer": ""}, "needs the printer&#39;s name"),
        ({"print_backend": "cups", "cups_printer": "bad name/../x"}, "not a CUPS printer name"),
        ({"preset": "poster"}, "Not a valid choice"),
    ],
)
def test_bad_settings_are_form_errors(
    staff_client: FlaskClient, site: Any, session: Session, fields: dict[str, str], message: str
):
    data = {"preset": "a4", "band_colour": "#0B5CAD", "print_backend": "browser", **fields}
    response = staff_client.post(f"/dashboard/admin/sites/{site.id}/badges", data=data)
    assert response.status_code == 200
    assert message in response.text or message.replace("&#39;", "'") in response.text
    session.expire_all()
    assert session.get(Site, site.id).badge_preset != "a4"


def test_a_file_that_is_no_picture_is_refused(staff_client: FlaskClient, site: Any):
    response = staff_client.post(
        f"/dashboard/admin/sites/{site.id}/badges",
        data={
            "preset": "a4",
            "band_colour": "#0B5CAD",
            "print_backend": "none",
            "logo": (io.BytesIO(b"%PDF-1.4 not an image"), "logo.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "PNG or JPEG" in response.text


def test_sample_badge_shows_the_settings_and_its_qr_decodes(
    staff_client: FlaskClient, site: Any, tmp_path: Path
):
    response = staff_client.get(f"/dashboard/admin/sites/{site.id}/badges/sample.pdf")
    assert response.mimetype == "application/pdf"
    codes = decode_qr_codes(pdf_to_image(response.data, tmp_path, dpi=300))
    assert len(codes) == 1
    assert len(codes[0]) >= 22  # a random token, nothing else
