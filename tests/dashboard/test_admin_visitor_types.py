"""Admin pages for visitor types (issue 15): a new site's defaults, editing a type within the
site's limits, retiring, restoring and ordering, each change audited."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import AuditEvent, Site, VisitorType
from tests.dashboard.test_admin_sites import GOOD


def types_of(session: Session, site_id: int) -> list[VisitorType]:
    session.expire_all()
    return list(
        session.scalars(
            select(VisitorType)
            .where(VisitorType.site_id == site_id)
            .order_by(VisitorType.position, VisitorType.id)
        )
    )


def test_a_new_site_gets_the_four_default_types(staff_client: FlaskClient, session: Session):
    assert staff_client.post("/dashboard/admin/sites/new", data=GOOD).status_code == 302
    site = session.scalar(select(Site).where(Site.name == GOOD["name"]))
    assert [t.key for t in types_of(session, site.id)] == [
        "guest",
        "contractor",
        "interview",
        "delivery",
    ]
    page = staff_client.get(f"/dashboard/admin/sites/{site.id}/types").text
    for name in ("Guest", "Contractor", "Interview", "Delivery"):
        assert name in page
    # The delivery default (7 days) is never longer than the site's 14.
    assert types_of(session, site.id)[3].kept_days == 7


def test_editing_a_type_within_the_sites_limits(
    staff_client: FlaskClient, session: Session, make_site: Any, clock: Any
):
    site = make_site(retention_days=30)
    staff_client.post(f"/dashboard/admin/sites/{site.id}/types/new", data={"name_en": "Auditor"})
    auditor = types_of(session, site.id)[0]
    assert auditor.names == {"en": "Auditor"}
    assert auditor.key is None
    form = {
        "name_en": "Auditor",
        "name_sv": "Revisor",
        "band_label_en": "AUDIT",
        "band_colour": "#123abc",
        "field_company": "required",
        "field_host": "",
        "field_email": "hidden",
        "notify_host": "y",
        "retention_days": "31",
    }
    refused = staff_client.post(f"/dashboard/admin/types/{auditor.id}", data=form)
    assert refused.status_code == 200
    assert "At most as long as the site keeps visits (30 days)." in refused.text
    saved = staff_client.post(
        f"/dashboard/admin/types/{auditor.id}", data={**form, "retention_days": "5"}
    )
    assert saved.status_code == 302
    auditor = types_of(session, site.id)[0]
    assert auditor.names == {"en": "Auditor", "sv": "Revisor"}
    assert (auditor.band_colour, auditor.retention_days, auditor.notify_host) == (
        "#123ABC",
        5,
        True,
    )
    assert auditor.field_company == "required"
    assert auditor.field_host is None
    assert auditor.field_mode("host") == site.field_host  # follows the site
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"create_visitor_type", "update_visitor_type"} <= actions


def test_a_type_needs_a_name_and_a_valid_colour(
    staff_client: FlaskClient, session: Session, make_site: Any
):
    site = make_site()
    page = staff_client.post(
        f"/dashboard/admin/sites/{site.id}/types/new", data={"band_colour": "red"}
    ).text
    assert "Please give a colour as #RRGGBB, for example #C2410C." in page
    page = staff_client.post(f"/dashboard/admin/sites/{site.id}/types/new", data={}).text
    assert "Please give the type a name." in page
    assert types_of(session, site.id) == []


def test_retire_restore_and_order(staff_client: FlaskClient, session: Session, make_site: Any):
    site = make_site()
    for name in ("First", "Second"):
        staff_client.post(f"/dashboard/admin/sites/{site.id}/types/new", data={"name_en": name})
    first, second = types_of(session, site.id)
    staff_client.post(f"/dashboard/admin/types/{second.id}/up")
    assert [t.id for t in types_of(session, site.id)] == [second.id, first.id]
    staff_client.post(f"/dashboard/admin/types/{first.id}/retire")
    assert types_of(session, site.id)[1].retired_at is not None
    # The last type offered stays.
    page = staff_client.post(
        f"/dashboard/admin/types/{second.id}/retire", follow_redirects=True
    ).text
    assert "A site keeps at least one visitor type." in page
    assert types_of(session, site.id)[0].retired_at is None
    staff_client.post(f"/dashboard/admin/types/{first.id}/restore")
    assert all(t.retired_at is None for t in types_of(session, site.id))
