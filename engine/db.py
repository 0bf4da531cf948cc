"""Database plumbing shared by every layer: the declarative base, engines and sessions.

SQLite is the default (WAL, foreign keys, busy timeout); PostgreSQL is reached through a
``postgresql+psycopg://`` URL. Every state change runs inside one ``session.begin()`` block.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always handed back tz-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a tz-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        if engine.url.database not in (None, "", ":memory:") and "factory" not in kwargs["connect_args"]:
            engine.dispose()
            kwargs["connect_args"] = {**kwargs["connect_args"], "factory": _writer_queue(engine.url.database)}
            # the connection used last has the freshest page cache (another connection's commit voids it)
            kwargs.setdefault("pool_use_lifo", True)
            engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling is off).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin_immediate(conn) -> None:
    # Writers take the lock at BEGIN, so two writers queue instead of failing on upgrade.
    dbapi = conn.connection.dbapi_connection
    take = getattr(dbapi, "take_writer_turn", None)
    if take is not None:
        take()
    try:
        dbapi.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise DBAPIError.instance("BEGIN IMMEDIATE", (), exc, sqlite3.Error) from exc


def _writer_queue(database: str) -> type[sqlite3.Connection]:
    """A connection class whose writers queue on an ``flock`` of ``<database>.writers``.

    SQLite's own busy handler makes a waiting writer sleep (1, 2, 5 ... 100 ms) and poll, so under
    concurrent writes from several processes most of the time goes to sleeping while the lock is
    free. A kernel lock wakes the next writer as soon as the previous one commits or rolls back.
    """
    path = f"{database}.writers"

    class QueuedWriter(sqlite3.Connection):
        _queue_fd: int | None = None
        _holding = False

        def take_writer_turn(self) -> None:
            if self._queue_fd is None:
                self._queue_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._queue_fd, fcntl.LOCK_EX)
            self._holding = True

        def _end_turn(self) -> None:
            if self._holding:
                self._holding = False
                fcntl.flock(self._queue_fd, fcntl.LOCK_UN)

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._end_turn()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._end_turn()

        def close(self) -> None:
            try:
                self._end_turn()
                if self._queue_fd is not None:
                    os.close(self._queue_fd)
                    self._queue_fd = None
            finally:
                super().close()

    return QueuedWriter


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)
