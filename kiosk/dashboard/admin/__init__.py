"""Dashboard: the admin area under /dashboard/admin/: sites, notices, badges, hosts, staff,
visitor types, webhooks, API tokens.

Admin-only pages answer 403 to reception users; an object of a site the user does not serve
answers 404, as if it did not exist (both in ``kiosk.dashboard.access``). Hosts are the one
admin-area page reception staff may use, for their own sites.
"""

from kiosk.dashboard.admin import (  # noqa: F401  (routes on the dashboard blueprint)
    api_tokens,
    badges,
    documents,
    hosts,
    index,
    notices,
    sites,
    staff,
    visitor_types,
    webhooks,
)
