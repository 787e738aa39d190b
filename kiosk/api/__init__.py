"""The REST API under /api/v1/: token-authenticated JSON for the company's other systems.

Clients authenticate with per-client tokens that admins make on the dashboard
(kiosk.dashboard.admin.api_tokens); each operation is declared once (kiosk.api.framework),
which routes it and describes it in the OpenAPI document served at /api/v1/openapi.json.
Errors are RFC 9457 problem details (kiosk.errors.problem). See docs/api.md.
"""

from kiosk.api import (  # noqa: F401  (operations on the blueprint)
    docs,
    hosts,
    invitations,
    purge_runs,
    sites,
    visits,
)
from kiosk.api.blueprint import bp
from kiosk.api.framework import route_operations

route_operations()

__all__ = ["bp"]
