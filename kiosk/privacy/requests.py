"""Data-subject requests: find one person's records, export them (access, GDPR Art. 15 and
20), correct a visit (rectification, Art. 16) and erase them now (erasure or an upheld
objection, Art. 17 and 21) with the same mechanics as the retention purge.

Only the records still kept can be found: everything older is erased already.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask_babel import force_locale
from sqlalchemy import ColumnElement, delete, intersect, null, select
from sqlalchemy.orm import Session, joinedload, object_session

from kiosk.blind_index import search_keys, token_in, tokens_under
from kiosk.db import begin_write, id_in, mark_overwritten
from kiosk.enums import NotificationKind
from kiosk.models import (
    HISTORY_SEARCH,
    Invitation,
    Notification,
    SessionItem,
    SignedDocument,
    Site,
    Visit,
    VisitNameToken,
)
from kiosk.notifications.messages import queued_arrival, write_again
from kiosk.privacy.erasure import (
    Erased,
    erase_invitations,
    erase_signed_documents,
    erase_visits,
    remember_erasure,
)
from kiosk.privacy.rules import contacts_erased_at, invitation_erased_at, visit_erased_at
from kiosk.privacy.shredding import replace_keys_of
from kiosk.sealing import store_for
from kiosk.services.documents import WITHOUT_PDF
from kiosk.services.notices import render_notice
from kiosk.services.visitor_types import type_name
from kiosk.text import fold, name_words

#: A search shows at most this many records: a person has a handful, not hundreds.
SEARCH_LIMIT = 200


@dataclass(frozen=True)
class PersonRecords:
    """One person's visits and invitations (unused ones) at the searched sites."""

    visits: list[Visit]
    invitations: list[Invitation]
    #: More matched than SEARCH_LIMIT; the search should be narrowed.
    truncated: bool = False
    #: Documents they signed that are still kept, also those whose visit is erased already
    #: (a signed copy is kept for its document's own period).
    documents: list[SignedDocument] = field(default_factory=list)


#: Rows read by one statement when a search reads listed ids (:func:`_matching_ids`).
ID_BATCH = 2000


@dataclass(frozen=True)
class _Wanted:
    """What a search for one person asks: every word of a name (folded), or an email."""

    words: list[str]
    #: casefolded; "" when not asked
    email: str

    def matches(self, name: str | None, email: str | None) -> bool:
        if self.email and email and email.casefold() == self.email:
            return True
        if not self.words:
            return False
        folded = fold(name or "")
        # Each word is in the folded name (cheap, and most names fail it) before the
        # name is split into its words to compare whole words.
        return all(word in folded for word in self.words) and set(self.words) <= set(
            name_words(name or "")
        )


def _matching_ids(
    session: Session,
    model: type[Visit] | type[Invitation],
    where: Sequence[ColumnElement[bool]],
    wanted: _Wanted,
    among: Sequence[int] | None = None,
) -> list[int]:
    """Ids of the rows of ``model`` meeting ``where`` (and with an id in ``among``, when
    given) whose decrypted name or email match.

    Read as columns and unsealed here a batch at a time (kiosk.sealing's ``unseal_many``),
    only the fields asked: an object per row with both fields took ~36 µs, most of a search that
    reads every invitation of the sites (1.8 s for 50,000). Listed ids are read by their
    primary key, ID_BATCH a statement."""
    store = store_for(session)
    name_fields = (model.visitor_name_sealed, model.legacy_visitor_name)
    email_fields = (model.email_sealed, model.legacy_email)
    no_field = (null(), null())
    query = select(
        model.id,
        model.row_key,
        *(name_fields if wanted.words else no_field),
        *(email_fields if wanted.email else no_field),
    ).where(*where)
    if among is None:
        batches = [query.order_by(model.id).execution_options(yield_per=ID_BATCH)]
    else:
        listed = sorted(among)
        batches = [
            query.where(id_in(session, model.id, listed[start : start + ID_BATCH]))
            for start in range(0, len(listed), ID_BATCH)
        ]
    found = []
    for batch in batches:
        result = session.execute(batch)
        while rows := result.fetchmany(ID_BATCH):
            names = model.visitor_name.unseal_many(store, ((r[2], r[1], r[3]) for r in rows))
            emails = model.email.unseal_many(store, ((r[4], r[1], r[5]) for r in rows))
            found += [
                row[0]
                for row, plain_name, plain_email in zip(rows, names, emails, strict=True)
                if wanted.matches(plain_name, plain_email)
            ]
    return sorted(found) if among is not None else found


def find_person(
    session: Session, site_ids: Sequence[int], *, name: str = "", email: str = ""
) -> PersonRecords:
    """Visits and unused invitations whose name has every word of ``name`` (in any order,
    ignoring case and accents), or whose email is ``email`` (ignoring case)."""
    wanted = _Wanted(name_words(name), email.strip().casefold())
    if not site_ids or not (wanted.words or wanted.email):
        return PersonRecords([], [])

    # Names and emails are sealed (kiosk.sealing): each is decrypted and compared here. A
    # search by name alone reads only the visits that have every word of it (through the
    # name index: the token of each word, which every name with a word starting so has);
    # a search by email reads every visit of the sites.
    visit_where = [Visit.site_id.in_(site_ids)]
    having_words: list[int] | None = None
    if wanted.words and not wanted.email:
        # The tokens are made under these sites' keys only (kiosk.blind_index).
        keys = search_keys(session, site_ids)
        having = [
            select(VisitNameToken.visit_id).where(
                token_in(session, VisitNameToken.token, tokens_under(keys, word))
            )
            for word in wanted.words
        ]
        # The visits having every word first, then those visits by their primary key: as
        # one statement, PostgreSQL expected ~100,000 visits from the tokens and read every
        # visit of the sites to join them (0.3-0.6 s at a million visits for 19 found).
        having_words = list(session.scalars(intersect(*having) if len(having) > 1 else having[0]))
    visit_ids = _matching_ids(session, Visit, visit_where, wanted, having_words)
    invitation_ids = _matching_ids(
        session,
        Invitation,
        [Invitation.site_id.in_(site_ids), Invitation.visit_id.is_(None)],
        wanted,
    )
    # The signers' details are sealed: compared in Python, without reading the PDFs.
    document_ids = [
        signed.id
        for signed in session.scalars(
            select(SignedDocument)
            .options(*WITHOUT_PDF)
            .where(SignedDocument.site_id.in_(site_ids))
            .order_by(SignedDocument.id)
        )
        if wanted.matches(signed.signer_name, signed.signer_email)
    ]
    truncated = len(visit_ids) + len(invitation_ids) > SEARCH_LIMIT
    visits = load_visits(session, visit_ids[-SEARCH_LIMIT:], site_ids)
    invitations = load_invitations(
        session, invitation_ids[: max(0, SEARCH_LIMIT - len(visits))], site_ids
    )
    documents = load_signed_documents(session, document_ids[-SEARCH_LIMIT:], site_ids)
    return PersonRecords(visits, invitations, truncated, documents)


def load_signed_documents(
    session: Session, document_ids: Iterable[int], site_ids: Sequence[int]
) -> list[SignedDocument]:
    """These signed documents, if they belong to these sites, newest first."""
    ids = list(document_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(SignedDocument)
            .options(joinedload(SignedDocument.site), joinedload(SignedDocument.document_version))
            .where(SignedDocument.id.in_(ids), SignedDocument.site_id.in_(site_ids))
            .order_by(SignedDocument.signed_at.desc(), SignedDocument.id.desc())
        )
    )


def documents_of_visits(session: Session, visits: Sequence[Visit]) -> list[SignedDocument]:
    """The signed documents kept from these visits."""
    if not visits:
        return []
    return load_signed_documents(
        session,
        session.scalars(
            select(SignedDocument.id).where(
                SignedDocument.visit_id.in_([visit.id for visit in visits])
            )
        ),
        sorted({visit.site_id for visit in visits}),
    )


def load_visits(session: Session, visit_ids: Iterable[int], site_ids: Sequence[int]) -> list[Visit]:
    """These visits, if they belong to these sites, newest first."""
    ids = list(visit_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Visit)
            .options(
                joinedload(Visit.site), joinedload(Visit.host), joinedload(Visit.notice_version)
            )
            .where(Visit.id.in_(ids), Visit.site_id.in_(site_ids))
            .order_by(Visit.checked_in_at.desc(), Visit.id.desc())
        )
    )


def load_invitations(
    session: Session, invitation_ids: Iterable[int], site_ids: Sequence[int]
) -> list[Invitation]:
    """These unused invitations, if they belong to these sites, soonest first."""
    ids = list(invitation_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Invitation)
            .options(joinedload(Invitation.site), joinedload(Invitation.host))
            .where(
                Invitation.id.in_(ids),
                Invitation.site_id.in_(site_ids),
                Invitation.visit_id.is_(None),
            )
            .order_by(Invitation.expected_on, Invitation.id)
        )
    )


@dataclass(frozen=True)
class Disclosure:
    """Who received a visit's data (GDPR Art. 15(1)(c)).

    ``recipient`` is a kind — ``reception`` (the site's reception, ``name`` = the site),
    ``host`` (the person visited, ``name`` = the host) or one a registered source adds —
    and ``at`` when it was sent, where known.
    """

    recipient: str
    name: str | None = None
    at: datetime | None = None
    #: False for a webhook call that carried the visit's number and times but no name.
    personal: bool = True


#: ``source(session, visits) -> {visit id: [Disclosure, ...]}``
DisclosureSource = Callable[[Session, Sequence[Visit]], Mapping[int, Sequence[Disclosure]]]
_disclosure_sources: list[DisclosureSource] = []


def register_disclosure_source(source: DisclosureSource) -> DisclosureSource:
    """Have ``source`` tell access exports where visits' data went (e.g. host notifications)."""
    if source not in _disclosure_sources:
        _disclosure_sources.append(source)
    return source


def _built_in_disclosures(visit: Visit) -> list[Disclosure]:
    found = [Disclosure("reception", visit.site.name)]
    if visit.host is not None:
        found.append(Disclosure("host", visit.host.name))
    return found


def _messages_sent(session: Session, visits: Sequence[Visit]) -> dict[int, list[Disclosure]]:
    """The messages the outbox sent about these visits (their text is erased once sent; who
    received them and when stays until the visit goes): emails to the host, and webhook calls
    to the service behind the site's webhook or a subscription, named by its address's host."""
    found: dict[int, list[Disclosure]] = {}
    ids = [visit.id for visit in visits]
    for start in range(0, len(ids), 500):
        sent = session.scalars(
            select(Notification)
            .options(joinedload(Notification.host), joinedload(Notification.subscription))
            .where(
                Notification.visit_id.in_(ids[start : start + 500]),
                Notification.sent_at.is_not(None),
            )
            .order_by(Notification.sent_at, Notification.id)
        )
        for message in sent:
            disclosure = _disclosure_of(message)
            if disclosure is not None and message.visit_id is not None:
                found.setdefault(message.visit_id, []).append(disclosure)
    return found


def _disclosure_of(message: Notification) -> Disclosure | None:
    if message.kind == NotificationKind.HOST_EMAIL:
        return Disclosure(
            "host_email", message.host.name if message.host else None, message.sent_at
        )
    if message.kind == NotificationKind.HOST_WEBHOOK:
        return Disclosure("webhook", _address_host(message.site.webhook_url), message.sent_at)
    if message.kind == NotificationKind.EVENT_WEBHOOK and message.subscription is not None:
        subscription = message.subscription
        name = f"{subscription.name} ({_address_host(subscription.url)})"
        return Disclosure("webhook", name, message.sent_at, personal=subscription.personal)
    return None


def _address_host(url: str | None) -> str | None:
    return urlsplit(url or "").hostname


@dataclass(frozen=True)
class VisitRecord:
    """A visit as the person's access export shows it."""

    visit: Visit
    erased_from: datetime
    #: When email and phone go sooner than the visit; None when they go with it.
    contacts_erased_from: datetime | None
    disclosures: list[Disclosure]


@dataclass(frozen=True)
class InvitationRecord:
    """An expected visit that has not happened, as the access export shows it."""

    invitation: Invitation
    erased_from: datetime


@dataclass(frozen=True)
class AccessReport:
    """Everything kept about one person, for an access or portability request."""

    generated_at: datetime
    visits: list[VisitRecord]
    invitations: list[InvitationRecord]
    #: The sites involved: each names its controller, DPO and supervisory authority.
    sites: list[Site] = field(default_factory=list)
    #: Signed documents still kept (kiosk.services.documents), each with its PDF.
    documents: list[SignedDocument] = field(default_factory=list)

    @property
    def locale(self) -> str | None:
        """The language the person last used at the kiosk."""
        for record in self.visits:
            return record.visit.locale
        for item in self.invitations:
            return item.invitation.locale
        return None


def export_access(
    session: Session,
    visits: Sequence[Visit],
    invitations: Sequence[Invitation],
    *,
    now: datetime,
    documents: Sequence[SignedDocument] = (),
) -> AccessReport:
    """Put together the access report of these records, with the signed documents of these
    visits and ``documents`` (signed copies whose visit may be gone)."""
    extra = _messages_sent(session, visits)
    for source in _disclosure_sources:
        for visit_id, items in source(session, visits).items():
            extra.setdefault(visit_id, []).extend(items)
    visit_records = []
    for visit in visits:
        contacts = contacts_erased_at(visit.site, visit)
        erased = visit_erased_at(visit.site, visit)
        visit_records.append(
            VisitRecord(
                visit=visit,
                erased_from=erased,
                contacts_erased_from=contacts if contacts < erased else None,
                disclosures=_built_in_disclosures(visit) + extra.get(visit.id, []),
            )
        )
    invitation_records = [
        InvitationRecord(item, invitation_erased_at(item.site, item)) for item in invitations
    ]
    signed = {item.id: item for item in documents_of_visits(session, visits)}
    signed.update({item.id: item for item in documents})
    sites = {visit.site.id: visit.site for visit in visits}
    sites.update({item.site.id: item.site for item in invitations})
    sites.update({item.site.id: item.site for item in signed.values()})
    return AccessReport(
        generated_at=now,
        visits=visit_records,
        invitations=invitation_records,
        sites=sorted(sites.values(), key=lambda site: site.name),
        documents=sorted(signed.values(), key=lambda item: (item.signed_at, item.id)),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def access_json(report: AccessReport) -> dict[str, Any]:
    """The access report as JSON-ready data (machine-readable: portability)."""
    return {
        "generated_at": _iso(report.generated_at),
        "controllers": [
            {
                "site": site.name,
                "controller": site.controller_name,
                "contact": site.controller_contact,
                "data_protection_officer": site.dpo_contact,
                "supervisory_authority": site.authority_name,
                "supervisory_authority_contact": site.authority_contact,
                "retention_days": site.retention_days,
                "contact_details_retention_days": site.contact_days,
            }
            for site in report.sites
        ],
        "visits": [_visit_json(record) for record in report.visits],
        "expected_visits": [
            {
                "site": item.invitation.site.name,
                "name": item.invitation.visitor_name,
                "company": item.invitation.company,
                "email": item.invitation.email,
                "host": item.invitation.host.name if item.invitation.host else None,
                "expected_on": item.invitation.expected_on.isoformat(),
                "language": item.invitation.locale,
                "registered_at": _iso(item.invitation.created_at),
                "cancelled_at": _iso(item.invitation.cancelled_at),
                "erased_from": _iso(item.erased_from),
            }
            for item in report.invitations
        ],
        "signed_documents": [
            {
                "site": item.site.name,
                "title": item.document_version.title,
                "version": item.document_version.version,
                "language": item.document_version.locale,
                "name": item.signer_name,
                "company": item.signer_company,
                "email": item.signer_email,
                "accepted_by": item.accepted_by,
                "signed_at": _iso(item.signed_at),
                "erased_from": _iso(item.erase_after),
                # The signed document itself, as kept.
                "pdf_base64": base64.b64encode(item.pdf).decode("ascii"),
            }
            for item in report.documents
        ],
    }


def _type_name(visit: Visit) -> str | None:
    if visit.visitor_type is None:
        return None
    with force_locale(visit.locale):
        return type_name(visit.visitor_type, visit.locale)


def _visit_json(record: VisitRecord) -> dict[str, Any]:
    visit = record.visit
    notice = visit.notice_version
    return {
        "site": visit.site.name,
        "name": visit.visitor_name,
        "company": visit.company,
        "email": visit.email,
        "phone": visit.phone,
        "purpose": visit.purpose,
        "host": visit.host.name if visit.host else None,
        # The kind of visit chosen at the kiosk, in the visitor's language.
        "visitor_type": _type_name(visit),
        "language": visit.locale,
        "checked_in_at": _iso(visit.checked_in_at),
        "checked_out_at": _iso(visit.checked_out_at),
        "badge_code": visit.short_code,
        "privacy_notice": None
        if notice is None
        else {
            "version": notice.version,
            "language": notice.locale,
            "published_at": _iso(notice.published_at),
            "text": render_notice(notice, visit.site),
        },
        "erased_from": _iso(record.erased_from),
        "contact_details_erased_from": _iso(record.contacts_erased_from),
        "recipients": [
            {
                "recipient": item.recipient,
                "name": item.name,
                "at": _iso(item.at),
                "personal_data": item.personal,
            }
            for item in record.disclosures
        ],
    }


#: The visit fields a rectification may change (the personal data, nothing else).
RECTIFIABLE = ("visitor_name", "company", "email", "phone", "purpose")


def rectify_visit(
    visit: Visit, changes: Mapping[str, str | None], *, now: datetime | None = None
) -> list[str]:
    """Correct a visit's personal data; returns the names of the fields that changed.

    The visit's session checkpoints the SQLite write-ahead log when it commits, so the old
    values do not stay in the -wal file; and the keys the visit was sealed under are replaced
    first, so copies of the database taken before lose the old values once the day's other
    rows are sealed again (kiosk.privacy.shredding, "One person's erasure"). The host email
    and the site webhook call about the visit that have not gone yet are written again from
    the corrected visit (their keys replaced too); event webhooks go as they were written.
    Needs an app context.
    """
    changed = []
    for name in RECTIFIABLE:
        if name not in changes:
            continue
        value = changes[name] or None
        if name == "visitor_name" and not value:
            raise ValueError("a visit needs a name")
        if getattr(visit, name) != value:
            changed.append(name)
    session = object_session(visit)
    queued = None
    if changed and session is not None:
        queued = queued_arrival(session, visit)
        replace_keys_of(session, [visit, *queued.notifications], now=now or datetime.now(UTC))
        mark_overwritten(session)
    for name in changed:
        setattr(visit, name, changes[name] or None)
    if queued is not None:
        write_again(queued)
    return changed


def _notifications_about(
    session: Session, visits: Sequence[Visit], invitations: Sequence[Invitation]
) -> list[Notification]:
    """The queued notifications about these visits and invitations (they name the visitor)."""
    visit_ids = [visit.id for visit in visits]
    invitation_ids = [item.id for item in invitations]
    found: list[Notification] = []
    for column, ids in (
        (Notification.visit_id, visit_ids),
        (Notification.invitation_id, invitation_ids),
    ):
        for start in range(0, len(ids), 500):
            found.extend(
                session.scalars(select(Notification).where(column.in_(ids[start : start + 500])))
            )
    return found


def erase_person(
    session: Session,
    visits: Sequence[Visit],
    invitations: Sequence[Invitation],
    documents: Sequence[SignedDocument] = (),
    *,
    now: datetime | None = None,
) -> Erased:
    """Erase these records now, as the purge would (statistics first, derived copies too),
    with the documents signed at these visits and ``documents``: an erasure request reaches
    the signed copies the purge would keep for their own period."""
    begin_write(session)
    mark_overwritten(session)  # the commit also empties SQLite's write-ahead log
    signed = {item.id: item for item in [*documents_of_visits(session, visits), *documents]}
    document_ids = set(signed)
    moment = now or datetime.now(UTC)
    rows = [*visits, *invitations, *signed.values()]
    # Key store first. Their keys replaced: old copies of the database lose them too, once the
    # day's other rows are sealed again (kiosk.privacy.shredding).
    replace_keys_of(
        session, [*rows, *_notifications_about(session, visits, invitations)], now=moment
    )
    # On the key store's erasure list: a restored older copy is erased again.
    remember_erasure(session, rows, now=moment)
    erased = erase_signed_documents(session, sorted(document_ids))
    erased.add(erase_visits(session, [visit.id for visit in visits]))
    erased.add(erase_invitations(session, [item.id for item in invitations]))
    # Staff users' saved history searches (on the server, for up to a day) may hold the
    # person's name: they are a convenience, so every one of them goes.
    session.execute(delete(SessionItem).where(SessionItem.name == HISTORY_SEARCH))
    return erased
