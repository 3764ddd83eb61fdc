"""Schema upgrades keep what is stored: a database made by an older release migrates in place."""

from __future__ import annotations

from sqlalchemy import inspect, text

from tryon.store.database import Database


def test_products_of_the_first_schema_get_version_1(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    database.migrate("0001")
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO merchants (slug, name, created_at) VALUES ('old', 'Old', '2026-01-01')"))
        connection.execute(
            text(
                "INSERT INTO products (merchant_id, sku, name, kind, spec, assets, published, created_at, updated_at)"
                " VALUES (1, 'red-1', 'Red', 'lipstick', '{\"colour\": \"#aa1122\"}', '{}', 1, '2026-01-01',"
                " '2026-01-01')"
            )
        )
    database.migrate()
    with database.engine.begin() as connection:
        assert connection.execute(text("SELECT sku, version FROM products")).all() == [("red-1", 1)]
    assert "counted_events" in inspect(database.engine).get_table_names()
    database.close()
