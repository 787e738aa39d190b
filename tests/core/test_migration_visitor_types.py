"""Migration 0020 (visitor types): every existing site gets one "Visitor" type that follows
its settings; on SQLite the visits table is changed in place, so nothing that refers to a
visit (its name words here) is lost, and the new reference is enforced."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from kiosk import create_app
from kiosk.blind_index import name_prefixes
from kiosk.cli import main
from kiosk.db import get_database
from tests.support import new_key_store

BEFORE = "0017_api_tokens"


def test_existing_sites_get_one_visitor_type_and_keep_their_visits(
    tmp_path: Path, empty_database_url: str
):
    keys = tmp_path / "keys"
    keys.mkdir()
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": empty_database_url,
            **new_key_store(keys),
        }
    )
    runner = app.test_cli_runner()
    engine = get_database(app).engine
    try:
        assert runner.invoke(main, ["db", "upgrade", BEFORE]).exit_code == 0
        created = datetime(2026, 1, 1, tzinfo=UTC)
        if engine.dialect.name == "sqlite":
            created = created.replace(tzinfo=None)
        with engine.begin() as connection:
            for site_id in (1, 2):
                connection.execute(
                    text(
                        "INSERT INTO sites (id, name, timezone, default_locale, retention_days,"
                        " controller_name, controller_contact, authority_name, created_at,"
                        " field_company, field_host, field_purpose, field_email, field_phone,"
                        " badge_preset, badge_band_colour, print_backend)"
                        " VALUES (:id, :name, 'UTC', 'sv', 30, 'C', 'c@example.com', 'A', :at,"
                        " 'optional', 'required', 'optional', 'hidden', 'hidden',"
                        " 'brother-62x100', '#0B5CAD', 'browser')"
                    ),
                    {"id": site_id, "name": f"S{site_id}", "at": created},
                )
            connection.execute(
                text(
                    "INSERT INTO visits (id, site_id, visitor_name, badge_token, short_code,"
                    " locale, checked_in_at) VALUES (7, 1, 'Åsa Lind', 't', 'C', 'sv', :at)"
                ),
                {"at": created},
            )
            connection.execute(
                text(
                    "INSERT INTO visit_name_words (visit_id, word, site_id, checked_in_at)"
                    " VALUES (7, 'asa', 1, :at), (7, 'lind', 1, :at)"
                ),
                {"at": created},
            )
        result = runner.invoke(main, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with engine.connect() as connection:
            types = connection.execute(
                text(
                    "SELECT site_id, key, position, notify_host, retention_days, field_company,"
                    " band_colour, names, retired_at FROM visitor_types ORDER BY site_id"
                )
            ).all()
            # The plain name words are gone; the upgrade wrote the visit's blind-index tokens.
            tokens = connection.execute(
                text("SELECT count(*) FROM visit_name_tokens WHERE visit_id = 7")
            ).scalar()
            visit_type = connection.execute(
                text("SELECT visitor_type_id FROM visits WHERE id = 7")
            ).scalar()
        # Nothing of its own: the type follows the site, so the site behaves as before.
        assert [tuple(row) for row in types] == [
            (1, "visitor", 0, True, None, None, None, None, None),
            (2, "visitor", 0, True, None, None, None, None, None),
        ]
        assert tokens == len(name_prefixes("Åsa Lind"))
        assert "Sealed 1 kept rows of visits." in result.output
        # The kept visit was sealed by the upgrade: nothing left in its old column.
        with engine.connect() as connection:
            plain, sealed = connection.execute(
                text("SELECT visitor_name, visitor_name_sealed FROM visits WHERE id = 7")
            ).one()
        assert plain == ""
        assert b"Lind" not in bytes(sealed)
        assert visit_type is None
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text("UPDATE visits SET visitor_type_id = 999 WHERE id = 7"))

        assert runner.invoke(main, ["db", "downgrade", BEFORE]).exit_code == 0
        with engine.connect() as connection:
            words_after = connection.execute(text("SELECT count(*) FROM visit_name_words")).scalar()
        assert words_after == 0  # the words cannot be made again from tokens
        assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    finally:
        engine.dispose()
