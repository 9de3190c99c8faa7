"""LayerStore: the records of committed layers and the one-pass unpack pipeline.

Vocabulary:
  diff ID    sha256 of a layer's *uncompressed* tar; what an image config lists in
             `rootfs.diff_ids`.
  chain ID   the identity of a layer *in its stack*: ChainID(L0) = DiffID(L0),
             ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). Two images that share
             their first n layers share those n layer directories. A layer's ID is its chain ID.
  apply      read a (possibly compressed) layer stream once: optionally copy the raw bytes
             to a blob ingest, decompress, hash the uncompressed bytes for the diff ID and
             unpack into a staging directory; commit only when the diff ID is what was expected.

Records live in the store database (table `layers`); the files live in a `Snapshotter`.
Callers hold the store lock while applying or removing layers.
"""

from __future__ import annotations

import time

from otter.db import Database
from otter.errors import CorruptContent, InvalidArgument
from otter.record import TYPE_CHECKING, record

if TYPE_CHECKING:
    from otter.storage.snapshot import Snapshotter

SCHEMA = """
CREATE TABLE IF NOT EXISTS layers (
    id      TEXT PRIMARY KEY,   -- chain ID, "sha256:<hex>"
    parent  TEXT,               -- chain ID of the layer below, NULL for a base layer
    diff_id TEXT NOT NULL,
    size    INTEGER NOT NULL,   -- bytes of the uncompressed layer tar
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def chain_id(parent: str | None, diff_id: str) -> str:
    import hashlib
    if parent is None:
        return diff_id
    return "sha256:" + hashlib.sha256(f"{parent} {diff_id}".encode()).hexdigest()


def layer_key(layer_id: str) -> str:
    """The directory name of a layer: the hex part of its chain ID."""
    return layer_id.split(":", 1)[1]


@record
class Layer:
    id: str
    parent: str | None
    diff_id: str
    size: int


class LayerStore:
    def __init__(self, db: Database, snapshotter: "Snapshotter"):
        self.db = db
        self.snapshotter = snapshotter
        db.ensure_schema("layers", SCHEMA)
        self._check_driver()

    def _check_driver(self) -> None:
        """Record the snapshotter's settings in a new store; refuse other settings in an
        existing one (a setting a store has no row for was never set: "")."""
        conn = self.db.connection()
        wanted = self.snapshotter.settings()
        recorded = {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM store_meta")}
        if "driver" not in recorded:
            # One statement, so atomic without a transaction (the caller may be in one).
            conn.execute("INSERT OR IGNORE INTO store_meta(key, value) VALUES "
                         + ",".join("(?, ?)" for _ in wanted), [v for item in wanted.items() for v in item])
            return
        if recorded["driver"] != self.snapshotter.name:
            raise InvalidArgument(
                f"storage driver {self.snapshotter.name!r} requested, but this store was created with "
                f"{recorded['driver']!r}: use --storage-driver {recorded['driver']} or another --root")
        was, now = recorded.get("mount_program", ""), wanted.get("mount_program", "")
        if was != now:
            requested = f"storage option overlay.mount_program={now}" if now else "the kernel overlay"
            if was:
                raise InvalidArgument(f"{requested} requested, but this store was created with overlay.mount_program="
                                      f"{was}: use --storage-opt overlay.mount_program={was} or another --root")
            raise InvalidArgument(f"{requested} requested, but this store was created for the kernel overlay: "
                                  "leave out overlay.mount_program or use another --root")

    def get(self, layer_id: str) -> Layer | None:
        row = self.db.connection().execute("SELECT * FROM layers WHERE id=?", (layer_id,)).fetchone()
        return Layer(row["id"], row["parent"], row["diff_id"], row["size"]) if row else None

    def chain(self, top: str | None) -> list[Layer]:
        """The layers from `top` down to the base layer."""
        out: list[Layer] = []
        while top is not None:
            layer = self.get(top)
            if layer is None:
                raise CorruptContent(f"layer {top} is missing from the store")
            out.append(layer)
            top = layer.parent
        return out

    def chain_keys(self, top: str | None) -> list[str]:
        return [layer_key(layer.id) for layer in self.chain(top)]

    def apply(self, parent: Layer | None, source, expected_diff_id: str | None = None,
              raw_sink=None) -> tuple[Layer, str]:
        """Unpack the layer stream `source` on top of `parent` and commit it.

        `raw_sink` receives the bytes exactly as read (compressed or not), so the caller can
        store the layer blob in the same pass. If the resulting layer already exists, the
        unpacked copy is discarded and the existing record returned. Returns the layer and
        the stream's compression ("none", "gzip", "zstd").
        """
        # The unpack pipeline is imported here: most commands only read layer records.
        from otter.image.digest import HashingReader, TeeReader
        from otter.storage.compression import decompressing_reader
        from otter.storage.unpack import apply_tar
        raw = TeeReader(source, raw_sink) if raw_sink is not None else source
        compression, plain = decompressing_reader(raw)
        hashed = HashingReader(plain)
        parent_key = layer_key(parent.id) if parent else None
        staging = self.snapshotter.stage(parent_key)
        try:
            apply_tar(hashed, self.snapshotter.content_dir(staging), self.snapshotter.apply_options)
            hashed.drain()
            diff_id = str(hashed.digest)
            if expected_diff_id is not None and diff_id != expected_diff_id:
                raise CorruptContent(f"layer content does not match its digest: expected {expected_diff_id}, got {diff_id}")
            layer = Layer(chain_id(parent.id if parent else None, diff_id), parent.id if parent else None,
                          diff_id, hashed.size)
            existing = self.get(layer.id)
            if existing is not None:
                self.snapshotter.discard(staging)
                return existing, compression
            self.snapshotter.commit(staging, layer_key(layer.id))
        except BaseException:
            self.snapshotter.discard(staging)
            raise
        try:
            with self.db.transaction() as conn:
                conn.execute("INSERT INTO layers(id, parent, diff_id, size, created) VALUES (?,?,?,?,?)",
                             (layer.id, layer.parent, layer.diff_id, layer.size, time.time()))
        except BaseException:
            self.snapshotter.remove_layer(layer_key(layer.id))
            raise
        return layer, compression

    def all_ids(self) -> list[str]:
        return [r["id"] for r in self.db.connection().execute("SELECT id FROM layers")]

    def remove(self, layer_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM layers WHERE id=?", (layer_id,))
        self.snapshotter.remove_layer(layer_key(layer_id))
