"""The bare baseline for bench/checkin.py: Flask, one Jinja template and one INSERT a request.

Served by gunicorn with kiosk serve's settings, on the same database (the URL comes from
``BASELINE_DATABASE_URL``); its engine comes from kiosk.db.make_engine, so SQLite gets the same
pragmas (WAL, synchronous=NORMAL, busy timeout) as kiosk's. ``POST /visit`` has nothing else:
no CSRF, no session, no i18n, no ORM. It creates its own tables, ``baseline_visits`` and
``floor_visits``.

``POST /floor`` is the second reference: the least a check-in can do with the named stack, a
Flask-WTF form validated with its CSRF token (so a signed session cookie) and one SQLAlchemy
ORM INSERT, then the same template. What kiosk adds beyond it (the paired-kiosk check, host,
short code, name words, print record, its own session state) is the rest of its cost.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, render_template, request
from flask_wtf import CSRFProtect, FlaskForm
from jinja2 import DictLoader
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from wtforms import StringField

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


class FloorBase(DeclarativeBase):
    pass


class FloorVisit(FloorBase):
    __tablename__ = "floor_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200))
    checked_in_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FloorForm(FlaskForm):
    name = StringField()
    company = StringField()


FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Check in</title></head>
<body><form method="post">{{ form.csrf_token() }}</form></body></html>
"""

engine = make_engine(os.environ["BASELINE_DATABASE_URL"])
Session = sessionmaker(engine)
app = Flask(__name__)
app.secret_key = "bench baseline"  # noqa: S105 - signs a benchmark's session only
csrf = CSRFProtect(app)
# Loaded templates, compiled once and cached, as kiosk's templates are.
app.jinja_env.loader = DictLoader({"page.html": PAGE, "form.html": FORM})


@app.route("/floor", methods=["GET", "POST"])
def floor() -> str | tuple[str, int]:
    form = FloorForm()
    if not form.validate_on_submit():
        return render_template("form.html", form=form), 200 if request.method == "GET" else 400
    with Session() as session:
        visit = FloorVisit(
            name=form.name.data or "",
            company=form.company.data or "",
            checked_in_at=datetime.now(UTC),
        )
        session.add(visit)
        session.commit()
        number = visit.id
    return render_template("page.html", name=visit.name, company=visit.company, number=number)


@csrf.exempt
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
    """Create the tables once, before gunicorn starts its workers."""
    metadata.create_all(engine)
    FloorBase.metadata.create_all(engine)


if __name__ == "__main__":
    create_table()
