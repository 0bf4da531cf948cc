"""SQLite's writers' queue: a bounded wait ending in ``Busy``; reads take no lock at all."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from engine import Busy, EngineError, make_engine, make_read_sessionmaker, make_sessionmaker, write_wait_from_env
from engine.storage.models import ProcessVersion


@pytest.fixture
def sqlite_engine(tmp_path):
    import workflows.tables  # noqa: F401  (the domain tables share the metadata)
    from engine import Base

    engine = make_engine(f"sqlite:///{tmp_path / 'queue.db'}", write_wait=0.3)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _version(number: int) -> ProcessVersion:
    return ProcessVersion(process_id="p", version=number, content_hash="x", files={}, spec_json="{}")


def test_a_second_writer_gets_busy_within_the_bound_while_the_first_holds_the_lock(sqlite_engine):
    writes = make_sessionmaker(sqlite_engine)
    with writes() as holder, holder.begin():
        holder.add(_version(1))
        holder.flush()  # the first writer now holds its turn and SQLite's write lock
        began = time.monotonic()
        with pytest.raises(Busy, match="busy"), writes() as second, second.begin():
            second.add(_version(2))
            second.flush()
        assert 0.25 <= time.monotonic() - began < 2
    with writes() as after, after.begin():  # the turn is free again once the holder commits
        after.add(_version(3))
    with writes() as check:
        assert sorted(check.scalars(select(ProcessVersion.version))) == [1, 3]


def test_a_read_goes_through_while_a_writer_holds_the_lock(sqlite_engine):
    writes, reads = make_sessionmaker(sqlite_engine), make_read_sessionmaker(sqlite_engine)
    with writes() as first, first.begin():
        first.add(_version(1))
    with writes() as holder, holder.begin():
        holder.add(_version(2))
        holder.flush()
        began = time.monotonic()
        with reads() as reader, reader.begin():
            assert list(reader.scalars(select(ProcessVersion.version))) == [1]  # the committed snapshot
        assert time.monotonic() - began < 0.2


def test_a_read_session_refuses_to_write(sqlite_engine):
    reads = make_read_sessionmaker(sqlite_engine)
    with pytest.raises(EngineError, match="read session tried to write"), reads() as reader, reader.begin():
        reader.add(_version(1))
        reader.flush()


@pytest.mark.parametrize("raw", ["soon", "-1", "0", "601"])
def test_a_bad_write_wait_in_the_environment_is_refused_naming_the_value(monkeypatch, raw):
    monkeypatch.setenv("GRIDLINK_WRITE_WAIT", raw)
    with pytest.raises(ValueError, match=f"GRIDLINK_WRITE_WAIT={raw!r}"):
        write_wait_from_env()


def test_the_write_wait_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("GRIDLINK_WRITE_WAIT", "2.5")
    assert write_wait_from_env() == 2.5
    monkeypatch.delenv("GRIDLINK_WRITE_WAIT")
    assert write_wait_from_env() == 5.0
