"""Group check-in at the kiosk ("I am with others", kiosk.services.groups).

The first visitor fills in their details as usual and taps "I am with others" instead of
Continue; the group screen then lists everyone, with "Add another person" and a Remove button
per companion. Each companion goes through :func:`companion_steps`: the same fields (those the
visitor type asks, without the host and purpose, which are the group's), the same on-screen
keyboard, validation and messages as the first visitor. After the privacy notice
(routes._register hands over to :func:`register_group`), one transaction registers everyone
(kiosk.checkin.check_in_group), and the done screen shows each person's badge code and prints
every badge.

What the companions typed is kept on the server beside the first visitor's details
(kiosk.session_store, item ``GROUP``) and goes with them: at the check-in, the reset, or back
on the welcome screen (``forget_visitor`` discards every item).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk import checkin, session_store
from kiosk.app_headers import pdf_response
from kiosk.badges.content import badge_content, site_preset
from kiosk.badges.fonts import app_fonts
from kiosk.badges.jobs import last_print_outcome, print_badge
from kiosk.badges.render import render_badges
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.forms import ButtonForm, collapse_spaces
from kiosk.models import NoticeVersion, Site, Visit, VisitorType
from kiosk.notifications.outbox import NotifySettings, host_is_being_told
from kiosk.notifications.sender import wake_sender
from kiosk.registration.blueprint import bp
from kiosk.registration.forms import CheckInForm, check_in_form
from kiosk.registration.signing import SIGNED, signatures_of
from kiosk.registration.visitor import (
    BADGE_GRANTED_KEY,
    BADGE_SESSION_KEY,
    closing_screen,
    current_site,
    forget_refused_choice,
    forget_visitor,
    pending_details,
    pending_invitation,
)
from kiosk.services.groups import companion_limit, groups_allowed
from kiosk.services.visitor_types import active_types, type_of_site
from kiosk.services.visits import VisitError, VisitorDetails, first_name

#: The server-side item (kiosk.session_store) holding the companions' details.
GROUP = "pending_group"
#: Session keys (ids only): the group just registered, for its done screen (once) and for
#: its badges (for the badge window, like BADGE_SESSION_KEY).
JUST_REGISTERED_GROUP = "just_registered_group"
BADGE_GROUP_KEY = "badge_group_visit_ids"
#: What a companion enters; the host, the purpose and the type are the first visitor's.
COMPANION_FIELDS = ("name", "company", "email", "phone")


#: Cookie key: how many companions this browser has added (a count, no personal data), so a
#: visitor on their own, most check-ins, costs no look for companions on the saving POST.
GROUP_SIZE = "group_size"


def companions() -> list[dict[str, Any]]:
    """The companions added so far (their details as typed, in order)."""
    if not session.get(GROUP_SIZE):
        return []
    kept = session_store.load(GROUP) or {}
    listed = kept.get("companions")
    return [item for item in listed if isinstance(item, dict)] if isinstance(listed, list) else []


def keep_companions(items: list[dict[str, Any]]) -> None:
    """Keep the companions' details (and what each has signed) on the server, and commit."""
    session_store.store(GROUP, {"companions": items})
    session[GROUP_SIZE] = len(items)
    get_session().commit()


def _modes(site: Site, pending: dict[str, Any]) -> Site | VisitorType:
    """The field modes the first visitor was asked by: their type's, else the site's."""
    chosen = type_of_site(site, pending.get("visitor_type_id"))
    if chosen is None:
        types = active_types(site)
        chosen = types[0] if len(types) == 1 else None
    return chosen if chosen is not None else site


def companion_form(modes: Site | VisitorType, **kwargs: Any) -> CheckInForm:
    """The first visitor's form (:func:`check_in_form`: same fields, validators and messages)
    without what the group shares: the host and the purpose."""
    form = check_in_form(modes, **kwargs)
    for name in ("host_query", "host_id", "ask_reception", "purpose"):
        if hasattr(form, name):
            delattr(form, name)
    # The first visitor may be typing it for someone else: "Name", not "Your name".
    form.name.label.text = _("Name")
    return form


def companion_steps(form: CheckInForm) -> dict[str, Any] | None:
    """One companion's per-visitor steps: their details if the form is valid, else None (the
    form then carries its messages and what was typed).

    Every companion goes through here, one after the other, on the same kiosk: a step every
    visitor of the group must take (documents to sign, say) belongs here or right after it.
    """
    if not form.validate_on_submit():
        return None
    return {
        name: (collapse_spaces(field.data) if isinstance(field.data, str) else field.data)
        for name in COMPANION_FIELDS
        if (field := getattr(form, name, None)) is not None
    }


def _group_ready(site: Site) -> dict[str, Any] | None:
    """The first visitor's details when they may have a group here, else None."""
    pending = pending_details()
    if not pending.get("name") or not groups_allowed(site):
        return None
    return pending


@bp.route("/check-in/group", methods=["GET"])
def group() -> str | Response:
    """Everyone in the group so far, with "Add another person" and Remove."""
    site = current_site()
    pending = _group_ready(site)
    if pending is None:
        return redirect(url_for(".check_in"))
    added = companions()
    limit = companion_limit(site)
    return render_template(
        "registration/group.html",
        site=site,
        lead=pending,
        companions=added,
        limit=limit,
        can_add=len(added) < limit,
        # More than the site now allows (its setting was lowered while they were entered):
        # the group must shrink before it can go on.
        too_many=len(added) - limit if len(added) > limit else 0,
        form=ButtonForm(),
    )


@bp.route("/check-in/group/add", methods=["GET", "POST"])
def add_companion() -> str | Response:
    """One more person: the same fields and messages as the first visitor's form."""
    site = current_site()
    pending = _group_ready(site)
    if pending is None:
        return redirect(url_for(".check_in"))
    added = companions()
    if len(added) >= companion_limit(site):
        return redirect(url_for(".group"))
    modes = _modes(site, pending)
    form = companion_form(modes)
    details = companion_steps(form)
    if details is not None:
        keep_companions([*added, details])
        return redirect(url_for(".group"))
    return render_template(
        "registration/companion.html",
        site=site,
        form=form,
        number=len(added) + 2,
        lead_name=pending.get("name") or "",
        locale=str(get_locale()),
    )


@bp.route("/check-in/group/remove/<int:index>", methods=["POST"])
def remove_companion(index: int) -> Response:
    """Take one companion off the list (their details go)."""
    form = ButtonForm()
    added = companions()
    if form.validate_on_submit() and 0 <= index < len(added):
        del added[index]
        keep_companions(added)
    return redirect(url_for(".group"))


def group_members(pending: dict[str, Any], site: Site) -> list[dict[str, Any]]:
    """Everyone in the group, the first visitor first, as the details each typed: the one
    list every per-visitor step after the notice walks (one visitor after the other on the
    same kiosk), and the check-in registers."""
    first = {name: pending.get(name) for name in (*COMPANION_FIELDS, SIGNED)}
    return [first, *companions()[: companion_limit(site)]]


def member_details(pending: dict[str, Any], member: dict[str, Any]) -> VisitorDetails:
    """A member's visit details: their own fields, and the group's host, purpose and type
    (the first visitor's)."""
    return VisitorDetails(
        name=str(member.get("name") or ""),
        company=member.get("company"),
        email=member.get("email"),
        phone=member.get("phone"),
        host_id=pending.get("host_id"),
        purpose=pending.get("purpose"),
        visitor_type_id=pending.get("visitor_type_id"),
    )


def register_group(site: Site, pending: dict[str, Any], shown: NoticeVersion) -> Response | None:
    """After the notice: register the first visitor and their companions in one transaction,
    or return None when there are no companions (the single check-in goes on)."""
    added = companions()
    if not added:
        return None
    # The reception changed the site's group setting while this group was being entered:
    # nobody is dropped without being told.
    if not groups_allowed(site):
        keep_companions([])
        return redirect(url_for(".check_in", problem="group_off"))
    if len(added) > companion_limit(site):
        return redirect(url_for(".group", too_many=1))
    db_session = get_session()
    invitation = pending_invitation(pending)
    everyone = group_members(pending, site)
    members = [member_details(pending, item) for item in everyone]
    try:
        done = checkin.check_in_group(
            db_session,
            site,
            members,
            locale=str(get_locale()),
            notice=shown,
            invitation=invitation,
            device=g.get("kiosk_device"),
            notify=NotifySettings.from_config(current_app.config),
            now=now(),
            in_same_transaction=session_store.consume_all,
            # What each of them signed, one after the other (kiosk.registration.signing).
            signatures=[signatures_of(site, pending, item) for item in everyone],
        )
    except VisitError as exc:
        # As for one visitor (routes._register): back to the form with the reason, everything
        # typed kept (the companions too).
        forget_refused_choice(pending, exc.code)
        return redirect(url_for(".check_in", problem=exc.code))
    except session_store.AlreadyConsumed:
        # As for one visitor (routes._saved_by_the_other_tap): the other tap saved the group.
        db_session.rollback()
        return redirect(url_for(".group_done"))
    if done.messages_queued:
        wake_sender()
    forget_visitor()
    ids = [visit.id for visit in done.visits]
    session[JUST_REGISTERED_GROUP] = ids
    session[BADGE_GROUP_KEY] = ids
    session[BADGE_SESSION_KEY] = ids[0]
    session[BADGE_GRANTED_KEY] = math.floor(now().timestamp())
    for visit in done.print_after_commit:
        print_badge(db_session, visit, now=now())
    return redirect(url_for(".group_done"))


def _group_visits(key: str, *, pop: bool) -> list[Visit]:
    ids = session.pop(key, None) if pop else session.get(key)
    if not isinstance(ids, list) or not all(type(item) is int for item in ids):
        return []
    db_session = get_session()
    site = current_site()
    visits = [db_session.get(Visit, visit_id) for visit_id in ids]
    return [visit for visit in visits if visit is not None and visit.site_id == site.id]


@bp.route("/check-in/group/done")
def group_done() -> str | Response:
    """The group's confirmation, shown once: each person's name and badge code; every badge
    prints (one PDF with a page each) or is collected at reception."""
    visits = _group_visits(JUST_REGISTERED_GROUP, pop=True)
    if not visits:
        return redirect(url_for(".welcome"))
    first = visits[0]
    page = render_template(
        "registration/group_done.html",
        site=current_site(),
        visit=first,
        visits=visits,
        first_name=first_name(first),
        idle_seconds=int(current_app.config["CONFIRMATION_SECONDS"]) * 2,
        print_outcome=last_print_outcome(get_session(), first),
        host_told=first.host is not None and host_is_being_told(get_session(), first),
        badge_src=url_for(".group_badges_pdf"),
        several_badges=True,
    )
    return closing_screen(page)


@bp.route("/check-in/group/badges.pdf")
def group_badges_pdf() -> Response:
    """Every badge of the group just registered at this browser, a page each, for it to print
    (the same window as the single badge, kiosk.registration.badge)."""
    visits = _group_visits(BADGE_GROUP_KEY, pop=False)
    window = int(current_app.config["BADGE_FETCH_SECONDS"])
    granted = session.get(BADGE_GRANTED_KEY)
    since = datetime.fromtimestamp(granted, UTC) if type(granted) is int else None
    if not visits or since is None or (now() - since).total_seconds() > window:
        abort(404)
    kept = [visit for visit in visits if visit.checked_out_at is None]
    if not kept:
        abort(404)
    site = kept[0].site
    pdf = render_badges([badge_content(visit) for visit in kept], site_preset(site), app_fonts())
    return pdf_response(pdf, "badges.pdf", frameable=True)


def with_others_requested(site: Site) -> bool:
    """Whether the first visitor tapped "I am with others" (and groups are allowed here)."""
    return bool(request.form.get("with_others")) and groups_allowed(site)
