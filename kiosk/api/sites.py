"""API: the sites a token may see."""

from __future__ import annotations

from flask_babel import force_locale

from kiosk.api import schemas
from kiosk.api.framework import decode_cursor, operation, page_of, token_sites
from kiosk.models import Site
from kiosk.services.visitor_types import active_types, type_name


def site_out(site: Site) -> schemas.Site:
    # The built-in types' names come from the catalogs: in the site's language, as
    # the kiosk greets a visitor.
    with force_locale(site.default_locale):
        types = [
            schemas.SiteVisitorType(
                id=kind.id, key=kind.key, name=type_name(kind, site.default_locale)
            )
            for kind in active_types(site)
        ]
    return schemas.Site(
        id=site.id,
        name=site.name,
        timezone=site.timezone,
        default_locale=site.default_locale,
        visitor_types=types,
    )


@operation(
    "GET",
    "/sites",
    operation_id="list_sites",
    summary="List the token's sites",
    tag="Sites",
    query=schemas.PageQuery,
    response=schemas.SiteList,
)
def list_sites(query: schemas.PageQuery) -> schemas.SiteList:
    """The sites this token was made for, by id."""
    after = decode_cursor(query.cursor)
    sites = sorted((site for site in token_sites() if site.id > after), key=lambda s: s.id)
    items, next_cursor = page_of(sites[: query.limit + 1], query.limit)
    return schemas.SiteList(items=[site_out(site) for site in items], next_cursor=next_cursor)


@operation(
    "GET",
    "/sites/<int:site_id>",
    operation_id="get_site",
    summary="Get a site",
    tag="Sites",
    response=schemas.Site,
    errors=(404,),
)
def get_site(site_id: int) -> schemas.Site:
    """One of the token's sites."""
    return site_out(token_sites(site_id)[0])
