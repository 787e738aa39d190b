"""Which kiosk device a browser is: a signed, long-lived cookie bound to one device and site."""

from __future__ import annotations

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from kiosk.cookies import cookie_name, secure_cookies
from kiosk.db import get_session
from kiosk.models import KioskDevice
from kiosk.services.kiosks import paired_device

COOKIE_NAME = "kiosk_device"
#: A paired kiosk stays paired until revoked; five years is "until revoked" for a browser.
COOKIE_MAX_AGE = 5 * 365 * 24 * 3600


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="kiosk-device")


def _cookie_claim() -> tuple[int, str] | None:
    """The device id and nonce this browser's cookie carries, if its signature holds (the
    database is not asked whether the device is still paired)."""
    # A kiosk paired over HTTPS before cookies had the __Host- prefix keeps its old cookie:
    # read it too, rather than make every such kiosk pair again (it is signed either way).
    raw = request.cookies.get(cookie_name(COOKIE_NAME)) or request.cookies.get(COOKIE_NAME)
    if not raw:
        return None
    try:
        device_id, nonce = _serializer().loads(raw)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(device_id, int) or not isinstance(nonce, str):
        return None
    return device_id, nonce


def current_device() -> KioskDevice | None:
    """The paired, unrevoked device this browser's cookie names, or None."""
    claim = _cookie_claim()
    return paired_device(get_session(), *claim) if claim else None


def device_key() -> str:
    """Whom a kiosk rate limit counts: the device the cookie names, else the address.

    Only the cookie's signature is checked (no database query): the limiter runs before the
    blueprint checks that the device is still paired.
    """
    claim = _cookie_claim()
    if claim:
        return f"kiosk-device:{claim[0]}"
    return f"kiosk-address:{request.remote_addr}"


def remember_device(response: Response, device: KioskDevice) -> None:
    """Give the browser the cookie that makes it this kiosk device."""
    response.set_cookie(
        cookie_name(COOKIE_NAME),
        _serializer().dumps([device.id, device.cookie_nonce]),
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(),
    )
