"""Kiosk routes: welcome, check-in (details, privacy notice, confirmation), language, reset.

Every kiosk page needs a paired device (blueprint.py); what is kept about the current
visitor, and how it is forgotten, is in visitor.py.
"""

from __future__ import annotations

import math
from typing import Any

from flask import (
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from kiosk import checkin, session_store
from kiosk.badges.jobs import last_print_outcome, print_badge
from kiosk.clock import now
from kiosk.db import get_session
from kiosk.forms import NoticeForm, collapse_spaces
from kiosk.models import Host, Invitation, NoticeVersion, Site, Visit, VisitorType
from kiosk.notifications.outbox import (
    NotifySettings,
    host_is_being_told,
)
from kiosk.notifications.sender import wake_sender
from kiosk.registration import group
from kiosk.registration.blueprint import bp
from kiosk.registration.display import forget_display_modes
from kiosk.registration.forms import (
    AlreadyCheckedInForm,
    CheckInForm,
    LanguageForm,
    VisitorTypeForm,
    check_in_form,
)
from kiosk.registration.signing import next_turn, progress_after_form, signatures_of
from kiosk.registration.visitor import (
    BADGE_GRANTED_KEY,
    BADGE_SESSION_KEY,
    JUST_REGISTERED,
    LOCALE,
    NOTICE_SHOWN,
    closing_screen,
    current_site,
    entered_details,
    forget_refused_choice,
    forget_visitor,
    keep_pending,
    pending_details,
    pending_invitation,
)
from kiosk.services.documents import required_documents
from kiosk.services.first_layer import first_layer_text
from kiosk.services.groups import groups_allowed
from kiosk.services.notices import current_notice, record_generated_notice, render_notice
from kiosk.services.qr import notice_qr_svg
from kiosk.services.sites import HOST_SEARCH_LIMIT, search_hosts
from kiosk.services.visitor_types import active_types, type_of_site
from kiosk.services.visits import (
    VisitError,
    VisitorDetails,
    first_name,
    on_site_visit_of,
)


@bp.route("/")
def welcome() -> str:
    """The start screen: check in, check out, invitation, language.

    Back here, a visitor who had started is gone: nothing they entered stays for the next
    person who taps "Check in", and the previous one's badge is no longer fetchable."""
    forget_visitor()
    return render_template("registration/welcome.html", site=current_site())


@bp.route("/reset")
def reset() -> Response:
    """Forget everything about the current visitor, their language too, and start again."""
    forget_visitor()
    session.clear()
    return forget_display_modes(redirect(url_for(".welcome")))


@bp.route("/language", methods=["POST"])
def choose_language() -> Response:
    """Switch the kiosk's language for the current visitor and stay on the same screen."""
    form = LanguageForm()
    if form.validate_on_submit() and form.locale.data in current_app.config["LANGUAGES"]:
        session[LOCALE] = form.locale.data
    target = form.next.data if form.next.data in _LANGUAGE_RETURN else ".welcome"
    return redirect(url_for(target))


# Screens the language picker may return to (endpoint names, never a URL from the form).
_LANGUAGE_RETURN = {
    ".welcome",
    ".check_in",
    ".notice",
    ".already_checked_in",
    ".declined",
    ".check_out",
    ".invitation",
    ".choose_type",
    ".sign_document",  # documents to sign (kiosk.registration.documents)
    ".group",
    ".add_companion",
}


@bp.route("/check-in/type", methods=["GET", "POST"])
def choose_type() -> str | Response:
    """A site with several visitor types asks which one first, as one big button each; the
    details screen then asks what that type is asked (kiosk.services.visitor_types)."""
    site = current_site()
    types = active_types(site)
    invitation = pending_invitation(pending_details())
    if len(types) < 2 or _type_from_invitation(site, invitation) is not None:
        # Nothing to choose, or reception chose it with the invitation (a contractor is
        # not to become a guest, with no briefing to sign, at the kiosk).
        return redirect(url_for(".check_in"))
    form = VisitorTypeForm()
    if form.validate_on_submit():
        chosen = type_of_site(site, form.visitor_type.data)
        if chosen is not None:
            pending = pending_details()
            pending["visitor_type_id"] = chosen.id
            keep_pending(pending)
            session.pop(NOTICE_SHOWN, None)
            return redirect(url_for(".check_in"))
        form.form_errors.append(_("Please choose one of the buttons."))
    return render_template(
        "registration/visitor_type.html",
        site=site,
        form=form,
        types=types,
        current=pending_details().get("visitor_type_id"),
        locale=str(get_locale()),
    )


def _type_from_invitation(site: Site, invitation: Invitation | None) -> VisitorType | None:
    """The active type of the site that the visitor's invitation names, if any."""
    return type_of_site(site, invitation.visitor_type_id) if invitation is not None else None


def _visitor_type(site: Site, pending: dict[str, Any]) -> tuple[VisitorType | None, bool]:
    """The visitor's type: (type, whether it must still be asked)."""
    types = active_types(site)
    chosen = type_of_site(site, pending.get("visitor_type_id"))
    if chosen is None and len(types) == 1:
        chosen = types[0]
    return chosen, chosen is None and len(types) > 1


@bp.route("/check-in", methods=["GET", "POST"])
def check_in() -> str | Response:
    """The visitor's details; valid details go on to the privacy notice."""
    site = current_site()
    db_session = get_session()
    pending = pending_details()
    visitor_type, ask_type = _visitor_type(site, pending)
    if ask_type:
        return redirect(url_for(".choose_type"))
    modes: Site | VisitorType = visitor_type if visitor_type is not None else site
    form = check_in_form(modes, data={**pending, **pending.get(TYPED, {})})
    host_matches: list[Host] = []
    if request.method == "POST" and request.form.get("leave") in _LEAVE_TO:
        return _keep_typed_and_leave(form, pending)
    if form.validate_on_submit():
        host, host_matches, host_error = _resolve_host(form, site, modes)
        if host_error:
            form.host_query.errors.append(host_error)
        else:
            details = {
                "name": form.name.data,
                "company": _value(form, "company"),
                "purpose": _value(form, "purpose"),
                "email": _value(form, "email"),
                "phone": _value(form, "phone"),
                "host_id": host.id if host else None,
                "host_query": host.name if host else "",
                "ask_reception": host is None and _value(form, "ask_reception") is True,
                "invitation_id": pending.get("invitation_id"),
                "visitor_type_id": visitor_type.id if visitor_type is not None else None,
            }
            keep_pending(details)
            # The notice is shown (again) for these details before they can be saved.
            session.pop(NOTICE_SHOWN, None)
            already = on_site_visit_of(db_session, site, details["name"] or "", details["host_id"])
            if already is not None:
                session[ALREADY] = already.id
                return redirect(url_for(".already_checked_in"))
            if group.with_others_requested(site):  # "I am with others" (group.py)
                return redirect(url_for(".group"))
            return redirect(url_for(".notice"))
    if not form.is_submitted():
        # A new visitor at the form: the previous one's badge is no longer fetchable here.
        session.pop(BADGE_SESSION_KEY, None)
    problem = request.args.get("problem")
    if request.method == "GET" and problem in _PROBLEMS:
        form.form_errors.append(_PROBLEMS[problem]())
    invitation = pending_invitation(pending)
    return render_template(
        "registration/check_in.html",
        site=site,
        form=form,
        host_matches=host_matches,
        invitation=invitation,
        modes=modes,
        visitor_type=visitor_type,
        several_types=len(active_types(site)) > 1,
        # Unless reception chose it with the invitation.
        type_changeable=_type_from_invitation(site, invitation) is None,
        locale=str(get_locale()),
        groups_allowed=groups_allowed(site),
        # The guided form counts the screens after its steps: the notice, each document.
        steps_after=1 + len(required_documents(visitor_type)),
    )


#: Pending details' key for what the visitor typed on the form before leaving it for another
#: screen: it fills the form again, and is no detail entered until the form is sent
#: (entered_details and the notice never read it).
TYPED = "typed"
#: Where the form may be left for with what was typed kept: the kind of visit ("Change", and
#: Back on the first step), or the same form in another language.
_LEAVE_TO = {"type", "language"}
_TYPED_FIELDS = ("name", "company", "host_query", "purpose", "email", "phone")
#: The language asked for with "leave": the language picker's own field name.
_LANGUAGE_FIELD = "locale"


def _keep_typed_and_leave(form: CheckInForm, pending: dict[str, Any]) -> Response:
    """Keep what the visitor typed (each field its own checks allow: a required field may be
    empty yet) and go to the kind of visit, or back here in another language. Changing either
    lost everything typed (an outside review)."""
    form.validate()
    token = getattr(form, "csrf_token", None)  # absent only where CSRF is off (tests)
    if token is not None and token.errors:
        return redirect(url_for(".check_in"))
    fields = [getattr(form, name, None) for name in _TYPED_FIELDS]  # None: not asked
    typed = {
        field.name: field.data
        for field in fields
        if field is not None
        and isinstance(field.data, str)
        and (not field.errors or not field.data)
    }
    keep_pending({**pending, TYPED: typed})
    if request.form.get("leave") == "type":
        return redirect(url_for(".choose_type"))
    locale = request.form.get(_LANGUAGE_FIELD)
    if locale in current_app.config["LANGUAGES"]:
        session[LOCALE] = locale
    return redirect(url_for(".check_in"))


# Why a check-in could not be saved after the notice (the visitor's details are kept).
_PROBLEMS = {
    "unknown_host": lambda: _(
        "The person you chose can no longer be selected. Please choose again or ask reception."
    ),
    "invitation_used": lambda: _("Your invitation has already been used. Please check in here."),
    "name_required": lambda: _("Please enter your name."),
    "unknown_type": lambda: _("That kind of visit can no longer be chosen. Please choose again."),
    "group_off": lambda: _(
        "Groups can no longer check in together here, so the people with you were not"
        " registered. Continue to check in yourself, and please ask reception to register them."
    ),
}


def _value(form: CheckInForm, name: str) -> Any:
    field = getattr(form, name, None)
    if field is None:
        return None
    if isinstance(field.data, str):
        return collapse_spaces(field.data)
    return field.data


def _resolve_host(
    form: CheckInForm, site: Site, modes: Site | VisitorType
) -> tuple[Host | None, list[Host], str | None]:
    """The host the visitor picked: (host, choices to offer, error message)."""
    if form.host_query is None:  # the site does not ask
        return None, [], None
    if form.ask_reception.data:
        return None, [], None
    if form.host_id.data:
        host = get_session().get(Host, form.host_id.data)
        if host is not None and host.site_id == site.id and host.active:
            return host, [], None
    query = form.host_query.data or ""
    if query:
        matches = search_hosts(get_session(), site, query)
        if len(matches) == 1:
            return matches[0], [], None
        if not matches:
            return (
                None,
                [],
                _("Nobody here matches that name. Check the spelling, or choose “ask reception”."),
            )
        if len(matches) > HOST_SEARCH_LIMIT:
            return None, [], _("Many people match. Please type more of the name.")
        return None, matches, _("Several people match. Please choose one.")
    if modes.field_mode("host") == "required":
        return None, [], _("Please tell us whom you are visiting, or choose “ask reception”.")
    return None, [], None


@bp.route("/hosts")
def hosts() -> Response | dict[str, Any]:
    """Search-as-you-type over the site's active hosts: names only after two characters."""
    visitor_type, _ask = _visitor_type(current_site(), pending_details())
    modes: Site | VisitorType = visitor_type if visitor_type is not None else current_site()
    if modes.field_mode("host") == "hidden":
        return {"hosts": []}
    matches = search_hosts(get_session(), current_site(), request.args.get("q", "")[:200])
    shown = matches[:HOST_SEARCH_LIMIT]
    return {
        "hosts": [{"id": host.id, "name": host.name} for host in shown],
        "more": len(matches) > HOST_SEARCH_LIMIT,
    }


#: The session key naming the on-site visit the current visitor's details match.
ALREADY = "already_checked_in"


@bp.route("/already", methods=["GET", "POST"])
def already_checked_in() -> str | Response:
    """Someone with the same name and host is still on site: the visitor is most likely
    checking in a second time, and is sent to reception rather than given a second visit,
    badge and host message; a different person of the same name checks in as usual.

    The kiosk does not print the badge again itself: the name and host are all it would have
    to go on, and a stranger who knows both would be handed the visitor's badge (their
    company, and the code that checks them out). Reception prints it again from the
    dashboard, with the person in front of them."""
    site = current_site()
    db_session = get_session()
    visit_id = session.get(ALREADY)
    visit = db_session.get(Visit, visit_id) if type(visit_id) is int else None
    pending = pending_details()
    if visit is None or visit.site_id != site.id or visit.checked_out_at is not None:
        return redirect(url_for(".check_in" if pending else ".welcome"))
    form = AlreadyCheckedInForm()
    if form.validate_on_submit() and form.someone_else.data:
        session.pop(ALREADY, None)
        return redirect(url_for(".notice"))
    return render_template("registration/already.html", site=site, form=form)


def _let_kiosk_print(visit: Visit) -> None:
    """Show this visit's confirmation once and let the kiosk's browser fetch its badge."""
    session[JUST_REGISTERED] = visit.id
    # The kiosk's browser may now fetch this visit's badge (the browser print backend).
    session[BADGE_SESSION_KEY] = visit.id
    session[BADGE_GRANTED_KEY] = math.floor(now().timestamp())


@bp.route("/notice", methods=["GET", "POST"])
def notice() -> str | Response:
    """The privacy notice: a short first layer, the full text, and a QR code to take it along.

    A check-in is saved only after this screen was shown: the visit records the notice
    version the visitor saw (the site's full notice, or its generated first layer)."""
    pending = entered_details()
    if not pending:
        return redirect(url_for(".check_in"))
    site = current_site()
    db_session = get_session()
    form = NoticeForm()
    if form.validate_on_submit():
        if form.decline.data:
            forget_visitor()
            return redirect(url_for(".declined"))
        shown = _notice_shown(site)
        if shown is None:
            # Never displayed (a POST straight to /notice): show it first.
            return redirect(url_for(".notice"))
        # Documents the visitor's type signs come next (kiosk.registration.documents).
        if next_turn(site, pending, group.group_members(pending, site)) is not None:
            return redirect(url_for(".sign_document"))
        return _register(site, pending, shown)
    locale = str(get_locale())
    visitor_type, _ask = _visitor_type(site, pending)
    full = current_notice(db_session, site, locale)
    shown = full if full is not None else _record_first_layer(site, locale, visitor_type)
    session[NOTICE_SHOWN] = shown.id
    public_url = _public_notice_url(site, locale)
    members = group.group_members(pending, site)
    progress, _accepted = progress_after_form(site, pending, lambda: members)
    return render_template(
        "registration/notice.html",
        site=site,
        form=form,
        notice=full,
        notice_text=render_notice(full, site) if full else None,
        public_url=public_url,
        public_qr=notice_qr_svg(public_url),
        visitor_type=visitor_type,
        group_size=len(members),
        progress=progress,
    )


def _record_first_layer(site: Site, locale: str, visitor_type: VisitorType | None) -> NoticeVersion:
    """A site with no notice of its own: the first layer the visitor reads is recorded as a
    generated notice version (the same version while its text stays the same)."""
    db_session = get_session()
    for _attempt in range(3):
        try:
            shown = record_generated_notice(
                db_session, site, locale, first_layer_text(site, visitor_type), now=now()
            )
            db_session.commit()
            return shown
        except IntegrityError:
            # Another kiosk recorded the same new version at the same moment: use theirs.
            db_session.rollback()
    raise RuntimeError("the first layer could not be recorded")


def _notice_shown(site: Site) -> NoticeVersion | None:
    """The published notice version this visitor was shown at this site, if any."""
    notice_id = session.get(NOTICE_SHOWN)
    shown = get_session().get(NoticeVersion, notice_id) if type(notice_id) is int else None
    if shown is None or shown.site_id != site.id or shown.published_at is None:
        return None
    return shown


def _public_notice_url(site: Site, locale: str) -> str:
    base = current_app.config["PUBLIC_URL"] or request.host_url
    return base.rstrip("/") + url_for("privacy.notice", site_id=site.id, locale=locale)


def _register(site: Site, pending: dict[str, Any], shown: NoticeVersion) -> str | Response:
    # A visitor with companions: the whole group in one transaction (group.py).
    registered_group = group.register_group(site, pending, shown)
    if registered_group is not None:
        return registered_group
    db_session = get_session()
    invitation = pending_invitation(pending)
    details = VisitorDetails(
        name=pending["name"],
        company=pending.get("company"),
        host_id=pending.get("host_id"),
        email=pending.get("email"),
        phone=pending.get("phone"),
        purpose=pending.get("purpose"),
        visitor_type_id=pending.get("visitor_type_id"),
    )
    try:
        done = checkin.check_in(
            db_session,
            site,
            details,
            locale=str(get_locale()),
            notice=shown,
            invitation=invitation,
            device=g.get("kiosk_device"),
            notify=NotifySettings.from_config(current_app.config),
            now=now(),
            # The details entered go with the same commit: the visit holds them now.
            in_same_transaction=session_store.consume_all,
            # What the visitor signed (kiosk.registration.signing): stored with the visit.
            signatures=signatures_of(site, pending),
        )
    except VisitError as exc:
        forget_refused_choice(pending, exc.code)
        return redirect(url_for(".check_in", problem=exc.code))
    except session_store.AlreadyConsumed:
        return _saved_by_the_other_tap(db_session)
    if done.messages_queued:
        wake_sender()
    forget_visitor()  # the confirmation still speaks the visitor's language
    _let_kiosk_print(done.visit)
    if done.print_after_commit:
        # The visit is saved whatever the printer does: print_badge records trouble.
        print_badge(db_session, done.visit, now=now())
    return redirect(url_for(".done"))


def _saved_by_the_other_tap(db_session: Any) -> Response:
    """The same check-in sent twice at once (a double tap): the other request saved it, so
    this one keeps nothing (one visit, one badge, one message to the host) and goes where the
    other went; the confirmation shows if the browser keeps the other answer's cookie."""
    db_session.rollback()
    return redirect(url_for(".done"))


@bp.route("/done")
def done() -> str | Response:
    """The confirmation, shown once: reloading it or going back shows nothing."""
    visit_id = session.pop(JUST_REGISTERED, None)
    visit = get_session().get(Visit, visit_id) if isinstance(visit_id, int) else None
    if visit is None or visit.site_id != current_site().id:
        return redirect(url_for(".welcome"))
    page = render_template(
        "registration/done.html",
        site=current_site(),
        visit=visit,
        first_name=first_name(visit),
        # The confirmation goes back to the start sooner than a half-filled form; a touch
        # restarts the wait (WCAG 2.2.1: the visitor can extend it).
        idle_seconds=int(current_app.config["CONFIRMATION_SECONDS"]),
        print_outcome=last_print_outcome(get_session(), visit),
        host_told=visit.host is not None and host_is_being_told(get_session(), visit),
    )
    return closing_screen(page)


@bp.route("/declined")
def declined() -> str:
    """For a visitor who does not want to register: nothing was stored; ask reception."""
    return closing_screen(
        render_template(
            "registration/declined.html",
            site=current_site(),
            idle_seconds=int(current_app.config["CONFIRMATION_SECONDS"]),
        )
    )
