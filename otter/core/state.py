"""ContainerState: container records in the store database.

Key fields are columns (queried, indexed, unique); everything else is a JSON document, as
Podman's SQLite state does. Every read-modify-write runs in one `BEGIN IMMEDIATE`
transaction (`Database.transaction`), so concurrent otter processes never lose an update;
`transition` is the only way a container's state changes.
"""

from __future__ import annotations

from collections.abc import Callable

from otter import jsoncodec
from otter.db import Database, IntegrityError
from otter.errors import AlreadyExists, ContainerNotFound, InvalidArgument
from otter.record import TYPE_CHECKING

SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    image_id  TEXT NOT NULL,          -- hex image ID
    state     TEXT NOT NULL,          -- core.container.State
    created   REAL NOT NULL,
    config    TEXT NOT NULL,          -- JSON ContainerConfig (immutable but for the name)
    runtime   TEXT NOT NULL           -- JSON RuntimeInfo
);
CREATE INDEX IF NOT EXISTS containers_by_image ON containers(image_id);
"""


if TYPE_CHECKING:
    from otter.core.container import Container


def _row(row) -> "Container":
    # Imported here: listing images asks this module for image users and should not pay
    # for the container model.
    from otter.core.container import Container, ContainerConfig, RuntimeInfo
    return Container(ContainerConfig.from_json(jsoncodec.loads(row["config"])), row["state"],
                     RuntimeInfo.from_json(jsoncodec.loads(row["runtime"])))


class ContainerState:
    def __init__(self, db: Database):
        self.db = db
        db.ensure_schema("containers", SCHEMA)

    def add(self, ctr: "Container") -> None:
        try:
            with self.db.transaction() as conn:
                conn.execute("INSERT INTO containers(id, name, image_id, state, created, config, runtime) "
                             "VALUES (?,?,?,?,?,?,?)",
                             (ctr.id, ctr.name, ctr.config.image_id, ctr.state, ctr.config.created,
                              jsoncodec.dumps(ctr.config.to_json()), jsoncodec.dumps(ctr.runtime.to_json())))
        except IntegrityError:
            raise self._name_taken(ctr.name) from None

    def _name_taken(self, name: str) -> AlreadyExists:
        row = self.db.connection().execute("SELECT id FROM containers WHERE name=?", (name,)).fetchone()
        owner = row["id"] if row else "another container"
        return AlreadyExists(f"the container name \"{name}\" is already in use by {owner}. "
                             "You have to remove that container to be able to reuse that name: that name is already in use")

    def name_taken(self, name: str) -> bool:
        return self.db.connection().execute("SELECT 1 FROM containers WHERE name=?", (name,)).fetchone() is not None

    def get(self, container_id: str) -> "Container | None":
        row = self.db.connection().execute("SELECT * FROM containers WHERE id=?", (container_id,)).fetchone()
        return _row(row) if row else None

    def find(self, text: str) -> "Container":
        """By full ID, name, or unique ID prefix (Podman's lookup order)."""
        conn = self.db.connection()
        row = conn.execute("SELECT * FROM containers WHERE id=? OR name=?", (text, text)).fetchone()
        if row:
            return _row(row)
        if text and all(c in "0123456789abcdef" for c in text):
            rows = conn.execute("SELECT * FROM containers WHERE id LIKE ?", (text + "%",)).fetchall()
            if len(rows) == 1:
                return _row(rows[0])
            if len(rows) > 1:
                raise InvalidArgument(f"more than one result for container ID {text!r}: ambiguous")
        raise ContainerNotFound(f"no container with name or ID \"{text}\" found: no such container")

    def list(self) -> list["Container"]:
        return [_row(r) for r in self.db.connection().execute("SELECT * FROM containers ORDER BY created")]

    def transition(self, container_id: str, change: Callable[["Container"], "Container"]) -> "Container":
        """Atomically read a container, apply `change` (which may raise), and store the result."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM containers WHERE id=?", (container_id,)).fetchone()
            if row is None:
                raise ContainerNotFound(f"no container with ID \"{container_id}\" found: no such container")
            new = change(_row(row))
            conn.execute("UPDATE containers SET state=?, runtime=? WHERE id=?",
                         (new.state, jsoncodec.dumps(new.runtime.to_json()), container_id))
        return new

    def rename(self, container_id: str, name: str) -> None:
        try:
            with self.db.transaction() as conn:
                row = conn.execute("SELECT config FROM containers WHERE id=?", (container_id,)).fetchone()
                if row is None:
                    raise ContainerNotFound(f"no container with ID \"{container_id}\" found: no such container")
                config = jsoncodec.loads(row["config"])
                config["name"] = name
                conn.execute("UPDATE containers SET name=?, config=? WHERE id=?",
                             (name, jsoncodec.dumps(config), container_id))
        except IntegrityError:
            raise self._name_taken(name) from None

    def remove(self, container_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM containers WHERE id=?", (container_id,))

    def image_users(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for row in self.db.connection().execute("SELECT id, image_id FROM containers ORDER BY created"):
            out.setdefault(row["image_id"], []).append(row["id"])
        return out

    def volume_users(self) -> dict[str, list[str]]:
        """Volume name -> IDs of the containers whose config mounts it."""
        out: dict[str, list[str]] = {}
        for row in self.db.connection().execute("SELECT id, config FROM containers ORDER BY created"):
            for m in jsoncodec.loads(row["config"]).get("Mounts") or []:
                if m.get("Type") == "volume":
                    out.setdefault(m["Name"], []).append(row["id"])
        return out
