"""Kiosk devices: pairing a browser with a site, and revoking it."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from kiosk.models import KioskDevice, Site
from kiosk.services.codes import digest, is_code, new_code, normalise_code

PAIRING_CODE_LENGTH = 8
#: A pairing code is meant to be used right away at the reception desk.
PAIRING_CODE_LIFETIME = timedelta(hours=24)


class KioskError(Exception):
    """A kiosk device operation that cannot be done; ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def format_pairing_code(code: str) -> str:
    """A pairing code as people read it: ABCD-EFGH."""
    return f"{code[:4]}-{code[4:]}"


def create_device(
    session: Session, site: Site, name: str, *, now: datetime
) -> tuple[KioskDevice, str]:
    """Create a kiosk device for a site; return it with its one-time pairing code."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise KioskError("bad_name")
    taken = session.scalar(
        select(KioskDevice.id).where(KioskDevice.site_id == site.id, KioskDevice.name == name)
    )
    if taken is not None:
        raise KioskError("name_taken")
    device = KioskDevice(site=site, name=name, created_at=now)
    session.add(device)
    return device, issue_pairing_code(device, now=now)


def issue_pairing_code(device: KioskDevice, *, now: datetime) -> str:
    """Give a device a new one-time pairing code (for a new or replaced browser)."""
    code = new_code(PAIRING_CODE_LENGTH)
    device.pairing_code_hash = digest(code)
    device.pairing_expires_at = now + PAIRING_CODE_LIFETIME
    device.revoked_at = None
    return code


def pair_device(session: Session, typed_code: str, *, now: datetime) -> KioskDevice:
    """Use a pairing code: the device gets a fresh cookie nonce and the code is spent."""
    code = normalise_code(typed_code)
    if not is_code(code, PAIRING_CODE_LENGTH):
        raise KioskError("unknown_code")
    device = session.scalar(
        select(KioskDevice).where(KioskDevice.pairing_code_hash == digest(code))
    )
    if device is None:
        raise KioskError("unknown_code")
    if device.pairing_expires_at is None or device.pairing_expires_at < now:
        raise KioskError("expired_code")
    device.pairing_code_hash = None
    device.pairing_expires_at = None
    device.cookie_nonce = secrets.token_urlsafe(24)
    device.paired_at = now
    device.revoked_at = None
    return device


def set_on_screen_keyboard(device: KioskDevice, *, on: bool) -> None:
    """Turn a kiosk's own on-screen keyboard on or off (its screens follow on the next load).
    Caller commits."""
    device.on_screen_keyboard = on


def revoke_device(device: KioskDevice, *, now: datetime) -> None:
    """Stop a device from working as a kiosk; its cookie and any pairing code die."""
    device.revoked_at = now
    device.cookie_nonce = None
    device.pairing_code_hash = None
    device.pairing_expires_at = None


#: Every kiosk request reads its device and site: one statement built once, which SQLAlchemy
#: finds in its cache without building and keying a new one (``Session.get`` with a loader
#: option did that per request: 181 against 120 µs on SQLite).
_DEVICE_WITH_SITE = (
    select(KioskDevice)
    .options(joinedload(KioskDevice.site))
    .where(KioskDevice.id == bindparam("device_id"))
)


def paired_device(session: Session, device_id: int, nonce: str) -> KioskDevice | None:
    """The device a kiosk cookie names, if it is still paired with that cookie."""
    device = session.execute(_DEVICE_WITH_SITE, {"device_id": device_id}).scalar()
    if device is None or device.revoked_at is not None or not device.cookie_nonce:
        return None
    if not secrets.compare_digest(device.cookie_nonce, nonce):
        return None
    return device


def devices_of_sites(session: Session, site_ids: Sequence[int]) -> Sequence[KioskDevice]:
    """Kiosk devices of these sites, by site and name."""
    if not site_ids:
        return []
    return session.scalars(
        select(KioskDevice)
        .options(joinedload(KioskDevice.site))
        .where(KioskDevice.site_id.in_(site_ids))
        .order_by(KioskDevice.site_id, KioskDevice.name)
    ).all()


def all_devices(session: Session) -> Sequence[KioskDevice]:
    """Every kiosk device of every site, oldest first."""
    return session.scalars(
        select(KioskDevice).options(joinedload(KioskDevice.site)).order_by(KioskDevice.id)
    ).all()
