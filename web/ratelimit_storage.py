"""Rate-limit counters in a small SQLite file, so every worker process of one installation counts
against the same budget without a separate server.

Importing this module registers the ``sqlite`` scheme with the ``limits`` library:
``sqlite:////abs/path/ratelimits.sqlite`` (the instance folder's file is the default; set
GRIDLINK_RATELIMIT_STORAGE to a ``redis://`` or ``memcached://`` URI to use those instead).
It supports the fixed-window strategy, Flask-Limiter's default. Each increment is one short
``BEGIN IMMEDIATE`` transaction, so concurrent workers never lose a count.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from urllib.parse import unquote, urlsplit

from limits.storage import Storage

SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS counters_expires_at ON counters (expires_at);
"""


class SQLiteStorage(Storage):
    """Fixed-window counters in one SQLite file shared by the installation's processes."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = path_of(uri)
        self._local = threading.local()
        self._pid = os.getpid()
        with self._connection() as db:
            db.executescript(SCHEMA)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        """One connection per thread and process (a forked worker opens its own)."""
        if self._pid != os.getpid():
            self._local, self._pid = threading.local(), os.getpid()
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=True)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
            db.execute("INSERT INTO counters (key, value, expires_at) VALUES (?, ?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                       (key, amount, now + expiry))
            value = db.execute("SELECT value FROM counters WHERE key = ?", (key,)).fetchone()[0]
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return int(value)

    def get(self, key: str) -> int:
        row = self._connection().execute("SELECT value FROM counters WHERE key = ? AND expires_at > ?",
                                         (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._connection().execute("SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?",
                                         (key, time.time())).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))


def path_of(uri: str) -> str:
    """The file of ``sqlite:////abs/file`` (or ``sqlite:///relative/file``)."""
    parts = urlsplit(uri)
    path = unquote(parts.path)
    if parts.netloc or not path.strip("/"):
        raise ValueError(f"rate-limit storage {uri!r} names no file; write sqlite:////absolute/path.sqlite")
    return path[1:]
