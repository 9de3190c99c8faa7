"""ImageStore: images, their names, and garbage collection of what they no longer need.

Vocabulary:
  image     a manifest + config (+ layers) recorded under its ID, the hex digest of its
            config. An image may have several names, or none (a *dangling* image).
  name      a full reference `domain/path:tag` pointing at one image; a name moves when a
            new image takes it, leaving the old image dangling.
  blobs     the content-store digests an image needs (manifest, config, layer blobs);
            anything no image needs is deleted by `gc`.

The manifest and config blobs are stored verbatim, so the image digest and ID stay exactly
what the archive or registry said. Writers hold the store lock (`ImageStore.lock`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property

from otter import jsoncodec
from otter.db import Database
from otter.errors import ImageNotFound, InvalidArgument
from otter.record import TYPE_CHECKING, field, record

if TYPE_CHECKING:
    from otter.image.content import ContentStore
    from otter.image.digest import Digest
    from otter.spec.image import ImageConfig, Manifest
    from otter.storage.layers import LayerStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id            TEXT PRIMARY KEY,   -- hex digest of the config blob
    digest        TEXT NOT NULL,      -- manifest digest, "sha256:<hex>"
    manifest_type TEXT NOT NULL,
    top_layer     TEXT,               -- chain ID of the topmost layer, NULL without layers
    created       REAL NOT NULL,      -- from the config, seconds since the epoch
    size          INTEGER NOT NULL,   -- uncompressed bytes of all layers
    labels        TEXT NOT NULL,      -- JSON object, for --filter label=
    blobs         TEXT NOT NULL,      -- JSON list of the digests this image needs
    added         REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS image_names (
    name     TEXT PRIMARY KEY,        -- full reference, e.g. localhost/busybox:latest
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    added    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS image_names_by_image ON image_names(image_id);
"""


def parse_time(text: str | None) -> float:
    from datetime import datetime
    if not text:
        return 0.0
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


@record
class ImageRecord:
    id: str
    digest: str
    manifest_type: str
    top_layer: str | None
    created: float
    size: int
    names: tuple[str, ...]
    labels: dict = field(default_factory=dict)
    blobs: tuple[str, ...] = ()

    @property
    def dangling(self) -> bool:
        return not self.names

    @property
    def config_digest(self) -> "Digest":
        from otter.image.digest import Digest
        return Digest("sha256", self.id)


class ImageStore:
    """`content` and `layers` are factories: listing images needs neither, and start-up
    time matters more than symmetry here."""

    def __init__(self, db: Database, content: Callable[[], "ContentStore"], layers: Callable[[], "LayerStore"]):
        self.db = db
        self._content_factory = content
        self._layers_factory = layers
        db.ensure_schema("images", SCHEMA)

    @cached_property
    def content(self) -> "ContentStore":
        return self._content_factory()

    @cached_property
    def layers(self) -> "LayerStore":
        return self._layers_factory()

    # -- reading ----------------------------------------------------------------------
    def list(self) -> list[ImageRecord]:
        conn = self.db.connection()
        names: dict[str, list[str]] = {}
        for row in conn.execute("SELECT name, image_id FROM image_names ORDER BY added, name"):
            names.setdefault(row["image_id"], []).append(row["name"])
        return [self._record(row, names.get(row["id"], [])) for row in conn.execute("SELECT * FROM images")]

    def get(self, image_id: str) -> ImageRecord | None:
        conn = self.db.connection()
        row = conn.execute("SELECT * FROM images WHERE id=?", (image_id,)).fetchone()
        if row is None:
            return None
        names = [r["name"] for r in conn.execute(
            "SELECT name FROM image_names WHERE image_id=? ORDER BY added, name", (image_id,))]
        return self._record(row, names)

    @staticmethod
    def _record(row, names: list[str]) -> ImageRecord:
        return ImageRecord(row["id"], row["digest"], row["manifest_type"], row["top_layer"], row["created"],
                           row["size"], tuple(names), jsoncodec.loads(row["labels"]), tuple(jsoncodec.loads(row["blobs"])))

    def lookup(self, text: str) -> ImageRecord:
        """Find a stored image by name, short name, name@digest, full ID or unique ID prefix."""
        from otter.image.reference import is_id_prefix, looks_like_id, lookup_candidates, split_name
        conn = self.db.connection()
        if looks_like_id(text):
            rec = self.get(text.removeprefix("sha256:"))
            if rec:
                return rec
        elif is_id_prefix(text):
            rows = conn.execute("SELECT id FROM images WHERE id LIKE ?", (text + "%",)).fetchall()
            if len(rows) == 1:
                return self.get(rows[0]["id"])  # type: ignore[return-value]
            if len(rows) > 1:
                raise InvalidArgument(f"short ID {text!r} is ambiguous: it matches {len(rows)} images")
        try:
            candidates, short = lookup_candidates(text)
        except InvalidArgument:
            raise ImageNotFound(f"{text}: image not known") from None
        for ref in candidates:
            if ref.digest:
                for rec in self.list():
                    if rec.digest == ref.digest and any(split_name(n)[0] == ref.repository for n in rec.names):
                        return rec
                continue
            row = conn.execute("SELECT image_id FROM image_names WHERE name=?", (str(ref),)).fetchone()
            if row:
                return self.get(row["image_id"])  # type: ignore[return-value]
        if short:
            want = str(candidates[0]).removeprefix("localhost/")
            rows = conn.execute("SELECT name, image_id FROM image_names WHERE name LIKE ?",
                                ("%/" + want,)).fetchall()
            ids = {r["image_id"] for r in rows}
            if len(ids) == 1:
                return self.get(ids.pop())  # type: ignore[return-value]
        raise ImageNotFound(f"{text}: image not known")

    def manifest(self, rec: ImageRecord) -> "Manifest":
        from otter.image.digest import Digest
        from otter.spec.image import Manifest
        from otter.spec.wire import from_json
        return from_json(Manifest, jsoncodec.loads(self.content.read(Digest.parse(rec.digest))))

    def config(self, rec: ImageRecord) -> "ImageConfig":
        from otter.spec.image import ImageConfig
        from otter.spec.wire import from_json
        return from_json(ImageConfig, self.config_json(rec))

    def config_json(self, rec: ImageRecord) -> dict:
        return jsoncodec.loads(self.content.read(rec.config_digest))

    def users_of_layers(self) -> set[str]:
        """Chain IDs of every layer some image needs."""
        needed: set[str] = set()
        for rec in self.list():
            needed.update(layer.id for layer in self.layers.chain(rec.top_layer))
        return needed

    # -- writing (caller holds the store lock) ---------------------------------------------
    def add(self, manifest_digest: "Digest", manifest_type: str, config: "ImageConfig", config_digest: "Digest",
            top_layer: str | None, size: int, blobs: list[str], names: list[str]) -> ImageRecord:
        """Record an image whose blobs and layers are already committed, and give it `names`
        (taking them from any image that had them)."""
        labels = (config.config or {}).get("Labels") or {}
        now = time.time()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO images(id, digest, manifest_type, top_layer, created, size, labels, blobs, added) "
                "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET digest=excluded.digest, "
                "manifest_type=excluded.manifest_type, blobs=excluded.blobs",
                (config_digest.hex, str(manifest_digest), manifest_type, top_layer, parse_time(config.created), size,
                 jsoncodec.dumps(labels), jsoncodec.dumps(blobs), now))
            for i, name in enumerate(names):
                conn.execute("INSERT OR REPLACE INTO image_names(name, image_id, added) VALUES (?,?,?)",
                             (name, config_digest.hex, now + i * 1e-6))
        return self.get(config_digest.hex)  # type: ignore[return-value]

    def tag(self, image_id: str, name: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO image_names(name, image_id, added) VALUES (?,?,?)",
                         (name, image_id, time.time()))

    def untag(self, image_id: str, name: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM image_names WHERE name=? AND image_id=?", (name, image_id)).rowcount > 0

    def delete(self, image_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM images WHERE id=?", (image_id,))

    def gc(self, extra_layers: set[str] = frozenset()) -> None:
        """Delete blobs and layers that no image (and no layer in `extra_layers`) needs."""
        images = self.list()
        needed_blobs = {b for rec in images for b in rec.blobs}
        for digest in self.content.all():
            if str(digest) not in needed_blobs:
                self.content.delete(digest)
        needed_layers = set()
        for top in [rec.top_layer for rec in images] + list(extra_layers):
            needed_layers.update(layer.id for layer in self.layers.chain(top))
        for layer_id in self.layers.all_ids():
            if layer_id not in needed_layers:
                self.layers.remove(layer_id)
