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

The connection comes from `_sqlite3`, the C module that `sqlite3` re-exports: the `sqlite3`
package also imports `datetime` for adapters otter never registers (about 1 ms per command).
Other modules take `IntegrityError`, `Row` and `Connection` from here.
"""

from __future__ import annotations

import _sqlite3 as sqlite
import os

from otter.sys.filelock import FileLock

IntegrityError = sqlite.IntegrityError
Row = sqlite.Row
Connection = sqlite.Connection

BUSY_TIMEOUT_S = 30.0


class Database:
    def __init__(self, path: str, lock_path: str):
        self.path = path
        self.lock_path = lock_path
        self._conn: sqlite.Connection | None = None
        self._schemas: set[str] = set()

    @property
    def exists(self) -> bool:
        return self._conn is not None or os.path.exists(self.path)

    def connection(self) -> sqlite.Connection:
        if self._conn is None:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            conn = sqlite.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.row_factory = Row
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

    def transaction(self) -> Transaction:
        """`with db.transaction() as conn:`: the body runs inside BEGIN IMMEDIATE ... COMMIT,
        rolled back if it raises."""
        return Transaction(self.connection(), self.lock_path)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Transaction:
    """One write transaction: the writers' flock, then BEGIN IMMEDIATE; COMMIT on a clean exit,
    ROLLBACK on an exception (which then propagates)."""

    __slots__ = ("_conn", "_lock")

    def __init__(self, conn: sqlite.Connection, lock_path: str):
        self._conn = conn
        self._lock = FileLock(lock_path)

    def __enter__(self) -> sqlite.Connection:
        self._lock.__enter__()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self._conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self._lock.__exit__(None, None, None)
