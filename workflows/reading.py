"""Sessions for read models that must not hold SQLite's write lock (the big screen, the exports).

The system's sessions start every SQLite transaction with ``BEGIN IMMEDIATE`` (right for writers:
they queue instead of failing on upgrade), so a read through them takes the write lock for its
whole duration. The evaluation queries over a large database run for a good part of a second and
the big screen repeats them every few seconds; through these sessions they run in a deferred
(``BEGIN``) transaction instead: one consistent snapshot in WAL mode, while writers carry on.
The connections are also ``query_only``. On PostgreSQL the system's own sessions are used.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

_READERS: WeakKeyDictionary[Engine, sessionmaker] = WeakKeyDictionary()


def read_sessions(system) -> sessionmaker:
    """A sessionmaker for read-only work on ``system``'s database (see the module docstring)."""
    if system.db.dialect.name != "sqlite" or system.db.url.database in (None, "", ":memory:"):
        return system.sessions
    reader = _READERS.get(system.db)
    if reader is None:
        engine = create_engine(system.db.url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _pragmas)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        reader = _READERS[system.db] = sessionmaker(bind=engine, expire_on_commit=False)
    return reader


def _pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" listener emits the (deferred) BEGIN
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA query_only=1")
    cursor.close()
