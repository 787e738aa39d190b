"""Cookie names and flags shared by the session and the kiosk device cookie."""

from __future__ import annotations

from flask import current_app, request

#: Browsers accept a cookie of this prefix only if it is Secure, has Path=/ and no Domain:
#: neither a sibling subdomain nor a plain-HTTP page can set or overwrite it (OWASP ASVS 3.3).
HOST_PREFIX = "__Host-"


def secure_cookies() -> bool:
    """Whether this request's cookies are ``Secure``: always when SESSION_COOKIE_SECURE is
    set, else whenever the request came over HTTPS."""
    return bool(current_app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def cookie_name(base: str) -> str:
    """``base``, with the ``__Host-`` prefix when the cookie is Secure."""
    return HOST_PREFIX + base if secure_cookies() else base
