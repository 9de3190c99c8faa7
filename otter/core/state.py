"""ContainerState: container records in the store database.

Key fields are columns (queried, indexed, unique); everything else is a JSON document, as
Podman's SQLite state does. Every read-modify-write runs in one `BEGIN IMMEDIATE`
transaction (`Database.transaction`), so concurrent otter processes never lose an update.
"""

from __future__ import annotations

from otter.db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    image_id  TEXT NOT NULL,          -- hex image ID; may be empty for a scratch rootfs
    state     TEXT NOT NULL,          -- configured|created|running|paused|stopped|exited|removing
    created   REAL NOT NULL,
    config    TEXT NOT NULL,          -- JSON: what the user asked for (immutable)
    runtime   TEXT NOT NULL           -- JSON: pid, exit code, times, mounts (changes with state)
);
CREATE INDEX IF NOT EXISTS containers_by_image ON containers(image_id);
"""


class ContainerState:
    def __init__(self, db: Database):
        self.db = db
        db.ensure_schema("containers", SCHEMA)

    def image_users(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for row in self.db.connection().execute("SELECT id, image_id FROM containers ORDER BY created"):
            out.setdefault(row["image_id"], []).append(row["id"])
        return out

    def volume_users(self) -> dict[str, list[str]]:
        """Volume name -> IDs of the containers whose config mounts it."""
        import json
        out: dict[str, list[str]] = {}
        for row in self.db.connection().execute("SELECT id, config FROM containers ORDER BY created"):
            for m in json.loads(row["config"]).get("Mounts") or []:
                if m.get("Type") == "volume":
                    out.setdefault(m["Name"], []).append(row["id"])
        return out
