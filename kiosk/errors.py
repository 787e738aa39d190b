"""Friendly error pages: never a stack trace, never a visitor's data."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from kiosk.schema import UPGRADE_COMMAND, SchemaOutOfDate


def init_app(app: Flask) -> None:
    """Register the error pages."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(SchemaOutOfDate, _schema_out_of_date)
    app.register_error_handler(500, _internal_error)


def _page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("errors/error.html", title=title, message=message), status


def _http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    if status == 404:
        return _page(404, _("Page not found"), _("There is nothing at this address."))
    if status == 413:
        return _page(
            413,
            _("Too much data"),
            _("What was sent is larger than this page accepts. Please shorten it and try again."),
        )
    if status == 429:
        return _page(
            429,
            _("Too many attempts"),
            _("Please wait a few minutes before you try again."),
        )
    if status == 405:
        return _page(405, _("Not allowed"), _("This page cannot be used that way."))
    if status >= 500:
        return _internal_error(error)
    return _page(
        status, _("Something was wrong with the request"), _("Please go back and try again.")
    )


def _csrf_error(_error: CSRFError) -> tuple[str, int]:
    return _page(
        400,
        _("This page had expired"),
        _("For your security the form timed out, so nothing was saved. Please start again."),
    )


def _schema_out_of_date(error: SchemaOutOfDate) -> tuple[str, int]:
    current_app.logger.error("%s", error)
    return _page(
        503,
        _("Kiosk is being updated"),
        _("The database needs an update. An administrator must run: %(command)s")
        % {"command": UPGRADE_COMMAND},
    )


def _internal_error(_error: object) -> tuple[str, int]:
    return _page(
        500,
        _("Something went wrong"),
        _("Sorry, this did not work. Please try again, or ask at reception."),
    )
