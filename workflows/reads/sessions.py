"""Sessions for read-only use cases that do not queue behind writers.

On SQLite every write transaction of ``System.sessions`` takes the writers' queue and ``BEGIN
IMMEDIATE``. Reads (the API's lists, case pages, token lookups, Open311, the big screen, the exports)
go through ``System.reads()`` instead: the engine's ``make_read_sessionmaker``, a deferred ``BEGIN``
on the same pool (WAL: one consistent snapshot, no lock, never waiting for a writer), refusing any
write statement. On PostgreSQL the same sessions are plain MVCC readers.
"""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker


def read_sessions(system) -> sessionmaker:
    """A sessionmaker for reads (``system.reads`` is one session of it); never write through it."""
    if system.read_sessions is None:
        system.reads().close()  # builds the read sessionmaker
    return system.read_sessions
