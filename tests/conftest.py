"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when the suite runs there)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from engine import Base, make_engine, make_sessionmaker

PG_URL = os.environ.get("GRIDLINK_TEST_PG_URL")


def _reset_postgres(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture
def db_url(tmp_path) -> str:
    """The database under test: the throwaway PostgreSQL server when set, else a SQLite file."""
    return PG_URL or f"sqlite:///{tmp_path / 'gridlink.db'}"


@pytest.fixture
def db_engine(db_url):
    engine = make_engine(db_url)
    if engine.dialect.name == "postgresql":
        _reset_postgres(engine)
    import workflows.tables  # noqa: F401  (registers the domain tables on the shared metadata)

    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(db_engine):
    return make_sessionmaker(db_engine)
