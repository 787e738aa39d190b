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


def _upload_logo(client: FlaskClient, site: Any, data: bytes, name: str = "logo.png") -> Any:
    """The badge settings saved with only a logo file to change (A4, no printer)."""
    return client.post(
        f"/dashboard/admin/sites/{site.id}/badges",
        data={
            "preset": "a4",
            "band_colour": "#0B5CAD",
            "print_backend": "none",
            "logo": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


def test_a_file_that_is_no_picture_is_refused(staff_client: FlaskClient, site: Any):
    response = _upload_logo(staff_client, site, b"%PDF-1.4 not an image")
    assert response.status_code == 200
    assert "PNG or JPEG" in response.text


def _broken_png() -> bytes:
    """A PNG whose image data's length field says half what follows: Pillow's decoder
    raises SyntaxError on it."""
    import struct

    picture = bytearray(png_logo())
    at = picture.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", picture[at : at + 4])
    picture[at : at + 4] = struct.pack(">I", length // 2)
    return bytes(picture)


def _dds_of_unknown_pixels() -> bytes:
    """A DirectDraw Surface with no pixel format: Pillow raised NotImplementedError."""
    import struct

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="DDS")
    picture = bytearray(out.getvalue())
    picture[80:84] = struct.pack("<I", 0)
    return bytes(picture)


_EPS_HEAD = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"

#: Pictures an outside fuzz found to answer 500 (each decoder's own exception), and formats
#: other than PNG and JPEG, which Pillow opens but a logo need not be: PostScript would run
#: Ghostscript on an uploaded file.
NOT_A_LOGO = {
    "broken-png": _broken_png,
    "dds": _dds_of_unknown_pixels,
    "eps": lambda: _EPS_HEAD + b"not_an_operator\n%%EOF\n",
    "eps-drawn": lambda: _EPS_HEAD + b"newpath 0 0 moveto 10 10 lineto stroke\n%%EOF\n",
    "gif": lambda: _saved_as("GIF"),
    "bmp": lambda: _saved_as("BMP"),
    "tiff": lambda: _saved_as("TIFF"),
}


def _saved_as(image_format: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (11, 92, 173)).save(out, format=image_format)
    return out.getvalue()


@pytest.mark.parametrize("kind", sorted(NOT_A_LOGO))
def test_only_a_png_or_jpeg_is_taken_as_a_logo(
    staff_client: FlaskClient, site: Any, session: Session, kind: str, monkeypatch: Any
):
    import subprocess

    def no_ghostscript(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a program was run on an uploaded logo: {args[0]!r}")

    # Pillow runs Ghostscript through subprocess to read PostScript.
    monkeypatch.setattr(subprocess, "check_call", no_ghostscript)
    monkeypatch.setattr(subprocess, "Popen", no_ghostscript)
    response = _upload_logo(staff_client, site, NOT_A_LOGO[kind]())
    assert response.status_code == 200
    assert "PNG or JPEG" in response.text
    session.expire_all()
    assert session.get(Site, site.id).badge_logo is None


def test_a_jpeg_logo_is_taken(staff_client: FlaskClient, site: Any, session: Session):
    response = _upload_logo(staff_client, site, _saved_as("JPEG"), "logo.jpg")
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Site, site.id).badge_logo


def test_sample_badge_shows_the_settings_and_its_qr_decodes(
    staff_client: FlaskClient, site: Any, tmp_path: Path
):
    response = staff_client.get(f"/dashboard/admin/sites/{site.id}/badges/sample.pdf")
    assert response.mimetype == "application/pdf"
    codes = decode_qr_codes(pdf_to_image(response.data, tmp_path, dpi=300))
    assert len(codes) == 1
    assert len(codes[0]) >= 22  # a random token, nothing else
