"""The per-store SQLite database.

One database file per store (`StorePaths.database`), opened in WAL mode so readers never block
writers. Every read-modify-write runs inside `transaction()`, which starts with
`BEGIN IMMEDIATE`: a writer takes the write lock up front instead of upgrading later, which is
what deadlocks concurrent CLI processes. Each layer that keeps records here owns its tables
and creates them with `CREATE TABLE IF NOT EXISTS` through `ensure_schema`.

Writers first queue on a flock (`StorePaths.database_lock`), then begin. Why: SQLite's own
busy handler polls, sleeping up to 100 ms between tries, so with 20 otter processes starting
containers at once most of the wall time was sleeping on a lock that was already free; the
kernel wakes a flock waiter as soon as the holder is done.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator

from otter.sys.filelock import FileLock

BUSY_TIMEOUT_S = 30.0


class Database:
    def __init__(self, path: str, lock_path: str):
        self.path = path
        self.lock_path = lock_path
        self._conn: sqlite3.Connection | None = None
        self._schemas: set[str] = set()

    @property
    def exists(self) -> bool:
        return self._conn is not None or os.path.exists(self.path)

    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._conn = conn
        return self._conn

    def ensure_schema(self, name: str, ddl: str) -> None:
        """Run `ddl` (idempotent CREATE ... IF NOT EXISTS statements) once per process."""
        if name in self._schemas:
            return
        self.connection().executescript(ddl)
        self._schemas.add(name)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        with FileLock(self.lock_path):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
