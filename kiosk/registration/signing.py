"""Where the current visitor is with the documents their visit asks them to sign.

The documents come after the privacy notice: the notice is what Art. 13 requires at the
time of collection, and it states how long each signed copy is kept, so the visitor has
read that before signing anything. What they signed waits in their pending details (on the
server, kiosk.session_store) until the check-in stores the PDFs in the same commit as the
visit; "I don't want to sign" forgets it all.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import get_locale

from kiosk.clock import now
from kiosk.db import get_session
from kiosk.models import DocumentVersion, Site, VisitorType
from kiosk.registration.forms import form_steps
from kiosk.services.documents import Signature, documents_to_sign, required_documents
from kiosk.services.visitor_types import active_types, type_of_site

#: The key of the pending details holding what was signed: {version id: {"by", "png"}}.
SIGNED = "signed"


def _visitor_type(site: Site, pending: dict[str, Any]) -> VisitorType | None:
    chosen = type_of_site(site, pending.get("visitor_type_id"))
    if chosen is None:
        types = active_types(site)
        chosen = types[0] if len(types) == 1 else None
    return chosen


def versions_to_sign(
    site: Site, pending: dict[str, Any], member: dict[str, Any] | None = None
) -> list[DocumentVersion]:
    """The document versions a visitor must accept before the check-in, in order: the one
    who filled in the form (``pending``), or one of their companions (``member``; the type
    is the group's)."""
    signer = pending if member is None else member
    return documents_to_sign(
        get_session(),
        site,
        _visitor_type(site, pending),
        str(get_locale()),
        name=signer.get("name") or "",
        email=signer.get("email"),
        now=now(),
    )


@dataclass(frozen=True)
class SigningTurn:
    """Whose turn it is to sign what: ``member`` 0 is the visitor who filled in the form,
    1 and on their companions in the order they were added (the kiosk is passed along)."""

    member: int
    version: DocumentVersion
    details: dict[str, Any]
    group_size: int


def next_turn(
    site: Site,
    pending: dict[str, Any],
    members: Sequence[dict[str, Any]] = (),
    turns: Sequence[Turn] | None = None,
) -> SigningTurn | None:
    """The next document someone of the group has yet to accept; None when everyone has.

    ``members`` is everyone from :func:`kiosk.registration.group.group_members` (the first
    visitor first), or empty for a visitor on their own. ``turns``, when given, are the
    group's turns already read (:func:`signing_turns`); otherwise they are read up to the
    first one not accepted."""
    everyone = list(members) or [pending]
    for index, member, version, accepted in (
        turns if turns is not None else _turns(site, pending, everyone)
    ):
        if not accepted:
            return SigningTurn(index, version, member, len(everyone))
    return None


#: A turn of a group's signing: (the person's place in the group, their details, the version,
#: whether they accepted it already).
Turn = tuple[int, dict[str, Any], DocumentVersion, bool]


def signing_turns(
    site: Site, pending: dict[str, Any], members: Sequence[dict[str, Any]] = ()
) -> list[Turn]:
    """Every turn of the group's signing, read once for a page that needs both whose turn it
    is and how far the group is (:func:`next_turn`, :func:`progress_after_form`)."""
    return list(_turns(site, pending, list(members) or [pending]))


def _turns(
    site: Site, pending: dict[str, Any], everyone: Sequence[dict[str, Any]]
) -> Iterator[Turn]:
    """Each document each person of the group is asked, in the order they sign: (their
    place in the group, their details, the version, whether they accepted it already)."""
    for index, member in enumerate(everyone):
        signed = member.get(SIGNED) or {}
        for version in versions_to_sign(site, pending, None if index == 0 else member):
            yield index, member, version, str(version.id) in signed


@dataclass(frozen=True)
class Progress:
    """Where the visitor is in the check-in, said as the guided form says it ("Step 5 of 6"):
    the form's steps, then the notice, then each document to accept."""

    current: int
    total: int


def progress_after_form(
    site: Site,
    pending: dict[str, Any],
    members: Callable[[], Sequence[dict[str, Any]]],
    turns: Sequence[Turn] | None = None,
) -> tuple[Progress | None, int]:
    """The notice's place in the check-in, and how many documents are accepted already
    (the next one's place is the notice's plus that plus one). Everyone in a group
    (``members``, as :func:`kiosk.registration.group.group_members` lists them) accepts
    each document in turn on the same kiosk, so every turn is a step. A type that asks no
    document (most check-ins) costs no query and does not read the group.

    None for an invited visitor: their details were filled in and checked on one screen,
    with no steps counted (registration/check_in.html's ``data-review``). ``turns``: the
    group's turns when already read (:func:`signing_turns`)."""
    if pending.get("invitation_id"):
        return None, 0
    visitor_type = _visitor_type(site, pending)
    done = total = 0
    if required_documents(visitor_type):
        if turns is None:
            turns = signing_turns(site, pending, members())
        for _index, _member, _version, accepted in turns:
            total += 1
            done += accepted
    notice = form_steps(visitor_type if visitor_type is not None else site) + 1
    return Progress(notice, notice + total), done


def next_unsigned(site: Site, pending: dict[str, Any]) -> DocumentVersion | None:
    """The next document the visitor on their own has yet to accept; None when all are."""
    turn = next_turn(site, pending)
    return turn.version if turn is not None else None


def signatures_of(
    site: Site, pending: dict[str, Any], member: dict[str, Any] | None = None
) -> list[Signature]:
    """What a visitor accepted of the documents asked now (a language switched half-way
    asks that language's versions; signatures of the other are left out)."""
    signed = (pending if member is None else member).get(SIGNED) or {}
    if not signed:
        return []  # nothing signed (most check-ins): no query on the check-in's path
    found = []
    for version in versions_to_sign(site, pending, member):
        item = signed.get(str(version.id))
        if not isinstance(item, dict):
            continue
        png = item.get("png")
        found.append(
            Signature(
                version_id=version.id,
                accepted_by=str(item.get("by")),
                png=base64.b64decode(png) if isinstance(png, str) else None,
            )
        )
    return found


def remember_signature(
    pending: dict[str, Any], version: DocumentVersion, by: str, png: bytes | None
) -> None:
    """Add an accepted document to the pending details (the caller keeps them)."""
    signed = dict(pending.get(SIGNED) or {})
    signed[str(version.id)] = {
        "by": by,
        "png": base64.b64encode(png).decode("ascii") if png is not None else None,
    }
    pending[SIGNED] = signed
