"""The blueprint the REST API's operations are routed on (/api/v1/)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
