"""Image archives: `load` and `save` of docker-archive, oci-archive and oci-dir.

Vocabulary:
  docker-archive  a tar with `manifest.json` ([{Config, RepoTags, Layers}]), one config JSON
                  per image and one tar per layer (uncompressed as written by docker/podman;
                  compressed layers are accepted on load).
  oci-archive     a tar of an OCI image layout: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`.
  oci-dir         the same layout as a directory.

Loading reads the archive once per layer: each layer member streams through the blob
ingest, the decompressor, the diff-ID hash and the unpacker together
(`LayerStore.apply`). Everything is verified (manifest, config and layer digests, diff IDs)
before any image is recorded; on failure the caller garbage-collects what was committed.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import tarfile
import tempfile

from otter import jsoncodec
from otter.errors import CorruptContent, InvalidArgument
from otter.image.content import ContentStore
from otter.image.digest import Digest, HashingReader, TeeReader
from otter.image.reference import is_tag_only, parse_normalized
from otter.image.store import ImageRecord, ImageStore
from otter.image.tarwriter import TarWriter
from otter.record import record
from otter.spec import image as oci
from otter.spec.wire import from_json, load_json, to_json
from otter.storage.compression import PeekReader, decompressing_reader, detect
from otter.storage.layers import Layer, chain_id

_HEX64 = re.compile(r"([a-f0-9]{64})")
SPOOL_CHUNK = 1 << 20


@record
class PendingImage:
    """An image whose content is committed but which is not recorded yet."""

    manifest_digest: Digest
    manifest_type: str
    config: oci.ImageConfig
    config_digest: Digest
    top_layer: str | None
    size: int
    blobs: list[str]
    names: list[str]


def canonical_json(obj) -> bytes:
    return jsoncodec.dumps(obj, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------
# load


def open_archive(stream, tmp_dir: str) -> tuple[tarfile.TarFile, object]:
    """Open an archive for random access. A compressed or unseekable input is first spooled,
    decompressed, into a temporary file under the store (returned so the caller deletes it)."""
    seekable = False
    try:
        seekable = stream.seekable() and os.fstat(stream.fileno()).st_size > 0 and \
            os.path.isfile(f"/proc/self/fd/{stream.fileno()}")
    except (OSError, AttributeError, ValueError):
        seekable = False
    if seekable:
        head = PeekReader(stream).peek(4)
        stream.seek(0)
        if detect(PeekReader(_Prefixed(head))) == "none":
            try:
                return tarfile.open(fileobj=stream, mode="r:"), None
            except tarfile.TarError as e:
                raise CorruptContent(f"invalid archive: {e}") from None
    os.makedirs(tmp_dir, mode=0o700, exist_ok=True)
    spool = tempfile.TemporaryFile(dir=tmp_dir)
    _, reader = decompressing_reader(stream)
    while chunk := reader.read(SPOOL_CHUNK):
        spool.write(chunk)
    spool.seek(0)
    try:
        return tarfile.open(fileobj=spool, mode="r:"), spool
    except tarfile.TarError as e:
        spool.close()
        raise CorruptContent(f"invalid archive: {e}") from None


class _Prefixed:
    def __init__(self, data: bytes):
        self._data = data

    def read(self, n: int = -1) -> bytes:
        data, self._data = (self._data, b"") if n < 0 else (self._data[:n], self._data[n:])
        return data


class _Archive:
    """Random access to members of a tar archive by normalised path (symlinks followed)."""

    def __init__(self, tar: tarfile.TarFile):
        self.tar = tar
        self.members = {posixpath.normpath(m.name.lstrip("./") or "."): m for m in tar.getmembers()}

    def member(self, name: str) -> tarfile.TarInfo:
        path = posixpath.normpath(name.lstrip("./"))
        for _ in range(16):
            m = self.members.get(path)
            if m is None:
                raise CorruptContent(f"archive is missing {name!r}")
            if not m.issym():
                if not m.isreg():
                    raise CorruptContent(f"archive entry {name!r} is not a file")
                return m
            path = posixpath.normpath(posixpath.join(posixpath.dirname(path), m.linkname))
        raise CorruptContent(f"archive entry {name!r}: too many symbolic links")

    def has(self, name: str) -> bool:
        return posixpath.normpath(name) in self.members

    def open(self, name: str):
        return self.tar.extractfile(self.member(name))

    @property
    def fileno(self) -> int:
        """The archive's file descriptor (always a real file: see `open_archive`)."""
        return self.tar.fileobj.fileno()

    def read(self, name: str, limit: int = 64 << 20) -> bytes:
        m = self.member(name)
        if m.size > limit:
            raise CorruptContent(f"archive entry {name!r} is implausibly large ({m.size} bytes)")
        data = self.tar.extractfile(m).read()
        if len(data) != m.size:
            raise CorruptContent(f"archive entry {name!r} is truncated")
        return data


class Loader:
    def __init__(self, store: ImageStore):
        self.store = store
        self.content: ContentStore = store.content

    def load(self, stream, tmp_dir: str) -> list[PendingImage]:
        tar, spool = open_archive(stream, tmp_dir)
        try:
            archive = _Archive(tar)
            if archive.has("manifest.json"):
                return self._load_docker(archive)
            if archive.has("index.json") and archive.has("oci-layout"):
                return self._load_oci(archive)
            raise CorruptContent("payload does not match any of the supported image formats (oci-archive, docker-archive)")
        except (tarfile.TarError, EOFError) as e:
            raise CorruptContent(f"invalid archive: {e}") from None
        finally:
            tar.close()
            if spool is not None:
                spool.close()

    # -- layers ---------------------------------------------------------------------------
    def _layer(self, parent: Layer | None, archive: "_Archive", name: str, diff_id: str,
               expected_blob: Digest | None) -> tuple[Layer, Digest, str]:
        """Unpack the layer member `name` and store it as a blob. Returns (layer, blob digest,
        compression).

        An uncompressed member's blob digest is its diff ID, which the unpack pass hashes: the
        blob is then copied kernel-side from the archive (no second pass through Python). A
        compressed member streams once through the blob ingest, the decompressor and the
        unpacker together."""
        member = archive.member(name)
        wanted = self.store.layers.get(chain_id(parent.id if parent else None, diff_id))
        if detect(PeekReader(archive.open(name))) == "none":
            if expected_blob is not None and str(expected_blob) != diff_id:
                raise CorruptContent(f"layer {expected_blob} is uncompressed but its diff ID is {diff_id}")
            blob = Digest.parse(diff_id)
            if wanted is not None and self.content.exists(blob):
                return wanted, blob, "none"
            if wanted is None:
                wanted, _ = self.store.layers.apply(parent, archive.open(name), expected_diff_id=diff_id)
            else:
                self._verify_only(archive.open(name), diff_id)
            if not self.content.exists(blob):
                with self.content.ingest(expected_size=member.size) as ingest:
                    ingest.copy_range(archive.fileno, member.offset_data, member.size)
                    ingest.commit(vouched=blob)
            return wanted, blob, "none"
        with self.content.ingest(expected=expected_blob) as ingest:
            reader = archive.open(name)
            if wanted is None:
                wanted, compression = self.store.layers.apply(parent, reader, expected_diff_id=diff_id,
                                                              raw_sink=ingest)
            else:
                compression = self._verify_only(TeeReader(reader, ingest), diff_id)
            blob = ingest.digest
            if not self.content.exists(blob):
                ingest.commit()
        return wanted, blob, compression

    @staticmethod
    def _verify_only(reader, diff_id: str) -> str:
        compression, plain = decompressing_reader(reader)
        hashed = HashingReader(plain)
        hashed.drain()
        if str(hashed.digest) != diff_id:
            raise CorruptContent(f"layer content does not match its digest: expected {diff_id}, got {hashed.digest}")
        return compression

    # -- docker-archive ------------------------------------------------------------------
    def _load_docker(self, archive: _Archive) -> list[PendingImage]:
        entries = load_json(archive.read("manifest.json"), "manifest.json")
        if not isinstance(entries, list) or not entries:
            raise CorruptContent("manifest.json lists no images")
        out = []
        for entry in entries:
            try:
                config_name, layer_names = entry["Config"], list(entry["Layers"])
            except (KeyError, TypeError):
                raise CorruptContent("manifest.json entry lacks Config or Layers") from None
            config_bytes = archive.read(config_name)
            config_digest = Digest.of_bytes(config_bytes)
            m = _HEX64.search(posixpath.basename(config_name))
            if m and m.group(1) != config_digest.hex:
                raise CorruptContent(f"config {config_name} does not match its digest ({config_digest})")
            config = self._config(config_bytes)
            diff_ids = list(config.rootfs.diff_ids)
            if len(diff_ids) != len(layer_names):
                raise CorruptContent(f"image config lists {len(diff_ids)} layers but manifest.json lists {len(layer_names)}")
            parent = None
            descriptors = []
            size = 0
            for name, diff_id in zip(layer_names, diff_ids):
                parent, blob, compression = self._layer(parent, archive, name, diff_id, None)
                descriptors.append(oci.Descriptor(oci.layer_media_type("docker", compression), str(blob),
                                                  self.content.size(blob)))
                size += parent.size
            self.content.put(config_bytes)
            manifest = oci.Manifest(media_type=oci.DOCKER_MANIFEST,
                                    config=oci.Descriptor(oci.DOCKER_CONFIG, str(config_digest), len(config_bytes)),
                                    layers=tuple(descriptors))
            manifest_digest = self.content.put(canonical_json(to_json(manifest)))
            names = [str(parse_normalized(t).with_default_tag()) for t in entry.get("RepoTags") or []]
            out.append(PendingImage(manifest_digest, oci.DOCKER_MANIFEST, config, config_digest,
                                    parent.id if parent else None, size,
                                    [str(manifest_digest), str(config_digest)] + [d.digest for d in descriptors], names))
        return out

    @staticmethod
    def _config(data: bytes) -> oci.ImageConfig:
        doc = load_json(data, "image config")
        if not isinstance(doc, dict) or not isinstance(doc.get("rootfs"), dict):
            raise CorruptContent("image config has no rootfs section")
        return from_json(oci.ImageConfig, doc)

    # -- oci-archive -----------------------------------------------------------------------
    def _blob_bytes(self, archive: _Archive, desc: oci.Descriptor) -> bytes:
        digest = Digest.parse(desc.digest)
        data = archive.read(f"blobs/{digest.algorithm}/{digest.hex}")
        if Digest.of_bytes(data) != digest:
            raise CorruptContent(f"blob {digest} does not match its digest")
        return data

    def _load_oci(self, archive: _Archive) -> list[PendingImage]:
        index = from_json(oci.Index, load_json(archive.read("index.json"), "index.json"))
        out = []
        for desc in index.manifests:
            name = desc.annotations.get(oci.REF_NAME_ANNOTATION)
            if desc.media_type in oci.INDEX_TYPES:
                desc = self._pick_platform(archive, desc)
            out.append(self._load_oci_manifest(archive, desc, name))
        if not out:
            raise CorruptContent("index.json lists no images")
        return out

    def _pick_platform(self, archive: _Archive, desc: oci.Descriptor) -> oci.Descriptor:
        from otter.image.platform import host_platform, matches
        nested = from_json(oci.Index, load_json(self._blob_bytes(archive, desc), "image index"))
        want = host_platform()
        for d in nested.manifests:
            if d.platform is None or matches(d.platform, want):
                return d
        raise CorruptContent(f"no image in the archive's index matches platform {want.os}/{want.architecture}")

    def _load_oci_manifest(self, archive: _Archive, desc: oci.Descriptor, name: str | None) -> PendingImage:
        manifest_bytes = self._blob_bytes(archive, desc)
        doc = load_json(manifest_bytes, "manifest")
        manifest = from_json(oci.Manifest, doc)
        media_type = doc.get("mediaType") or desc.media_type or oci.OCI_MANIFEST
        if media_type not in oci.MANIFEST_TYPES:
            raise CorruptContent(f"unsupported manifest type {media_type!r}")
        config_bytes = self._blob_bytes(archive, manifest.config)
        config = self._config(config_bytes)
        diff_ids = list(config.rootfs.diff_ids)
        if len(diff_ids) != len(manifest.layers):
            raise CorruptContent(f"image config lists {len(diff_ids)} layers but the manifest lists {len(manifest.layers)}")
        parent = None
        size = 0
        for layer_desc, diff_id in zip(manifest.layers, diff_ids):
            blob = Digest.parse(layer_desc.digest)
            parent, _, _ = self._layer(parent, archive, f"blobs/{blob.algorithm}/{blob.hex}", diff_id, blob)
            size += parent.size
        config_digest = self.content.put(config_bytes)
        manifest_digest = self.content.put(manifest_bytes)
        names = []
        if name and not is_tag_only(name):
            names.append(str(parse_normalized(name).with_default_tag()))
        return PendingImage(manifest_digest, media_type, config, config_digest, parent.id if parent else None, size,
                            [str(manifest_digest), str(config_digest)] + [d.digest for d in manifest.layers], names)


def record(store: ImageStore, pending: list[PendingImage]) -> list[ImageRecord]:
    return [store.add(p.manifest_digest, p.manifest_type, p.config, p.config_digest, p.top_layer, p.size,
                      p.blobs, p.names) for p in pending]


# ---------------------------------------------------------------------------------------
# save

SAVE_FORMATS = ("docker-archive", "oci-archive", "oci-dir")


def _to_oci_manifest(manifest: oci.Manifest) -> oci.Manifest:
    def convert(d: oci.Descriptor, kind: str) -> oci.Descriptor:
        if kind == "config":
            mt = oci.OCI_CONFIG
        else:
            mt = oci.layer_media_type("oci", oci.layer_compression(d.media_type))
        return oci.Descriptor(mt, d.digest, d.size, d.annotations)
    return oci.Manifest(media_type=oci.OCI_MANIFEST, config=convert(manifest.config, "config"),
                        layers=tuple(convert(d, "layer") for d in manifest.layers), annotations=manifest.annotations)


class Saver:
    def __init__(self, store: ImageStore):
        self.store = store
        self.content = store.content

    def save_docker(self, fd: int, images: list[tuple[ImageRecord, list[str]]]) -> None:
        """Write a docker-archive with each (image, names) pair; layers uncompressed."""
        out = TarWriter(fd)
        entries = []
        repositories: dict[str, dict[str, str]] = {}
        written: set[str] = set()
        for rec, names in images:
            manifest = self.store.manifest(rec)
            chain = list(reversed(self.store.layers.chain(rec.top_layer)))
            layer_files = []
            for desc, layer in zip(manifest.layers, chain):
                fname = layer.diff_id.split(":", 1)[1] + ".tar"
                layer_files.append(fname)
                if fname in written:
                    continue
                written.add(fname)
                blob = Digest.parse(desc.digest)
                if oci.layer_compression(desc.media_type) == "none":
                    out.add_file(fname, self.content.path(blob))
                else:
                    with self.content.open(blob) as f:
                        _, plain = decompressing_reader(f)
                        out.add_stream(fname, plain, layer.size)
            config_name = rec.id + ".json"
            if config_name not in written:
                written.add(config_name)
                out.add_file(config_name, self.content.path(rec.config_digest))
            entries.append({"Config": config_name, "RepoTags": names, "Layers": layer_files})
            for name in names:
                repo, tag = name.rsplit(":", 1)
                repositories.setdefault(repo, {})[tag] = layer_files[-1][:-4] if layer_files else rec.id
        out.add_bytes("manifest.json", canonical_json(entries))
        out.add_bytes("repositories", canonical_json(repositories))
        out.close()

    def _oci_layout(self, images: list[tuple[ImageRecord, list[str]]], put_blob, put_bytes) -> None:
        descriptors = []
        for rec, names in images:
            manifest = self.store.manifest(rec)
            if rec.manifest_type == oci.OCI_MANIFEST:
                manifest_bytes = self.content.read(Digest.parse(rec.digest))
            else:
                manifest = _to_oci_manifest(manifest)
                manifest_bytes = canonical_json(to_json(manifest))
            for d in (manifest.config,) + tuple(manifest.layers):
                put_blob(Digest.parse(d.digest))
            mdigest = Digest.of_bytes(manifest_bytes)
            put_bytes(f"blobs/sha256/{mdigest.hex}", manifest_bytes)
            for name in names or [None]:
                annotations = {oci.REF_NAME_ANNOTATION: name} if name else {}
                descriptors.append(oci.Descriptor(oci.OCI_MANIFEST, str(mdigest), len(manifest_bytes), annotations))
        put_bytes("oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"}))
        put_bytes("index.json", canonical_json(to_json(oci.Index(manifests=tuple(descriptors)))))

    def save_oci_archive(self, fd: int, images: list[tuple[ImageRecord, list[str]]]) -> None:
        out = TarWriter(fd)
        written: set[str] = set()

        def put_blob(d: Digest) -> None:
            name = f"blobs/{d.algorithm}/{d.hex}"
            if name not in written:
                written.add(name)
                out.add_file(name, self.content.path(d))

        def put_bytes(name: str, data: bytes) -> None:
            if name not in written:
                written.add(name)
                out.add_bytes(name, data)

        self._oci_layout(images, put_blob, put_bytes)
        out.close()

    def save_oci_dir(self, directory: str, images: list[tuple[ImageRecord, list[str]]]) -> None:
        def put_blob(d: Digest) -> None:
            target = os.path.join(directory, "blobs", d.algorithm, d.hex)
            if not os.path.exists(target):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(self.content.path(d), target)

        def put_bytes(name: str, data: bytes) -> None:
            target = os.path.join(directory, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(data)

        self._oci_layout(images, put_blob, put_bytes)


def check_format(fmt: str) -> str:
    if fmt not in SAVE_FORMATS:
        raise InvalidArgument(f"unsupported format {fmt!r}: use one of {', '.join(SAVE_FORMATS)}")
    return fmt
