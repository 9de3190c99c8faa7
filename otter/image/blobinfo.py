"""What the store knows about blobs beyond its own content: compressed variants and where
registries hold them (containers/image calls this the blob-info cache).

Vocabulary:
  variant    a compressed form of an uncompressed layer blob: what a push made of it
             (`source` digest + compression -> the compressed blob's digest and size). A later
             push of the same layer asks the registry for that digest before compressing again.
  location   a registry repository known to hold a blob, learnt from a pull or a push. A push
             to another repository of the same registry mounts the blob from there instead of
             uploading it.

The tables live in the store database. Only the calling thread uses them (a push's worker
threads are handed what they need), as sqlite connections stay in their thread.
"""

from __future__ import annotations

import time

from otter.db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS blob_variants (
    source      TEXT NOT NULL,    -- digest of the uncompressed blob
    compression TEXT NOT NULL,    -- "gzip" or "zstd"
    digest      TEXT NOT NULL,    -- digest of the compressed blob
    size        INTEGER NOT NULL,
    PRIMARY KEY (source, compression)
);
CREATE TABLE IF NOT EXISTS blob_locations (
    digest     TEXT NOT NULL,
    registry   TEXT NOT NULL,     -- host[:port] as written in references
    repository TEXT NOT NULL,     -- path inside the registry
    seen       REAL NOT NULL,
    PRIMARY KEY (digest, registry, repository)
);
"""
MOUNT_CANDIDATES = 3


class BlobInfo:
    def __init__(self, db: Database):
        self.db = db
        db.ensure_schema("blobinfo", SCHEMA)

    def variant(self, source: str, compression: str) -> tuple[str, int] | None:
        row = self.db.connection().execute("SELECT digest, size FROM blob_variants WHERE source=? AND compression=?",
                                           (source, compression)).fetchone()
        return (row["digest"], row["size"]) if row else None

    def add_variants(self, variants: list[tuple[str, str, str, int]]) -> None:
        """Record (source, compression, digest, size) tuples."""
        with self.db.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO blob_variants(source, compression, digest, size) "
                             "VALUES (?,?,?,?)", variants)

    def locations(self, digest: str, registry: str, exclude: str) -> list[str]:
        """Repositories of `registry` other than `exclude` known to hold `digest`, newest first."""
        rows = self.db.connection().execute(
            "SELECT repository FROM blob_locations WHERE digest=? AND registry=? AND repository<>? "
            "ORDER BY seen DESC LIMIT ?", (digest, registry, exclude, MOUNT_CANDIDATES))
        return [r["repository"] for r in rows]

    def add_locations(self, registry: str, repository: str, digests: list[str]) -> None:
        now = time.time()
        with self.db.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO blob_locations(digest, registry, repository, seen) "
                             "VALUES (?,?,?,?)", [(d, registry, repository, now) for d in digests])
