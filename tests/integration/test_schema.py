"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import engine.storage.models  # noqa: F401
import workflows.tables  # noqa: F401
from engine import Base, make_engine
from workflows.setup import schema


def fresh_engine(tmp_path):
    url = os.environ.get("GRIDLINK_TEST_PG_URL") or f"sqlite:///{tmp_path / 'migrated.db'}"
    db = make_engine(url)
    if db.dialect.name == "postgresql":
        with db.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    return db


def test_upgrade_creates_every_table_and_is_idempotent(tmp_path):
    db = fresh_engine(tmp_path)
    schema.upgrade(db)
    schema.upgrade(db)
    tables = set(inspect(db).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrations_match_the_models(tmp_path):
    db = fresh_engine(tmp_path)
    schema.upgrade(db)
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == [], "models changed without a migration: see README 'Schema changes'"
