"""The security headers every response carries."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import request
from werkzeug.wrappers import Response

#: Scripts, styles, fonts and images from this server only (no inline script or style, no
#: eval), nothing framed, forms posting to this server only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


#: PDFs run no script of ours at all. Chrome shows a PDF through a plugin in a page it makes up
#: with inline styles: a default-src or object-src 'none' would leave it blank, so a PDF gets
#: its own policy without them (object-src 'self' lets the viewer read this PDF).
PDF_CSP = (
    "script-src 'none'; object-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def pdf_response(data: bytes, filename: str, *, frameable: bool = False) -> FlaskResponse:
    """A PDF the browser shows (and prints) rather than saves.

    ``frameable``: the app's own pages may load it into a hidden frame to print it (the
    kiosk's badge, a reprint on the dashboard); every other response forbids all framing.
    """
    response = FlaskResponse(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    if frameable:
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Content-Security-Policy"] = PDF_CSP.replace(
            "frame-ancestors 'none'", "frame-ancestors 'self'"
        )
    return response


#: Endpoints that serve no personal data and may be cached (the site's logo is versioned by
#: its URL; see kiosk.registration.branding).
CACHEABLE = {"static", "registration.site_logo"}


def security_headers(response: Response) -> Response:
    """Add the headers (a route may set its own, stricter or framing-specific, values)."""
    headers = response.headers
    pdf = response.mimetype == "application/pdf"
    headers.setdefault("Content-Security-Policy", PDF_CSP if pdf else CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint not in CACHEABLE or response.status_code != 200:
        # Kiosk screens and staff views hold personal data: never keep them in a cache, so the
        # next visitor cannot go "back" into them.
        headers["Cache-Control"] = "no-store"
    return response
