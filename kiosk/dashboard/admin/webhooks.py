"""Dashboard admin: a site's webhook subscriptions (docs/webhooks.md).

The signing secret is shown once, on the page right after it was made or renewed, like an API
key: a receiver is configured with it there and then. It stays in the database because every
call is signed with it, but no later page shows it, so a look over an admin's shoulder or an old
screenshot of the list gives nothing away; a lost secret is renewed, not looked up.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.validators import Length

from kiosk.clock import now
from kiosk.dashboard.access import admin_required, audit, served_or_404, served_site, served_sites
from kiosk.dashboard.admin.forms import WebhookForm
from kiosk.dashboard.blueprint import bp
from kiosk.db import get_session
from kiosk.forms import ButtonForm
from kiosk.models import WebhookSubscription
from kiosk.services.webhooks import (
    SubscriptionSettings,
    WebhookError,
    create_subscription,
    renew_secret,
    site_subscriptions,
    update_subscription,
)


def _form(subscription: WebhookSubscription | None = None) -> WebhookForm:
    form = WebhookForm(obj=subscription)
    form.site.choices = [(site.id, site.name) for site in served_sites()]
    if subscription is not None:
        # An incoming-webhook URL's path is itself a secret (Slack's and Teams' are): it is
        # never shown again. Left empty, the address stays as it is.
        form.url.validators = [Length(max=500)]
        form.url.description = _("Leave empty to keep %(host)s.", host=url_host(subscription.url))
        if not form.is_submitted():
            form.url.data = ""
            form.events.data = subscription.event_list
    return form


def url_host(url: str) -> str:
    """The host of a webhook URL: all of it that is shown once it is saved."""
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def _settings(
    form: WebhookForm, subscription: WebhookSubscription | None = None
) -> SubscriptionSettings:
    url = form.url.data or (subscription.url if subscription is not None else "")
    return SubscriptionSettings(
        name=form.name.data or "",
        url=url,
        format=form.format.data or "",
        events=list(form.events.data or []),
        personal=bool(form.personal.data),
    )


def _refused(form: WebhookForm, error: WebhookError) -> None:
    message = (
        _("Please enter an http or https address.")
        if error.field == "url"
        else _("Please check this.")
    )
    getattr(form, error.field).errors.append(message)


@bp.route("/admin/webhooks")
@admin_required
def admin_webhooks() -> str:
    """Every webhook subscription of the sites the admin serves."""
    sites = served_sites()
    subscriptions = site_subscriptions(get_session(), [site.id for site in sites])
    return render_template(
        "dashboard/admin/webhooks.html",
        subscriptions=subscriptions,
        hosts={subscription.id: url_host(subscription.url) for subscription in subscriptions},
        event_names=dict(WebhookForm().events.choices),
        button=ButtonForm(),
    )


@bp.route("/admin/webhooks/new", methods=["GET", "POST"])
@admin_required
def admin_webhook_new() -> str | Response:
    form = _form()
    if form.validate_on_submit():
        db_session = get_session()
        site = served_site(form.site.data)
        try:
            subscription = create_subscription(db_session, site, _settings(form), now=now())
        except WebhookError as error:
            _refused(form, error)
        else:
            db_session.flush()
            audit("create_webhook", "webhook_subscription", subscription.id)
            db_session.commit()
            return _show_secret(subscription)
    return render_template("dashboard/admin/webhook_form.html", form=form, subscription=None)


@bp.route("/admin/webhooks/<int:subscription_id>", methods=["GET", "POST"])
@admin_required
def admin_webhook_edit(subscription_id: int) -> str | Response:
    subscription = served_or_404(WebhookSubscription, subscription_id)
    form = _form(subscription)
    del form.site  # a subscription stays with its site
    if form.validate_on_submit():
        try:
            update_subscription(subscription, _settings(form, subscription))
        except WebhookError as error:
            _refused(form, error)
        else:
            audit("update_webhook", "webhook_subscription", subscription.id)
            get_session().commit()
            flash(_("Saved."))
            return redirect(url_for(".admin_webhooks"))
    return render_template(
        "dashboard/admin/webhook_form.html", form=form, subscription=subscription
    )


@bp.route("/admin/webhooks/<int:subscription_id>/secret", methods=["POST"])
@admin_required
def admin_webhook_secret(subscription_id: int) -> str | Response:
    """A new signing secret, shown once; the old one stops verifying at once."""
    subscription = served_or_404(WebhookSubscription, subscription_id)
    if not ButtonForm().validate_on_submit():
        return redirect(url_for(".admin_webhooks"))
    renew_secret(subscription)
    audit("renew_webhook_secret", "webhook_subscription", subscription.id)
    get_session().commit()
    return _show_secret(subscription)


@bp.route("/admin/webhooks/<int:subscription_id>/active", methods=["POST"])
@admin_required
def admin_webhook_active(subscription_id: int) -> Response:
    """Pause a subscription (nothing is queued or sent for it) or resume it."""
    subscription = served_or_404(WebhookSubscription, subscription_id)
    if ButtonForm().validate_on_submit():
        subscription.active = not subscription.active
        audit(
            "resume_webhook" if subscription.active else "pause_webhook",
            "webhook_subscription",
            subscription.id,
        )
        get_session().commit()
    return redirect(url_for(".admin_webhooks"))


@bp.route("/admin/webhooks/<int:subscription_id>/delete", methods=["POST"])
@admin_required
def admin_webhook_delete(subscription_id: int) -> Response:
    """Remove a subscription, and the calls still waiting for it."""
    subscription = served_or_404(WebhookSubscription, subscription_id)
    if ButtonForm().validate_on_submit():
        audit("delete_webhook", "webhook_subscription", subscription.id)
        get_session().delete(subscription)
        get_session().commit()
        flash(_("Removed."))
    return redirect(url_for(".admin_webhooks"))


def _show_secret(subscription: WebhookSubscription) -> str:
    return render_template("dashboard/admin/webhook_secret.html", subscription=subscription)
