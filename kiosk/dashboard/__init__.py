"""The reception dashboard: staff screens behind a login.

``bp`` (in ``blueprint.py``) carries every page; importing this package imports the view
modules, which register their routes on it.
"""

from kiosk.dashboard import (  # noqa: F401  (routes on the blueprint)
    admin,
    audit_log,
    auth,
    expected,
    kiosks,
    notifications,
    on_site,
    prints,
    privacy,
    signed_documents,
    sso,
    visits,
)
from kiosk.dashboard.blueprint import bp

__all__ = ["bp"]
