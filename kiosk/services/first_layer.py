"""The privacy notice's first layer: every GDPR Art. 13 element in one short line, computed
from the site's settings in the reader's language (GDPR.md in the project notes).

The kiosk's notice screen, the public notice page and, for a site without a notice of its own,
the notice version a visit records (:func:`first_layer_text`) all come from :func:`first_layer`,
so what a visitor read is what was recorded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from babel.lists import format_list
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import object_session

from kiosk.models import KIOSK_FIELDS, Document, Site, VisitorType, WebhookSubscription
from kiosk.services.documents import current_version, required_documents
from kiosk.services.visitor_types import active_types, type_name

#: The elements in the order they are shown; each GDPR.md row 1-12 is in one of them, and the
#: right to object has its own (Art. 21(4)).
ELEMENT_KEYS = (
    "controller",  # 1, 2
    "purposes",  # 3
    "legal_basis",  # 4, 5
    "recipients",  # 6
    "transfers",  # 7
    "storage",  # 8
    "rights",  # 9
    "objection",  # Art. 21(4)
    "complaints",  # 10
    "requirement",  # 11
    "automated_decisions",  # 12
)

#: Webhook hosts whose service is known by name (the rest are named by their host).
_WEBHOOK_SERVICES = (
    ("hooks.slack.com", "Slack"),
    ("webhook.office.com", "Microsoft Teams"),
    ("outlook.office.com", "Microsoft Teams"),
    ("logic.azure.com", "Microsoft Teams"),
    ("discord.com", "Discord"),
    ("discordapp.com", "Discord"),
    ("chat.googleapis.com", "Google Chat"),
)


@dataclass(frozen=True)
class Element:
    """One element of the first layer: a heading and its lines."""

    key: str
    heading: str
    lines: tuple[str, ...]


def webhook_service(url: str | None) -> str | None:
    """The name of the service a webhook URL delivers to ("Slack"), else its host; None
    without a webhook. The host is not secret (the URL's path is, and is never shown)."""
    if not url:
        return None
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    for suffix, service in _WEBHOOK_SERVICES:
        if host == suffix or host.endswith("." + suffix):
            return service
    return host or None


def personal_webhook_services(site: Site) -> list[str]:
    """The services that receive visitors' names: the site's arrival webhook, and its active
    webhook subscriptions that include personal data (kiosk.notifications.events)."""
    urls = [site.webhook_url] if site.webhook_url else []
    session = object_session(site)
    if session is not None and site.id is not None:
        urls += session.scalars(
            select(WebhookSubscription.url)
            .where(
                WebhookSubscription.site_id == site.id,
                WebhookSubscription.active.is_(True),
                WebhookSubscription.personal.is_(True),
            )
            .order_by(WebhookSubscription.id)
        )
    services: list[str] = []
    for url in urls:
        service = webhook_service(url)
        if service and service not in services:
            services.append(service)
    return services


def _field_nouns() -> dict[str, str]:
    return {
        "company": _("your company"),
        "host": _("whom you are visiting"),
        "purpose": _("the purpose of your visit"),
        "email": _("your email address"),
        "phone": _("your phone number"),
    }


def _asked(modes: Site | VisitorType) -> str:
    """What the kiosk asks with these field modes, in one sentence."""
    locale = str(get_locale() or "en")
    nouns = _field_nouns()
    required = [_("your name")] + [
        nouns[field] for field in KIOSK_FIELDS if modes.field_mode(field) == "required"
    ]
    optional = [nouns[field] for field in KIOSK_FIELDS if modes.field_mode(field) == "optional"]
    text: str = _("We ask for %(items)s.", items=format_list(required, locale=locale))
    if optional:
        text += " " + _("If you wish, also %(items)s.", items=format_list(optional, locale=locale))
    return text


def _kept(days: int) -> str:
    text: str = ngettext(
        "Deleted automatically %(num)d day after you check out.",
        "Deleted automatically %(num)d days after you check out.",
        days,
    )
    return text


def _signed_periods(kinds: Sequence[Site | VisitorType], locale: str) -> list[str]:
    """How long each document these visitor types sign is kept: its own period, which can
    be longer than the visit's (an NDA) or shorter (a house-rules tick)."""
    documents: dict[int, Document] = {}
    for kind in kinds:
        if isinstance(kind, VisitorType):
            documents.update({item.id: item for item in required_documents(kind)})
    lines = []
    for document in documents.values():
        session = object_session(document)
        version = current_version(session, document, locale) if session is not None else None
        if version is None:
            continue  # not asked at the kiosk until a text is published
        lines.append(
            ngettext(
                "The document “%(title)s” you sign: deleted automatically %(num)d day after "
                "you sign it.",
                "The document “%(title)s” you sign: deleted automatically %(num)d days after "
                "you sign it.",
                document.retention_days,
                title=version.title,
            )
        )
    return lines


def asks_contact_details(site: Site) -> bool:
    """Whether the kiosk asks any of the site's visitors for an email address or phone."""
    kinds: list[Site | VisitorType] = [site, *active_types(site)]
    return any(kind.field_mode(field) != "hidden" for kind in kinds for field in ("email", "phone"))


def signed_periods(site: Site, locale: str) -> list[str]:
    """How long each document the site's visitors sign is kept (every active type's)."""
    return _signed_periods(active_types(site), locale)


def first_layer(site: Site, visitor_type: VisitorType | None = None) -> list[Element]:
    """The first layer in the current request's language, from the site's settings and, for
    a visitor who chose a type (kiosk.services.visitor_types), that type's: what is asked and
    how long it is kept. Without a type at a site with several, each type is named."""
    locale = str(get_locale() or "en")
    types = active_types(site)
    if visitor_type is None and len(types) == 1:
        visitor_type = types[0]
    several = visitor_type is None and len(types) > 1
    controller = [f"{site.controller_name}, {site.controller_contact}"]
    if site.dpo_contact:
        controller.append(_("Data protection officer: %(contact)s", contact=site.dpo_contact))
    service = ", ".join(personal_webhook_services(site))
    recipients = [_("Reception, the person you visit and, when needed, security staff.")]
    if service:
        recipients.append(
            _(
                "Each arrival is also posted to %(service)s with your name, your company if "
                "you give one, and whom you visit: a service run by another company for us.",
                service=service,
            )
        )
        transfers = _(
            "%(service)s may handle the arrival message outside the EU/EEA. Ask reception "
            "about the safeguards; the rest of your details stay with us in the EU/EEA.",
            service=service,
        )
    else:
        transfers = _("None: your details are not sent outside the EU/EEA.")
    modes: Site | VisitorType = visitor_type if visitor_type is not None else site
    kept_days = visitor_type.kept_days if visitor_type is not None else site.retention_days
    storage = [_kept(kept_days)]
    storage.extend(_signed_periods(types if several else [modes], locale))
    if several:
        storage.extend(
            _("%(type)s: %(kept)s", type=type_name(other, locale), kept=_kept(other.kept_days))
            for other in types
            if other.kept_days != site.retention_days
        )
        asked = [
            _("%(type)s: %(asked)s", type=type_name(other, locale), asked=_asked(other))
            for other in types
        ]
    else:
        asked = [_asked(modes)]
    asks_contact = any(
        item.field_mode(field) != "hidden"
        for item in (types if several else [modes])
        for field in ("email", "phone")
    )
    if site.contact_days < kept_days and asks_contact:
        storage.append(
            ngettext(
                "Your email address and phone number: %(num)d day after you check out.",
                "Your email address and phone number: %(num)d days after you check out.",
                site.contact_days,
            )
        )
    complaints = site.authority_name
    if site.authority_contact:
        complaints += f", {site.authority_contact}"
    texts = {
        "controller": (_("Who is responsible"), controller),
        "purposes": (
            _("Why"),
            [
                _(
                    "To know who is in the building: for the safety of everyone here, to "
                    "protect the premises and information, and to account for everyone in an "
                    "emergency."
                ),
                *asked,
            ],
        ),
        "legal_basis": (
            _("Legal basis"),
            [_("Our legitimate interest in security and access control (GDPR Article 6(1)(f)).")],
        ),
        "recipients": (_("Who sees it"), recipients),
        "transfers": (_("Transfers outside the EU/EEA"), [transfers]),
        "storage": (_("How long"), storage),
        "rights": (
            _("Your rights"),
            [_("You can ask to see, correct or delete your details, or to limit their use.")],
        ),
        "objection": (
            _("Right to object"),
            [
                _(
                    "You can object to this processing at any time, for reasons relating to "
                    "your situation. Tell reception."
                )
            ],
        ),
        "complaints": (_("Complaints"), [complaints]),
        "requirement": (
            _("Do you have to register?"),
            [
                _(
                    "Only to move around the building on your own. If you do not register, "
                    "reception will arrange your visit, for example with someone accompanying "
                    "you."
                )
            ],
        ),
        "automated_decisions": (
            _("Automated decisions"),
            [_("None: no decision about you is made automatically.")],
        ),
    }
    return [Element(key, texts[key][0], tuple(texts[key][1])) for key in ELEMENT_KEYS]


def first_layer_text(site: Site, visitor_type: VisitorType | None = None) -> str:
    """The first layer as plain text (headings and lines), as a notice version records it."""
    return (
        "\n\n".join(
            element.heading + "\n" + "\n".join(element.lines)
            for element in first_layer(site, visitor_type)
        )
        + "\n"
    )


def notice_gaps(site: Site, notice_text: str) -> list[str]:
    """What a site's published notice (its full text, written by an admin) does not say of
    what the site's settings do now, in the reader's language; the first layer says it all.

    A notice is frozen when published, and settings change after: a webhook that posts each
    arrival to another company's service, contact details kept for a shorter period. Looked
    for by the service's name and by the number of days, in any language."""
    gaps = [
        _("It does not name %(service)s, which receives each arrival.", service=service)
        for service in personal_webhook_services(site)
        if service.casefold() not in notice_text.casefold()
    ]
    if (
        asks_contact_details(site)
        and site.contact_days < site.retention_days
        and not re.search(rf"(?<!\d){site.contact_days}(?!\d)", notice_text)
    ):
        gaps.append(
            ngettext(
                "It does not say that email addresses and phone numbers go %(num)d day after "
                "the visit.",
                "It does not say that email addresses and phone numbers go %(num)d days after "
                "the visit.",
                site.contact_days,
            )
        )
    return gaps
