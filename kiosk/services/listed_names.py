"""A visitor's name and company for long read-only lists (who is on site, who is expected
today, the visit export), read as columns and unsealed here rather than loaded as objects: an
object per row cost more than the list's query (bench/README.md, "Round three")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kiosk.keystore import KeyStore
from kiosk.models import Invitation, Visit


def name_columns(model: type[Visit] | type[Invitation]) -> tuple[Any, ...]:
    """The five columns :func:`unseal_names` reads, to select in this order."""
    return (
        model.row_key,
        model.visitor_name_sealed,
        model.legacy_visitor_name,
        model.company_sealed,
        model.legacy_company,
    )


def unseal_names(
    model: type[Visit] | type[Invitation],
    store: KeyStore,
    rows: Sequence[Sequence[Any]],
    start: int,
) -> list[tuple[str, str | None]]:
    """(name, company) of each row, whose :func:`name_columns` begin at ``start``, as the
    attributes read them (old plaintext columns for rows kept from before sealing; "(erased)"
    stand-ins): each column unsealed in one pass (kiosk.sealing's ``unseal_many``)."""
    row_key, name, legacy_name, company, legacy_company = range(start, start + 5)
    names = model.visitor_name.unseal_many(
        store, ((row[name], row[row_key], row[legacy_name]) for row in rows)
    )
    companies = model.company.unseal_many(
        store, ((row[company], row[row_key], row[legacy_company]) for row in rows)
    )
    return list(zip(names, companies, strict=True))
