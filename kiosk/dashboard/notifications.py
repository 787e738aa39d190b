"""Dashboard: notifications that failed or are still waiting, with retry and dismiss; the
count of failures shown in the navigation."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from kiosk.clock import now
from kiosk.dashboard.access import audit, current_staff, served_or_404, served_sites
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.enums import NotificationKind
from kiosk.forms import ButtonForm
from kiosk.models import (
    Notification,
)
from kiosk.notifications.outbox import (
    QUEUE_FULL,
    NotificationError,
    dismiss_notification,
    failed_count,
    outstanding_notifications,
    retry_notification,
)
from kiosk.notifications.sender import CONTENT_ERASED, CONTENT_UNREADABLE, wake_sender
from kiosk.notifications.transports import MailSettings
from kiosk.services.audit import record_site_views
from kiosk.services.sites import sites_served_by


def _kind_labels() -> dict[str, str]:
    return {
        NotificationKind.HOST_EMAIL: _("Email to host"),
        NotificationKind.HOST_WEBHOOK: _("Webhook"),
        NotificationKind.INVITATION_EMAIL: _("Invitation email"),
    }


def _status_labels() -> dict[str, str]:
    return {
        "pending": _("Waiting"),
        "sending": _("Sending"),
        "failed": _("Failed"),
    }


def _error_label(code: str | None) -> str:
    # Error classes are for the operator and stay as they are; our own codes are translated.
    labels = {
        QUEUE_FULL: _("Queue full"),
        CONTENT_ERASED: _("Message erased (past its retention)"),
        CONTENT_UNREADABLE: _("Message unreadable: the key store lacks its key"),
    }
    if code in labels:
        return str(labels[code])
    return code or ""


@bp.route("/notifications")
def notifications() -> str:
    """Failed and waiting notifications of the user's sites (visit ids and hosts, no visitor)."""
    db_session = get_session()
    user = current_staff()
    sites = sites_served_by(db_session, user)
    entries = outstanding_notifications(db_session, [site.id for site in sites])
    record_site_views(db_session, user, sites, action="view_notifications", now=now())
    db_session.commit()
    return render_template(
        "dashboard/notifications.html",
        entries=entries,
        kinds=_kind_labels(),
        statuses=_status_labels(),
        error_label=_error_label,
        email_configured=MailSettings.from_config(current_app.config).configured,
        button=ButtonForm(),
    )


def _act(notification_id: int, action: str, change: Callable[[Notification], None]) -> None:
    notification = served_or_404(Notification, notification_id)
    if not ButtonForm().validate_on_submit():
        return
    try:
        change(notification)
    except NotificationError:
        flash(_("Only failed notifications can be retried or dismissed."))
        return
    audit(action, "notification", notification.id)
    get_session().commit()
    if action == "retry_notification":
        wake_sender()
        flash(_("The notification will be sent again."))
    else:
        flash(_("The notification was dismissed and its message erased."))


@bp.route("/notifications/<int:notification_id>/retry", methods=["POST"])
def notification_retry(notification_id: int) -> Response:
    """Send a failed notification again."""
    _act(
        notification_id,
        "retry_notification",
        lambda notification: retry_notification(notification, now=now()),
    )
    return redirect(url_for(".notifications"))


@bp.route("/notifications/<int:notification_id>/dismiss", methods=["POST"])
def notification_dismiss(notification_id: int) -> Response:
    """Set a failed notification aside (it leaves the list and the count)."""
    _act(notification_id, "dismiss_notification", dismiss_notification)
    return redirect(url_for(".notifications"))


@bp.app_context_processor
def _failed_notifications() -> dict[str, Callable[[], int]]:
    """``failed_notifications()`` for the navigation; counted only when a page asks."""

    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        return failed_count(get_session(), [site.id for site in served_sites()])

    return {"failed_notifications": count}
