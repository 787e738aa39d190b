"""Friendly error pages: never a stack trace, never a visitor's data."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, render_template, request
from flask.globals import request_ctx
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import refresh as refresh_locale
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from kiosk.devices import current_device
from kiosk.forms import UnexpectedFile
from kiosk.keystore import KeyStoreError
from kiosk.schema import UPGRADE_COMMAND, SchemaOutOfDate
from kiosk.urls import is_api_request

Handler = TypeVar("Handler", bound=Callable[..., Any])


def _on_kiosk_screen(handler: Handler) -> Handler:
    """Draw the error as a kiosk screen when the browser is a paired kiosk: the site's header,
    in the visitor's language (theirs if chosen, else the site's). The kiosk blueprint sets
    the site up in its own check, which has not run when the error came first: a form whose
    CSRF token expired is refused before it, and an unknown address has no blueprint at all.
    Without this such a page came in the kiosk browser's own language (English on a Swedish
    site) and in the desktop layout."""

    @wraps(handler)
    def wrapped(error: Any) -> Any:
        if not (is_api_request() or _is_dashboard() or g.get("site") is not None):
            _rollback()  # the device is read again; a failed statement left no transaction
            try:
                device = current_device()
            except (SQLAlchemyError, KeyStoreError):
                device = None  # the plain error page, then: it must be drawn whatever failed
            if device is not None:
                g.kiosk_device = device
                g.site = device.site
                g.site_locale = device.site.default_locale
                refresh_locale()  # the language may have been chosen already, without the site
        return handler(error)

    return wrapped  # type: ignore[return-value]


def init_app(app: Flask) -> None:
    """Register the error pages."""
    app.register_error_handler(HTTPException, _on_kiosk_screen(_http_error))
    app.register_error_handler(CSRFError, _on_kiosk_screen(_csrf_error))
    app.register_error_handler(UnexpectedFile, _on_kiosk_screen(_unexpected_file))
    app.register_error_handler(DataError, _on_kiosk_screen(_refused_value))
    app.register_error_handler(IntegrityError, _on_kiosk_screen(_saved_twice))
    app.register_error_handler(SchemaOutOfDate, _schema_out_of_date)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(PoolTimeoutError, _database_unavailable)
    # The key store missing, unreachable or refusing the master key (kiosk.key_setup): like
    # an unreachable database, nothing personal can be read or written.
    app.register_error_handler(KeyStoreError, _database_unavailable)
    app.register_error_handler(500, _on_kiosk_screen(_internal_error))


def _rollback() -> None:
    """End the request's transaction before an error page is drawn.

    The page (its layout: the signed-in user, the dashboard's warnings) reads the database
    again; on PostgreSQL a statement that failed earlier in the request leaves the transaction
    aborted, and every further statement, the error page's too, would fail.
    """
    from kiosk.db import close_session

    db_session = g.get("db_session")
    if db_session is None:
        return
    try:
        db_session.rollback()
    except DBAPIError:
        close_session()  # a broken connection: the page's reads take a fresh one


def _is_dashboard() -> bool:
    return request.blueprint == "dashboard" or request.path.startswith("/dashboard/")


def problem(
    status: int,
    detail: str | None = None,
    *,
    code: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An RFC 9457 problem details response, the one shape of every error the API gives.

    ``code`` names the problem for programs (``not_found``, ``precondition_failed`` ...);
    ``detail`` says it for people, in English, and never quotes what the client sent.
    """
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": phrase,
        "status": status,
        "code": code or phrase.lower().replace(" ", "_").replace("-", "_"),
        "detail": detail or phrase + ".",
    }
    if errors:
        body["errors"] = errors
    response = current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype="application/problem+json"
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _page(status: int, title: str, message: str) -> tuple[str, int] | Response:
    """An error page: in the dashboard's layout (back to the dashboard) for staff pages, else
    the kiosk's (back to the start); for the API, a problem details response."""
    _rollback()
    if is_api_request():
        return problem(status)
    if not _can_build_urls():
        return _bare_page(status, title, message)
    if _is_dashboard():
        return render_template("errors/dashboard_error.html", title=title, message=message), status
    # A kiosk screen on the kiosk's own pages, and on any page of a paired kiosk's browser.
    kiosk = request.blueprint == "registration" or g.get("kiosk_device") is not None
    page = render_template("errors/error.html", title=title, message=message, kiosk=kiosk)
    return page, status


def _can_build_urls() -> bool:
    """Whether the request can have URLs built for it (the layouts link the style sheets and
    the way back). Not when werkzeug could not read its Host header (an empty or over-long
    label: "a..b"): Flask then has no URL adapter, the request is refused with a 400, and a
    page that calls ``url_for`` raises instead of drawing."""
    return request_ctx.url_adapter is not None


def _bare_page(status: int, title: str, message: str) -> Response:
    """The error in a page of its own, with no link and no style sheet: for a request no URL
    can be built for (:func:`_can_build_urls`)."""
    page = (
        f'<!doctype html><html lang="{escape(str(get_locale()))}"><meta charset="utf-8">'
        f"<title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(message)}</p></html>"
    )
    return Response(page, status=status, mimetype="text/html")


def _http_error(error: HTTPException) -> tuple[str, int] | Response:
    status = error.code or 500
    if is_api_request() and status < 500:
        _rollback()
        headers: dict[str, str] = {}
        if status == 405:
            allowed = getattr(error, "valid_methods", None)
            headers = {"Allow": ", ".join(allowed)} if allowed else {}
        if status == 429:
            headers["Retry-After"] = str(_retry_after(error))
        return problem(status, headers=headers)
    if status == 404:
        return _page(404, _("Page not found"), _("There is nothing at this address."))
    if status == 410:
        return _page(
            410,
            _("No longer kept"),
            _("Its retention period has ended, so it has been erased."),
        )
    if status == 413:
        return _page(
            413,
            _("Too much data"),
            _("What was sent is larger than this page accepts. Please shorten it and try again."),
        )
    if status == 429 and request.blueprint == "registration":
        return _page(
            429,
            _("Too many attempts"),
            _(
                "Please wait a few minutes before typing a code again. You can still scan the"
                " code on your badge, or ask reception."
            ),
        )
    if status == 429:
        return _page(
            429,
            _("Too many attempts"),
            _("Please wait a few minutes before you try again."),
        )
    if status == 403 and _is_dashboard():
        return _page(
            403,
            _("You do not have access to this page"),
            _("Your account cannot open this page. Ask an administrator if you need it."),
        )
    if status == 405:
        return _page(405, _("Not allowed"), _("This page cannot be used that way."))
    if status >= 500:
        return _internal_error(error)
    return _page(
        status, _("Something was wrong with the request"), _("Please go back and try again.")
    )


def _retry_after(error: HTTPException) -> int:
    """Seconds until a rate limit lets the client in again (at least one)."""
    limit = getattr(error, "limit", None)
    window = getattr(getattr(limit, "limit", None), "get_expiry", None)
    return max(1, int(window())) if callable(window) else 60


def _unexpected_file(_error: UnexpectedFile) -> tuple[str, int] | Response:
    return _page(
        400,
        _("A file was sent where text was expected"),
        _("This form takes a file only where it asks for one. Please type the text instead."),
    )


def _refused_value(error: DataError) -> tuple[str, int] | Response:
    """The database refused a value no form check caught (a NUL in text, a number out of
    range): bad input, so a 400 and one log line naming the route, never the value."""
    original = getattr(error, "orig", None) or error
    rule = request.url_rule.rule if request.url_rule else "?"
    current_app.logger.error(
        "value refused by the database on %s %s: %s", request.method, rule, type(original).__name__
    )
    return _page(400, _("Something was wrong with the request"), _("Please go back and try again."))


def _saved_twice(error: IntegrityError) -> tuple[str, int] | Response:
    """A uniqueness the form checked was taken between the check and the write: the same form
    sent twice at once (a double click, two people), so a 409 that says so, never a 500.
    Forms check first so that the usual case gets its own message beside the field."""
    rule = request.url_rule.rule if request.url_rule else "?"
    original = getattr(error, "orig", None) or error
    current_app.logger.warning(
        "saved twice at once on %s %s: %s", request.method, rule, type(original).__name__
    )
    if is_api_request():
        _rollback()
        return problem(
            409, "It was changed at the same moment by another request.", code="conflict"
        )
    return _page(
        409,
        _("Saved by someone else at the same moment"),
        _(
            "The same thing was saved at the same time elsewhere, so this was not saved. "
            "Please go back, reload the page and check."
        ),
    )


def _csrf_error(_error: CSRFError) -> tuple[str, int] | Response:
    return _page(
        400,
        _("This page had expired"),
        _("For your security the form timed out, so nothing was saved. Please start again."),
    )


def _schema_out_of_date(error: SchemaOutOfDate) -> tuple[str, int] | Response:
    current_app.logger.error("%s", error)
    return _page(
        503,
        _("Kiosk is being updated"),
        _("The database needs an update. An administrator must run: %(command)s")
        % {"command": UPGRADE_COMMAND},
    )


#: Seconds a browser (or a person) should wait before trying again after a 503.
RETRY_AFTER_SECONDS = 5


def _database_unavailable(error: Exception) -> Response:
    """The database cannot be reached or is busy (restarting, failing over, locked too long):
    a temporary condition, so "try again" rather than "something went wrong".

    The page is drawn from the template alone: the usual template context would ask the
    database again (the signed-in user, the dashboard's warnings).
    """
    from kiosk.db import close_session

    # The driver's message can quote a host name or a statement: log the class only.
    original = getattr(error, "orig", None) or error
    rule = request.url_rule.rule if request.url_rule else "?"
    current_app.logger.error(
        "database unavailable on %s %s: %s", request.method, rule, type(original).__name__
    )
    close_session()  # its connection is broken; the next request takes a fresh one
    if is_api_request():
        return problem(503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    title = _("Please try again in a moment")
    message = _(
        "The service is briefly unavailable. Please try again in a moment, or ask at reception."
    )
    if _can_build_urls():
        page = current_app.jinja_env.get_template("errors/error.html").render(
            title=title, message=message
        )
        response = Response(page, status=503, mimetype="text/html")
    else:
        response = _bare_page(503, title, message)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _internal_error(_error: object) -> tuple[str, int] | Response:
    return _page(
        500,
        _("Something went wrong"),
        _("Sorry, this did not work. Please try again, or ask at reception."),
    )
