"""Database plumbing shared by every layer: the declarative base, engines and sessions.

SQLite is the default (WAL, foreign keys, busy timeout); PostgreSQL is reached through a
``postgresql+psycopg://`` URL. Every state change runs inside one ``session.begin()`` block.

On SQLite a write transaction (a session of ``make_sessionmaker``) begins IMMEDIATE after taking
its turn in the writers' queue, waiting at most ``write_wait`` seconds (``GRIDLINK_WRITE_WAIT``,
default 5) before raising ``Busy``; a read transaction (a session of ``make_read_sessionmaker``)
begins deferred and takes no lock at all, and refuses to write.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

from ..errors import Busy, EngineError

READ_OPTION = "gridlink_read"  # execution option of the engine read sessions are bound to
DEFAULT_WRITE_WAIT = 5.0  # seconds a writer waits for its turn before ``Busy``

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


def write_wait_from_env() -> float:
    """Seconds a writer waits for its turn: ``GRIDLINK_WRITE_WAIT``, else the default."""
    raw = os.environ.get("GRIDLINK_WRITE_WAIT", "").strip()
    if not raw:
        return DEFAULT_WRITE_WAIT
    try:
        wait = float(raw)
    except ValueError:
        raise ValueError(f"GRIDLINK_WRITE_WAIT={raw!r} is not a number of seconds; set e.g. 5") from None
    if not 0 < wait <= 600:
        raise ValueError(f"GRIDLINK_WRITE_WAIT={raw!r} is out of range; give seconds between 0 and 600")
    return wait


def make_engine(url: str, write_wait: float | None = None, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and a bounded writers' queue."""
    if url.startswith("sqlite"):
        wait = write_wait_from_env() if write_wait is None else write_wait
        kwargs.setdefault("connect_args", {"timeout": wait, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        if engine.url.database not in (None, "", ":memory:") and "factory" not in kwargs["connect_args"]:
            engine.dispose()
            kwargs["connect_args"] = {**kwargs["connect_args"], "factory": _writer_queue(engine.url.database, wait)}
            # the connection used last has the freshest page cache (another connection's commit voids it)
            kwargs.setdefault("pool_use_lifo", True)
            engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _pragmas(wait))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _pragmas(wait: float):
    def set_pragmas(dbapi_conn, _record) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling is off).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
    return set_pragmas


def _sqlite_begin(conn) -> None:
    dbapi = conn.connection.dbapi_connection
    if conn.get_execution_options().get(READ_OPTION):
        dbapi.execute("BEGIN")  # deferred: a read takes no lock in WAL mode
        return
    # Writers take the lock at BEGIN, so two writers queue instead of failing on upgrade.
    take = getattr(dbapi, "take_writer_turn", None)
    if take is not None:
        take()
    try:
        dbapi.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        end = getattr(dbapi, "end_writer_turn", None)
        if end is not None:
            end()
        if "locked" in str(exc) or "busy" in str(exc):
            raise Busy(getattr(dbapi, "write_wait", 0) or DEFAULT_WRITE_WAIT) from exc
        raise DBAPIError.instance("BEGIN IMMEDIATE", (), exc, sqlite3.Error) from exc
    except sqlite3.Error as exc:
        raise DBAPIError.instance("BEGIN IMMEDIATE", (), exc, sqlite3.Error) from exc


def _writer_queue(database: str, wait: float) -> type[sqlite3.Connection]:
    """A connection class whose writers queue on an ``flock`` of ``<database>.writers``.

    SQLite's own busy handler makes a waiting writer sleep (1, 2, 5 ... 100 ms) and poll, so under
    concurrent writes from several processes most of the time goes to sleeping while the lock is
    free. A kernel lock wakes the next writer as soon as the previous one commits or rolls back.
    The turn is first tried without blocking; a writer that finds it taken polls it every
    0.2-2 ms (the lock is held a few ms per write) and gives up with ``Busy`` after ``wait`` s.
    """
    path = f"{database}.writers"

    class QueuedWriter(sqlite3.Connection):
        _queue_fd: int | None = None
        _holding = False
        write_wait = wait

        def take_writer_turn(self) -> None:
            if self._queue_fd is None:
                self._queue_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            if not _try_flock(self._queue_fd):
                _wait_flock(self._queue_fd, self.write_wait)
            self._holding = True

        def end_writer_turn(self) -> None:
            self._end_turn()

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


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _wait_flock(fd: int, wait: float) -> None:
    deadline = time.monotonic() + wait
    pause = 0.0002
    while not _try_flock(fd):
        if time.monotonic() >= deadline:
            raise Busy(wait)
        time.sleep(pause)
        pause = min(pause * 2, 0.002)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    """Sessions for write transactions (on SQLite: the writers' queue, then BEGIN IMMEDIATE)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def make_read_sessionmaker(engine: Engine) -> sessionmaker:
    """Sessions for read-only transactions: deferred BEGIN on SQLite (no lock, no queue); a write
    statement in one is refused with an ``EngineError`` before it reaches the database."""
    reader = engine.execution_options(**{READ_OPTION: True})
    event.listen(reader, "before_cursor_execute", _refuse_writes)
    return sessionmaker(bind=reader, expire_on_commit=False)


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


def _refuse_writes(conn, cursor, statement: str, parameters, context, executemany) -> None:
    if statement.lstrip()[:7].upper().startswith(_WRITES):
        raise EngineError(f"a read session tried to write ({statement.split(None, 3)[:3]}); "
                          "use a write session (make_sessionmaker) for changes")
