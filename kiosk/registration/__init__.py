"""The kiosk screens visitors use at reception.

``bp`` (in ``blueprint.py``) carries every screen; importing this package imports the view
modules, which register their routes on it.
"""

from kiosk.registration import (  # noqa: F401  (routes on the blueprint)
    badge,
    branding,
    checkout,
    display,
    documents,
    group,
    pairing,
    routes,
)
from kiosk.registration.blueprint import bp

__all__ = ["bp"]
