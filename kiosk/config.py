"""Configuration: built-in defaults < instance ``kiosk.toml`` < ``KIOSK_*`` environment.

Every key is documented in README.md ("Settings").
"""

from __future__ import annotations

import os
import secrets
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from kiosk.clock import SystemClock
from kiosk.paths import make_private_dir

INSTANCE_CONFIG_FILE = "kiosk.toml"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret

#: Languages the kiosk ships complete, in the order the language picker shows them.
LANGUAGES = ["sv", "en", "nb", "da", "fi", "de"]

DEFAULTS: dict[str, Any] = {
    # Flask / security
    "SECRET_KEY": None,  # generated into the instance folder when not set
    "MAX_CONTENT_LENGTH": 256 * 1024,  # bytes; larger requests get 413
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "WTF_CSRF_TIME_LIMIT": 3600,
    # Database
    "DATABASE_URL": None,  # default: SQLite file kiosk.sqlite3 in the instance folder
    "SQLITE_BUSY_TIMEOUT_MS": 5000,
    "DATABASE_POOL_SIZE": 5,  # connections kept per process (not SQLite)
    "DATABASE_MAX_OVERFLOW": 5,  # extra connections under load, beyond the pool size
    "DATABASE_POOL_RECYCLE_SECONDS": 1800,  # replace connections older than this; -1: never
    "DATABASE_POOL_TIMEOUT_SECONDS": 10,  # wait for a free pooled connection, then fail
    "DATABASE_CONNECT_TIMEOUT_SECONDS": 5,  # PostgreSQL: give up opening a connection after this
    # Kiosk
    "LANGUAGES": LANGUAGES,
    "DEFAULT_LOCALE": "en",  # when neither kiosk choice, site nor browser decides
    "CONFIRMATION_SECONDS": 15,  # the confirmation screen returns to the start after this
    "IDLE_SECONDS": 60,  # a kiosk screen left alone this long is cleared and returns to start
    "PUBLIC_URL": None,  # base URL visitors' phones reach (privacy notice QR); default: request's
    # Dashboard
    "STAFF_IDLE_MINUTES": 30,  # staff are logged out after this long without activity
    "STAFF_SESSION_HOURS": 12,  # and this long after their login, however active
    "DASHBOARD_REFRESH_SECONDS": 15,  # the on-site list refreshes itself this often
    "LOGIN_LIMIT_PER_IP": "20 per 10 minutes",  # failed logins (password or SSO) from one address
    # failed logins for one username from one address; each tier a longer wait
    "LOGIN_LIMIT_PER_USERNAME": "5 per minute; 10 per 10 minutes; 20 per hour",
    # failed check-out and invitation short codes typed at one kiosk (scanned tokens are free)
    "CHECKOUT_LIMIT_PER_KIOSK": "5 per minute; 20 per 10 minutes; 40 per hour",
    "PAIR_LIMIT_PER_IP": "10 per 10 minutes; 30 per hour",  # wrong pairing codes, one address
    "PASSWORD_CHECK_LIMIT_PER_USER": "5 per 10 minutes; 10 per hour",  # wrong current password
    "API_LIMIT_PER_TOKEN": "600 per minute; 20000 per hour",  # REST API requests per token
    "RATELIMIT_STORAGE_URI": "memory://",  # e.g. redis://127.0.0.1:6379 to share across servers
    "RATELIMIT_KEY_PREFIX": "kiosk",  # prefix of the counters' keys in a shared storage
    # Staff single sign-on with OpenID Connect (docs/sso.md); off while SSO_ISSUER is unset
    "SSO_ISSUER": None,  # the provider's issuer URL, e.g. https://login.example.com/realms/staff
    "SSO_CLIENT_ID": None,
    "SSO_CLIENT_SECRET": None,
    "SSO_PROVIDER_NAME": None,  # the login button says "Log in with <this>"
    "SSO_SCOPES": "openid profile",  # scopes asked for; add the one that carries the groups
    "SSO_GROUPS_CLAIM": "groups",  # the ID token claim with the user's groups or roles
    "SSO_GROUPS": {},  # group -> {"role": "reception", "sites": ["Stockholm"]}
    "SSO_TIMEOUT_SECONDS": 10,  # how long kiosk waits for the provider at each step
    "LOCAL_LOGIN": True,  # false: no password logins at all, only single sign-on
    "AUDIT_TIMEZONE": "Europe/Stockholm",  # the zone the audit log's dates are read in
    "TRUSTED_PROXIES": 0,  # reverse proxies in front whose X-Forwarded-* headers are believed
    # Badges and printing
    "BADGE_FONT": None,  # TrueType file; default DejaVu Sans (fonts-dejavu-core)
    "BADGE_FONT_BOLD": None,  # default DejaVu Sans Bold
    "BADGE_FALLBACK_FONTS": None,  # TrueType files for scripts the font lacks; default CJK, Arabic
    "BADGE_FETCH_SECONDS": 120,  # how long after check-in the kiosk's browser may fetch the badge
    "CUPS_SERVER": None,  # host[:port] or socket of CUPS; default: lp's own default
    "PRINT_TIMEOUT_SECONDS": 10,  # a CUPS command or label printer slower than this: failed
    "BROTHER_QL_MODEL": "QL-820NWB",  # the Brother QL model of the brother_ql backend's printers
    "BROTHER_QL_STATUS_SECONDS": 1.0,  # wait for a QL printer's status before a job; 0: don't ask
    # Host notifications and invitation emails (the outbox; see README "Notifications")
    "SMTP_HOST": None,  # no email is sent while unset
    "SMTP_PORT": 587,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": True,  # upgrade the connection with STARTTLS (port 587)
    "SMTP_SSL": False,  # TLS from the first byte (port 465); wins over SMTP_STARTTLS
    "SMTP_TIMEOUT_SECONDS": 10,
    "MAIL_FROM": "kiosk@localhost",
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "NOTIFY_MAX_ATTEMPTS": 5,  # then the notification is failed and shown on the dashboard
    "NOTIFY_RETRY_SECONDS": 30,  # wait before the first retry; doubles with each further one
    "NOTIFY_QUEUE_LIMIT": 1000,  # pending notifications; beyond it new ones fail "queue full"
    "NOTIFY_POLL_SECONDS": 5,  # how often a sender looks for due notifications
    "NOTIFY_IN_SERVER": True,  # each `kiosk serve` worker sends; false: run `kiosk notify run`
    # Retention purge (kiosk purge; the served app runs it on this schedule)
    "PURGE_TIME": "03:30",  # daily run of the served app, HH:MM in PURGE_TIMEZONE; None: none
    "PURGE_TIMEZONE": "UTC",
    "PURGE_ON_START": True,  # the served app also purges once when it starts
    "PURGE_BATCH_SIZE": 2500,  # rows per batch; each batch is one short transaction
    "PURGE_PAUSE_MS": 3,  # SQLite: pause between batches, for waiting check-ins to go first
    # Crypto-shredding's key store (docs/erasure.md): personal fields are sealed under its keys
    "KEY_STORE": None,  # database URL of the key store: its own SQLite file or PG database
    # KEY_STORE unset, SQLite database: keys in <instance>/keys/ (development; a copy of the
    # whole instance folder then carries the keys). Production: false, and KEY_STORE set.
    "INSTANCE_KEY_STORE": True,
    "MASTER_KEY": None,  # base64 of 32 random bytes (kiosk keys new-master-key); never stored
    "MASTER_KEY_FILE": None,  # or a file (mode 0600) holding it
    # Server (kiosk serve)
    "WORKERS": None,  # gunicorn worker processes; default: number of CPU cores
    "LOG_LEVEL": "INFO",
}


def load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Fill ``app.config`` in precedence order, then apply explicit overrides (tests)."""
    app.config.from_mapping(DEFAULTS)
    app.config["CLOCK"] = SystemClock()
    app.config.from_file(INSTANCE_CONFIG_FILE, load=_load_toml, silent=True, text=False)
    app.config.from_prefixed_env("KIOSK")
    if overrides:
        app.config.from_mapping(overrides)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))
    if not app.config["DATABASE_URL"]:
        db_path = Path(app.instance_path) / "kiosk.sqlite3"
        app.config["DATABASE_URL"] = f"sqlite:///{db_path}"
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["DEFAULT_LOCALE"]


def _load_toml(file: Any) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.load(file)
    return data


def _instance_secret_key(instance: Path) -> str:
    """Read the instance's secret key, creating it (mode 0600) on first start.

    Several workers may start at once: O_EXCL makes exactly one of them write the key; the
    others read what it wrote.
    """
    make_private_dir(instance)
    path = instance / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = ""
        for _ in range(50):  # the creating worker may not have written it yet
            key = path.read_text(encoding="ascii").strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty: delete it to have a new key generated") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
