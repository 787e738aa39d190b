"""The current visitor's display modes (larger text, high contrast, within reach).

The toggles (static/js/kiosk.js) keep the chosen modes in a cookie of their own, written by
the page the moment a toggle is tapped, so the next screen is rendered with them by the
server: its ``<html>`` element carries the modes as classes and no script has to run before
the first paint (a blocking script would delay every screen's first paint; a deferred one
would show the screen in the default look first). The cookie names only which of the three
modes are on, nothing about the visitor; it has no expiry, and the reset deletes it with
the rest of the visitor's state.
"""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.wrappers import Response

from kiosk.cookies import cookie_name, secure_cookies
from kiosk.registration.blueprint import bp

#: The modes, in the order the toggles show them; the cookie's value is a dot-joined subset.
DISPLAY_MODES = ("larger-text", "high-contrast", "reachable")
_COOKIE = "kiosk_display"


def display_cookie_name() -> str:
    """The cookie's name for this request (``__Host-`` prefixed when cookies are Secure)."""
    return cookie_name(_COOKIE)


def display_modes() -> list[str]:
    """The modes the current visitor turned on; anything else in the cookie is ignored."""
    chosen = set(request.cookies.get(display_cookie_name(), "").split("."))
    return [mode for mode in DISPLAY_MODES if mode in chosen]


def forget_display_modes(response: Response) -> Response:
    """Delete the modes' cookie with ``response`` (the next visitor starts in the default look)."""
    response.delete_cookie(
        display_cookie_name(), path="/", secure=secure_cookies(), samesite="Strict"
    )
    return response


@bp.app_context_processor
def _display_context() -> dict[str, Any]:
    return {"display_modes": display_modes, "display_cookie_name": display_cookie_name}
