"""The bare baseline for bench/checkin.py: Flask, one Jinja template and one INSERT a request.

Served by gunicorn with kiosk serve's settings, on the same database (the URL comes from
``BASELINE_DATABASE_URL``); its engine comes from kiosk.db.make_engine, so SQLite gets the same
pragmas (WAL, synchronous=NORMAL, busy timeout) as kiosk's. Nothing else: no CSRF, no session,
no i18n, no ORM. It creates its own table, ``baseline_visits``.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, render_template, request
from jinja2 import DictLoader
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.db import make_engine  # noqa: E402

metadata = MetaData()
visits = Table(
    "baseline_visits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("company", String(200)),
    Column("checked_in_at", DateTime(timezone=True), nullable=False),
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Welcome</title></head>
<body><main><h1>Welcome, {{ name }}</h1><p>{{ company }}</p>
<p>Visit number {{ number }}</p></main></body></html>
"""

engine = make_engine(os.environ["BASELINE_DATABASE_URL"])
app = Flask(__name__)
# A loaded template, compiled once and cached, as kiosk's templates are.
app.jinja_env.loader = DictLoader({"page.html": PAGE})


@app.post("/visit")
def visit() -> str:
    name = request.form.get("name", "")[:200]
    company = request.form.get("company", "")[:200]
    with engine.begin() as connection:
        number = connection.execute(
            insert(visits)
            .values(name=name, company=company, checked_in_at=datetime.now(UTC))
            .returning(visits.c.id)
        ).scalar_one()
    return render_template("page.html", name=name, company=company, number=number)


#: bench/page_weight.py's paint baseline: a minimal static page, no CSS, no script.
BLANK = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Blank</title></head>
<body><h1>Welcome</h1><p>A minimal static page.</p></body></html>
"""


@app.get("/blank")
def blank() -> tuple[bytes, dict[str, str]]:
    return BLANK, {"Content-Type": "text/html; charset=utf-8"}


@app.get("/ready")
def ready() -> str:
    return "ok"


def create_table() -> None:
    """Create the table once, before gunicorn starts its workers."""
    metadata.create_all(engine)


if __name__ == "__main__":
    create_table()
