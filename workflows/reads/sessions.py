"""Sessions for read-only use cases that do not queue behind writers.

On SQLite every transaction of ``System.sessions`` starts with ``BEGIN IMMEDIATE`` (writers queue
instead of failing on lock upgrade), which also makes every *read* wait for the write lock. In WAL
mode readers never block writers nor wait for them, so the API's lists, case pages, token lookups
and Open311 reads use a second engine on the same file whose transactions start with a plain
(deferred) ``BEGIN``: one consistent snapshot per session, no lock. The big screen and the exports
read through them too: their evaluation queries over a large database run for a good part of a
second, repeated every few seconds, while writers carry on. The connections are ``query_only``.
On PostgreSQL the ordinary sessions are used (MVCC readers do not wait there).
"""

from __future__ import annotations

import threading
from weakref import WeakKeyDictionary

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

_READERS: WeakKeyDictionary[Engine, sessionmaker] = WeakKeyDictionary()
_LOCK = threading.Lock()


def read_sessions(system) -> sessionmaker:
    """A sessionmaker for reads; never write through it."""
    if system.db.dialect.name != "sqlite" or system.db.url.database in (None, "", ":memory:"):
        return system.sessions  # PostgreSQL readers never wait; an in-memory database cannot be shared
    maker = _READERS.get(system.db)
    if maker is not None:
        return maker
    with _LOCK:
        maker = _READERS.get(system.db)
        if maker is not None:
            return maker
        engine = create_engine(system.db.url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _reader_pragmas)
        event.listen(engine, "begin", _begin)
        maker = _READERS[system.db] = sessionmaker(bind=engine, expire_on_commit=False)
    return maker


def _begin(conn) -> None:
    # on the driver's connection: through ``exec_driver_sql`` a BEGIN costs a whole statement execution
    conn.connection.dbapi_connection.execute("BEGIN")


def _reader_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event emits BEGIN itself
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()
