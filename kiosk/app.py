"""The application factory."""

from __future__ import annotations

import logging
import os
import re
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, abort, g, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from kiosk import db, errors, i18n, urls
from kiosk.app_headers import security_headers
from kiosk.config import load_config
from kiosk.cookies import cookie_name, secure_cookies
from kiosk.extensions import babel, csrf, limiter, login_manager
from kiosk.forms import refuse_json_bodies, refuse_unexpected_files, use_faster_attributes
from kiosk.paths import make_private_dir, resource_dir
from kiosk.schema import require_current_schema


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` whenever the request came over HTTPS, and then named
    with the ``__Host-`` prefix (so Path=/ and no Domain, which Flask's defaults give)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return secure_cookies()

    def get_cookie_name(self, app: Flask) -> str:
        return cookie_name(str(app.config["SESSION_COOKIE_NAME"]))


class KioskFlask(Flask):
    """Flask, with unexpected errors logged without anything a visitor typed."""

    def log_exception(self, exc_info: Any) -> None:
        # Flask's default logs the exception message, which can quote submitted data; we log
        # the type and where it happened, which is what an operator needs to find the bug.
        exc_type, _exc, tb = exc_info
        frames = traceback.extract_tb(tb)[-6:]
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))
        rule = request.url_rule.rule if request.url_rule else "?"
        self.logger.error(
            "unhandled %s on %s %s at %s", exc_type.__name__, request.method, rule, where
        )


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the kiosk app.

    ``config`` overrides everything else (tests use it); ``INSTANCE_PATH`` in it, or the
    ``KIOSK_INSTANCE_PATH`` environment variable, moves the instance folder.
    """
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("KIOSK_INSTANCE_PATH")
    app = KioskFlask(
        "kiosk",
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    make_private_dir(Path(app.instance_path))
    load_config(app, config)
    app.logger.setLevel(app.config["LOG_LEVEL"])
    logging.getLogger("kiosk").setLevel(app.config["LOG_LEVEL"])

    if int(app.config["TRUSTED_PROXIES"]):
        proxies = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    app.session_interface = HttpsAwareSessionInterface()
    db.init_app(app)
    _init_key_store(app)
    _init_limiter(app)
    babel.init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=str(resource_dir("translations")),
    )
    csrf.init_app(app)
    use_faster_attributes()
    _init_login(app)

    from kiosk.api import bp as api_bp
    from kiosk.dashboard import bp as dashboard_bp
    from kiosk.privacy.routes import bp as privacy_bp
    from kiosk.registration import bp as registration_bp

    urls.init_converters(app)
    app.register_blueprint(registration_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(dashboard_bp, url_prefix="/dashboard")
    # API clients authenticate each request with a token, never with the session cookie, so
    # there is no cross-site request for CSRF protection to stop.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)
    errors.init_app(app)

    app.before_request(_refuse_nul_in_query)
    app.before_request(refuse_unexpected_files)
    app.before_request(refuse_json_bodies)
    app.before_request(require_current_schema)
    app.before_request(require_key_store)
    app.after_request(security_headers)
    i18n.init_app(app)
    urls.init_app(app)
    return app


#: Redis is on the local network: a login must not wait longer than this for it.
RATELIMIT_REDIS_TIMEOUT_SECONDS = 1.0


def _init_limiter(app: Flask) -> None:
    """Login throttling, in memory or shared through Redis, never failing a login.

    When the configured storage (Redis) cannot be reached, each process counts in its own
    memory instead (a warning is logged), and goes back to the storage once it answers again
    (Flask-Limiter checks with a growing pause). A storage that fails between counting and
    recording an attempt is logged and the request goes on.
    """
    config = app.config
    # Flask-Limiter keeps "enabled" on its one process-wide object and falls back to it when
    # an app does not say: an app that switched limiting off must not switch it off for the
    # next app of the process (tests make many).
    config.setdefault("RATELIMIT_ENABLED", True)
    config["RATELIMIT_HEADERS_ENABLED"] = False
    config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    config["RATELIMIT_SWALLOW_ERRORS"] = True
    uri = str(config["RATELIMIT_STORAGE_URI"])
    if uri.split(":", 1)[0] in {"redis", "rediss", "redis+unix"}:
        # redis-py waits forever by default; options in the URL's query string win over these.
        config["RATELIMIT_STORAGE_OPTIONS"] = {
            "socket_connect_timeout": RATELIMIT_REDIS_TIMEOUT_SECONDS,
            "socket_timeout": RATELIMIT_REDIS_TIMEOUT_SECONDS,
            **config.get("RATELIMIT_STORAGE_OPTIONS", {}),
        }
    limiter.init_app(app)


def _refuse_nul_in_query() -> None:
    """No URL parameter has a use for NUL, and PostgreSQL refuses it in text: a bad request."""
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        abort(400)


def _select_locale() -> str | None:
    """A page's own language, else the kiosk visitor's choice, else the site's, else the
    browser's."""
    from flask import current_app

    supported: list[str] = current_app.config["LANGUAGES"]
    for candidate in (g.get("page_locale"), session.get("locale"), g.get("site_locale")):
        if candidate in supported:
            return str(candidate)
    best = request.accept_languages.best_match(supported)
    return best or current_app.config["DEFAULT_LOCALE"]


def _init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from kiosk.db import get_session
    from kiosk.models import StaffUser

    login_manager.init_app(app)
    login_manager.login_view = "dashboard.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.session_protection = "strong"

    @login_manager.user_loader  # type: ignore[untyped-decorator]
    def load_user(session_id: str) -> StaffUser | None:
        # "<user id>:<session generation>": the session is valid only while the user's
        # generation is unchanged (logout and password changes bump it, server-side).
        parts = re.fullmatch(r"(\d{1,12}):(\d{1,12})", session_id, re.ASCII)
        if parts is None:
            return None
        user = get_session().get(StaffUser, int(parts[1]))
        if user is None or not user.active or user.session_generation != int(parts[2]):
            return None
        return user


def _init_key_store(app: Flask) -> None:
    """Open the key store (kiosk.key_setup). A store that cannot be used does not stop the
    app's creation (``kiosk keys init`` must run to make one): ``kiosk serve`` refuses to
    start and every request is answered 503 until it is fixed."""
    from kiosk.key_setup import lost_key_ids, open_for_engine
    from kiosk.keystore import KeyStoreError

    app.extensions[KEYS_LOST] = 0
    engine = db.get_database(app).engine
    try:
        store = app.extensions[KEY_STORE_EXTENSION] = open_for_engine(
            app.config, Path(app.instance_path), engine
        )
        app.extensions[KEY_STORE_ERROR] = None
        # A store replaced by an older copy serves, but would lose what it no longer has:
        # say so at once (the Retention page shows it too), by counts only.
        lost = app.extensions[KEYS_LOST] = lost_key_ids(engine, store)
        if lost:
            app.logger.error(
                "the key store lacks %d keys that the newest rows are sealed with: it may be"
                " an older copy (docs/erasure.md, failure modes)",
                lost,
            )
    except KeyStoreError as error:
        app.extensions[KEY_STORE_EXTENSION] = None
        app.extensions[KEY_STORE_ERROR] = error.reason
        app.logger.error("the key store cannot be used: %s (docs/erasure.md)", error.reason)


KEY_STORE_EXTENSION = "kiosk.key_store"
KEY_STORE_ERROR = "kiosk.key_store_error"
#: How many key ids the newest sealed rows name that the key store has never heard of.
KEYS_LOST = "kiosk.keys_lost"


def require_key_store() -> None:
    """Refuse to serve without the key store: nothing personal can be read or written."""
    from flask import current_app

    from kiosk.keystore import KeyStoreError

    if request.endpoint == "static" or current_app.extensions.get(KEY_STORE_ERROR) is None:
        return
    raise KeyStoreError(str(current_app.extensions[KEY_STORE_ERROR]))
