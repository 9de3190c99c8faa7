"""Registry verbs: pull, push, login, logout.

Vocabulary:
  source       where an image is pulled from: the registry of its reference, or a mirror
               of it (registries configuration); the image is named after the reference
               the user asked for, whichever source served it.
  layer job    one layer of a pull, run on a worker thread (at most PARALLEL at a time). A job
               skips a layer the store has; otherwise it streams the blob from the registry
               through the content-store ingest (bytes kept verbatim), the digest and size
               check, decompression, the diff-ID hash and the unpacker in one pass, never
               holding the layer in memory. The digest is checked as the download ends, before
               the unpacker may commit the layer: a blob that does not match its digest leaves
               neither a blob nor a layer. The first failure cancels the other jobs, and the
               pull garbage-collects whatever was committed for it.
  parent       an overlay layer holds only its own changes, so its jobs run fully in parallel;
               a vfs layer is a copy of its parent plus its changes, so a vfs job whose parent is
               not committed yet first downloads its blob (verified) and unpacks it when the
               parent is there.
  variant      push compresses an uncompressed layer blob on the fly (gzip through isal when it
               is installed, else zlib; zstd with `zstandard`) and remembers the compressed
               digest (`image.blobinfo`), so a later push finds the blob on the registry
               without compressing it again. Compressed layer blobs are pushed as they are.

Every verb takes the Engine (login and logout need no store) and an *Options record and
returns reports; progress goes to a `Progress` the front end chooses.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

from otter.engine.context import Engine
from otter.engine.events import emit
from otter.engine.images import _writing
from otter.engine.progress import Progress
from otter.errors import CorruptContent, InvalidArgument, OtterError, RegistryError, Unauthorized
from otter.image.digest import Digest
from otter.image.reference import Reference
from otter.image.registries_conf import RegistriesConf, Source
from otter.image.registry import ClientOptions, Registry
from otter.image.store import ImageRecord
from otter.record import record
from otter.spec import image as oci
from otter.storage.layers import Layer, LayerStore, chain_id

PARALLEL = 3                      # layer jobs at once: 2 cores here; a third hides network waits
COPY_CHUNK = 1 << 20
INDEPENDENT_LAYERS = ("overlay",)  # snapshotters whose layers do not need their parent's files
GZIP_LEVEL = 1                    # throughput first: isal -1 compresses at ~270 MB/s here, zlib -6 at 23
ZSTD_LEVEL = 3


@record
class RegistryOptions:
    """The flags every registry command shares (see `image.registry.ClientOptions`)."""

    tls_verify: bool | None = None
    cert_dir: str | None = None
    authfile: str | None = None
    creds: str | None = None          # "USERNAME[:PASSWORD]"
    retry: int = 3
    retry_delay: float | None = None
    registries_conf: str | None = None

    def client(self) -> ClientOptions:
        from otter.image.auth import parse_creds
        if self.retry < 0:
            raise InvalidArgument("--retry must not be negative")
        return ClientOptions(self.tls_verify, self.cert_dir, self.authfile,
                             parse_creds(self.creds) if self.creds else None, self.retry, self.retry_delay)


DEFAULTS = RegistryOptions()
QUIET = Progress()


def _registry(source: Source, opts: ClientOptions, actions: str = "pull") -> Registry:
    return Registry(source.reference.domain, opts, source.insecure, actions)


# -- pull -------------------------------------------------------------------------------------

@record
class PullOptions:
    reference: str
    all_tags: bool = False
    platform: str | None = None       # "os/arch[/variant]"
    arch: str | None = None
    os: str | None = None
    variant: str | None = None
    registry: RegistryOptions = RegistryOptions()


def wanted_platform(opts: PullOptions) -> oci.Platform:
    from otter.image.platform import host_platform
    host = host_platform()
    if opts.platform:
        if opts.arch or opts.os or opts.variant:
            raise InvalidArgument("--platform cannot be used together with --arch, --os or --variant")
        parts = opts.platform.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidArgument(f"invalid platform {opts.platform!r}: use OS/ARCH[/VARIANT]")
        return oci.Platform(parts[1], parts[0], parts[2] if len(parts) == 3 else None)
    if opts.arch is None and opts.os is None and opts.variant is None:
        return host
    arch = opts.arch or host.architecture
    return oci.Platform(arch, opts.os or host.os, opts.variant or (host.variant if arch == host.architecture else None))


def image_pull(eng: Engine, opts: PullOptions, progress: Progress = QUIET) -> list[ImageRecord]:
    """Pull `opts.reference` (every tag of its repository with `all_tags`); returns the images."""
    conf = RegistriesConf.load(opts.registry.registries_conf)
    candidates = conf.resolve(opts.reference)
    if opts.all_tags and (candidates[0].tag or candidates[0].digest):
        raise InvalidArgument("tag or digest can't be used with --all-tags flag")
    want = wanted_platform(opts)
    client_opts = opts.registry.client()
    errors: list[str] = []
    for name in candidates:
        sources = conf.pull_sources(name)
        for source in sources:
            try:
                return _pull_from(eng, _registry(source, client_opts), source.reference, name, opts.all_tags,
                                  want, progress)
            except (RegistryError, CorruptContent) as e:
                if source.mirror:
                    from otter import log
                    log.info(f"pulling from mirror {source.reference.domain} failed, trying the next source: {e}")
                    continue
                if len(candidates) == 1:
                    raise
                errors.append(f"{name}: {e}")
    raise RegistryError("no registry could pull the image: " + "; ".join(errors))


def _pull_from(eng: Engine, client: Registry, source: Reference, name: Reference, all_tags: bool,
               want: oci.Platform, progress: Progress) -> list[ImageRecord]:
    try:
        if all_tags:
            tags = client.list_tags(source.path)
            if not tags:
                raise RegistryError(f"{source.repository} has no tags")
            pairs = [(Reference(source.domain, source.path, t), Reference(name.domain, name.path, t)) for t in tags]
        else:
            pairs = [(source.with_default_tag(), name.with_default_tag())]
        out = []
        for src, dst in pairs:
            progress.message(f"Trying to pull {dst}...")
            out.append(_pull_image(eng, client, src, dst, want, progress))
        return out
    finally:
        client.close()


def _choose(index: oci.Index, want: oci.Platform, where: str) -> oci.Descriptor:
    from otter.image.platform import matches
    for d in index.manifests:
        if d.platform is not None and d.media_type in oci.MANIFEST_TYPES + ("",) and matches(d.platform, want):
            return d
    raise RegistryError(f"choosing an image from manifest list {where}: no image found in manifest list for "
                        f"architecture {want.architecture}, variant {want.variant or ''!r}, OS {want.os}")


def _parse(cls, data: bytes, what: str):
    from otter.spec.wire import decode
    return decode(cls, data, what)


_LAYER_TYPES = {oci.OCI_LAYER, oci.OCI_LAYER_GZIP, oci.OCI_LAYER_ZSTD, oci.DOCKER_LAYER, oci.DOCKER_LAYER_GZIP}


def _pull_image(eng: Engine, client: Registry, source: Reference, name: Reference, want: oci.Platform,
                progress: Progress) -> ImageRecord:
    from otter.image.blobinfo import BlobInfo
    repo = source.path
    fetched = client.get_manifest(repo, source.digest or source.tag)  # type: ignore[arg-type]
    index_fetched = None
    if fetched.media_type in oci.INDEX_TYPES:
        index = _parse(oci.Index, fetched.data, f"the manifest list of {source}")
        chosen = _choose(index, want, str(source))
        index_fetched = fetched
        fetched = client.get_manifest(repo, chosen.digest)
        if fetched.media_type not in oci.MANIFEST_TYPES:
            raise RegistryError(f"{source}: the manifest list points at another list ({fetched.media_type})")
    manifest = _parse(oci.Manifest, fetched.data, f"the manifest of {source}")
    for d in manifest.layers:
        if d.media_type not in _LAYER_TYPES:
            raise RegistryError(f"{source}: unsupported layer type {d.media_type!r}")
    config_digest = Digest.parse(manifest.config.digest)
    if eng.content.exists(config_digest):
        config_bytes = eng.content.read(config_digest)
    else:
        config_bytes = client.get_blob_bytes(repo, manifest.config)
    config = _parse(oci.ImageConfig, config_bytes, f"the image config of {source}")
    diff_ids = list(config.rootfs.diff_ids)
    if len(diff_ids) != len(manifest.layers):
        raise CorruptContent(f"{source}: the image config lists {len(diff_ids)} layers but the manifest "
                             f"{len(manifest.layers)}")
    if index_fetched is None and (config.os, config.architecture) != (want.os, want.architecture):
        from otter import log
        log.warning(f"image platform ({config.os}/{config.architecture}) does not match the expected platform "
                    f"({want.os}/{want.architecture})")
    progress.message("Getting image source signatures")
    with _writing(eng):
        layers = _LayerJobs(eng, client, repo, progress).run(manifest.layers, diff_ids)
        progress.start(str(config_digest), len(config_bytes), "config")
        eng.content.put(config_bytes, expected=config_digest)
        progress.finish(str(config_digest), kind="config")
        progress.message("Writing manifest to image destination")
        manifest_digest = eng.content.put(fetched.data, expected=Digest.parse(fetched.digest))
        blobs = [str(manifest_digest), str(config_digest)] + [d.digest for d in manifest.layers]
        if index_fetched is not None:
            blobs.append(str(eng.content.put(index_fetched.data)))
        image_name = f"{name.repository}@{name.digest}" if name.digest else str(name)
        rec = eng.images.add(manifest_digest, fetched.media_type, config, config_digest,
                             layers[-1].id if layers else None, sum(layer.size for layer in layers), blobs,
                             [image_name])
        BlobInfo(eng.db).add_locations(source.domain, repo, [d.digest for d in manifest.layers] + [str(config_digest)])
    emit(eng, "image", "pull", rec.id, image_name)
    return rec


class _Cancelled(OtterError):
    """Another layer job failed; this one stops without an error of its own."""


class _Verified:
    """A blob download read through to the unpacker: every byte also goes to `ingest`; when
    the download ends its size and digest are checked before end-of-stream is passed on."""

    def __init__(self, source, ingest, digest: str, size: int, where: str, progress: Progress,
                 cancelled: threading.Event):
        self._source = source
        self._ingest = ingest
        self._digest = digest
        self._size = size
        self._where = where
        self._progress = progress
        self._cancelled = cancelled
        self._failed = False

    def read(self, n: int) -> bytes:
        if self._cancelled.is_set():
            raise _Cancelled("cancelled")
        try:
            data = self._source.read(n)
        except BaseException:
            self._failed = True
            raise
        if data:
            self._ingest.write(data)
            self._progress.advance(self._digest, len(data))
            return data
        actual = str(self._ingest.digest)
        if actual != self._digest or self._ingest.size != self._size:
            raise CorruptContent(f"blob {self._digest} from {self._where} does not match its digest: got {actual} "
                                 f"({self._ingest.size} bytes)")
        return b""

    def drain(self) -> None:
        while self.read(COPY_CHUNK):
            pass

    def check_rest(self) -> None:
        """After the unpacker found bad gzip or tar data: unless the download itself failed,
        read the rest, so that a blob that is not what its digest names is reported as such
        (the likely cause) instead of as a decompression error."""
        if not self._failed:
            self.drain()

    def close(self) -> None:
        self._source.close()


class _LayerJobs:
    """The layer jobs of one pull (see the module docstring)."""

    def __init__(self, eng: Engine, client: Registry, repo: str, progress: Progress):
        self.eng = eng
        self.client = client
        self.repo = repo
        self.progress = progress
        self.where = f"{client.host}/{repo}"
        self.cancelled = threading.Event()
        self.independent = eng.snapshotter.name in INDEPENDENT_LAYERS

    def run(self, descriptors: tuple[oci.Descriptor, ...], diff_ids: list[str]) -> list[Layer]:
        from concurrent.futures import ThreadPoolExecutor
        if not descriptors:
            return []
        from otter.sys.malloc import keep_freed_memory
        keep_freed_memory()
        chain: list[str] = []
        for diff_id in diff_ids:
            chain.append(chain_id(chain[-1] if chain else None, diff_id))
        ready = [threading.Event() for _ in descriptors]
        with ThreadPoolExecutor(max_workers=min(PARALLEL, len(descriptors))) as pool:
            futures = [pool.submit(self._job, i, d, diff_ids, chain, ready) for i, d in enumerate(descriptors)]
            errors = []
            for f in futures:
                try:
                    f.result()
                except BaseException as e:  # noqa: BLE001 - every job's failure is collected, the first raised
                    errors.append(e)
        if errors:
            raise ([e for e in errors if not isinstance(e, _Cancelled)] or errors)[0]
        return [f.result() for f in futures]

    def _job(self, i: int, desc: oci.Descriptor, diff_ids: list[str], chain: list[str],
             ready: list[threading.Event]) -> Layer:
        from otter.db import Database
        # sqlite connections stay in the thread that made them
        db = Database(self.eng.paths.database, self.eng.paths.database_lock)
        try:
            return self._fetch(LayerStore(db, self.eng.snapshotter), i, desc, diff_ids, chain, ready)
        except BaseException:
            self.cancelled.set()
            raise
        finally:
            ready[i].set()
            db.close()

    def _fetch(self, layers: LayerStore, i: int, desc: oci.Descriptor, diff_ids: list[str], chain: list[str],
               ready: list[threading.Event]) -> Layer:
        content = self.eng.content
        blob = Digest.parse(desc.digest)
        existing = layers.get(chain[i])
        have_blob = content.exists(blob)
        if existing is not None and have_blob:
            self.progress.finish(desc.digest, "skipped: already exists")
            return existing
        self.progress.start(desc.digest, desc.size)
        # `apply` reads only the parent's chain ID: the parent may still be in another job.
        parent = Layer(chain[i - 1], chain[i - 2] if i > 1 else None, diff_ids[i - 1], 0) if i else None
        layer = existing
        if not have_blob:
            stream = existing is None and (i == 0 or self.independent or ready[i - 1].is_set())
            with content.ingest(expected=blob, expected_size=desc.size) as ingest:
                reader = _Verified(self.client.open_blob(self.repo, desc.digest, desc.size), ingest, desc.digest,
                                   desc.size, self.where, self.progress, self.cancelled)
                try:
                    if stream:
                        layer, _ = layers.apply(parent, reader, expected_diff_id=diff_ids[i])
                    else:
                        reader.drain()
                except CorruptContent:
                    reader.check_rest()
                    raise
                finally:
                    reader.close()
                ingest.commit()
        if layer is None:
            # The blob is stored, its layer is not: unpack it once the parent is committed.
            if i:
                ready[i - 1].wait()
                if self.cancelled.is_set():
                    raise _Cancelled("cancelled")
            with content.open(blob) as f:
                layer, _ = layers.apply(parent, f, expected_diff_id=diff_ids[i])
        self.progress.finish(desc.digest)
        return layer


# -- push -------------------------------------------------------------------------------------

COMPRESSIONS = ("gzip", "zstd")
PUSH_FORMATS = {"oci": "oci", "v2s2": "docker", "docker": "docker"}


@record
class PushOptions:
    image: str
    destination: str | None = None
    compression_format: str = "gzip"
    compression_level: int | None = None
    format: str | None = None         # "oci", "v2s2"/"docker"; None keeps the image's
    digestfile: str | None = None
    registry: RegistryOptions = RegistryOptions()


def _destination(opts: PushOptions, rec: ImageRecord) -> Reference:
    from otter.image.reference import lookup_candidates, parse_normalized
    text = opts.destination
    if text is None:
        try:
            candidates, _ = lookup_candidates(opts.image)
        except InvalidArgument:
            candidates = []
        matching = [n for n in rec.names if any(str(c) == n for c in candidates)]
        if not matching:
            raise InvalidArgument(f"{opts.image!r} is not a name of the image: give a destination")
        text = matching[0]
    transport, sep, rest = text.partition("://")
    if sep:
        if transport != "docker":
            raise InvalidArgument(f"unsupported transport {transport!r} in {text!r}: only docker:// is supported")
        text = rest
    ref = parse_normalized(text)
    if ref.digest:
        raise InvalidArgument(f"cannot push to {text!r}: the destination must be a tag, not a digest")
    return ref.with_default_tag()


def _gzip_compressor(level: int | None):
    try:
        from isal import isal_zlib as zlib
    except ImportError:
        import zlib  # type: ignore[no-redef]
    return zlib.compressobj(GZIP_LEVEL if level is None else level, zlib.DEFLATED, 31)


def _zstd_compressor(level: int | None):
    try:
        import zstandard
    except ImportError:
        raise InvalidArgument("--compression-format zstd needs the Python 'zstandard' module") from None
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL if level is None else level).compressobj()


def _compressed(path: str, compression: str, level: int | None, on_bytes) -> Iterator[bytes]:
    """The file at `path`, compressed, in chunks of at least COPY_CHUNK bytes."""
    c = _gzip_compressor(level) if compression == "gzip" else _zstd_compressor(level)
    pending: list[bytes] = []
    held = 0
    with open(path, "rb") as f:
        while chunk := f.read(COPY_CHUNK):
            on_bytes(len(chunk))
            out = c.compress(chunk)
            if out:
                pending.append(out)
                held += len(out)
            if held >= COPY_CHUNK:
                yield b"".join(pending)
                pending, held = [], 0
    pending.append(c.flush())
    yield b"".join(pending)


def _file_chunks(path: str, on_bytes) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(COPY_CHUNK):
            on_bytes(len(chunk))
            yield chunk


@record
class _BlobPlan:
    """How one blob of a push gets to the registry."""

    source: str                        # digest of the stored blob
    path: str                          # its file in the content store
    media_type: str                    # in the pushed manifest, for the known compression
    compression: str | None = None     # compress with this on the way; None: send as stored
    level: int | None = None           # compression level; None: GZIP_LEVEL / ZSTD_LEVEL
    digest: str | None = None          # digest on the registry if known (stored, or a variant)
    size: int | None = None
    mount_from: tuple[str, ...] = ()


@record
class PushReport:
    digest: str                        # of the pushed manifest
    reference: str                     # where it was pushed


def image_push(eng: Engine, opts: PushOptions, progress: Progress = QUIET) -> PushReport:
    from otter.image.archive import canonical_json
    from otter.image.blobinfo import BlobInfo
    from otter.spec.wire import to_json

    if opts.compression_format not in COMPRESSIONS:
        raise InvalidArgument(f"unsupported compression format {opts.compression_format!r}: use gzip or zstd")
    if opts.format is not None and opts.format not in PUSH_FORMATS:
        raise InvalidArgument(f"unsupported manifest format {opts.format!r}: use oci or v2s2")
    rec = eng.images.lookup(opts.image)
    dest = _destination(opts, rec)
    conf = RegistriesConf.load(opts.registry.registries_conf)
    target = conf.push_target(dest)
    client = _registry(target, opts.registry.client(), "pull,push")
    repo, tag = target.reference.path, target.reference.tag or "latest"
    stored = eng.images.manifest(rec)
    flavour = PUSH_FORMATS[opts.format] if opts.format else ("oci" if rec.manifest_type == oci.OCI_MANIFEST else "docker")
    if opts.compression_format == "zstd":
        if opts.format in ("v2s2", "docker"):
            raise InvalidArgument("zstd-compressed layers need the oci manifest format, not v2s2")
        flavour = "oci"
    info = BlobInfo(eng.db)
    plans = [_plan_layer(eng, info, d, opts, flavour, client.host, repo) for d in stored.layers]
    config_plan = _BlobPlan(str(rec.config_digest), eng.content.path(rec.config_digest), "", None, None,
                            str(rec.config_digest), eng.content.size(rec.config_digest),
                            tuple(info.locations(str(rec.config_digest), client.host, repo)))
    try:
        progress.message("Getting image source signatures")
        pushed = _push_blobs(client, repo, plans, progress)
        _push_blob(client, repo, config_plan, progress, "config")
        descriptors = tuple(oci.Descriptor(p.media_type, digest, size) for p, (digest, size) in zip(plans, pushed))
        manifest_type = oci.OCI_MANIFEST if flavour == "oci" else oci.DOCKER_MANIFEST
        if manifest_type == rec.manifest_type and all(d.digest == s.digest for d, s in zip(descriptors, stored.layers)):
            data = eng.content.read(Digest.parse(rec.digest))     # unchanged: the image keeps its digest
        else:
            config_type = oci.OCI_CONFIG if flavour == "oci" else oci.DOCKER_CONFIG
            manifest = oci.Manifest(media_type=manifest_type, layers=descriptors, annotations=stored.annotations,
                                    config=oci.Descriptor(config_type, str(rec.config_digest), config_plan.size or 0))
            data = canonical_json(to_json(manifest))
        progress.message("Writing manifest to image destination")
        digest = client.put_manifest(repo, tag, data, manifest_type)
    finally:
        client.close()
    info.add_variants([(p.source, p.compression, d, s) for p, (d, s) in zip(plans, pushed) if p.compression])
    info.add_locations(client.host, repo, [d for d, _ in pushed] + [config_plan.source])
    if opts.digestfile:
        with open(opts.digestfile, "w") as f:
            f.write(digest)
    emit(eng, "image", "push", rec.id, str(target.reference))
    return PushReport(digest, str(target.reference))


def _plan_layer(eng: Engine, info, desc: oci.Descriptor, opts: PushOptions, flavour: str, registry: str,
                repo: str) -> _BlobPlan:
    stored = oci.layer_compression(desc.media_type)
    path = eng.content.path(Digest.parse(desc.digest))
    if not os.path.exists(path):
        raise CorruptContent(f"layer blob {desc.digest} of the image is missing from the store")
    if stored != "none":
        return _BlobPlan(desc.digest, path, oci.layer_media_type(flavour, stored), None, None, desc.digest,
                         desc.size, tuple(info.locations(desc.digest, registry, repo)))
    compression = opts.compression_format
    media_type = oci.layer_media_type(flavour, compression)
    known = info.variant(desc.digest, compression)
    if known is None:
        return _BlobPlan(desc.digest, path, media_type, compression, opts.compression_level)
    return _BlobPlan(desc.digest, path, media_type, compression, opts.compression_level, known[0], known[1],
                     tuple(info.locations(known[0], registry, repo)))


def _push_blobs(client: Registry, repo: str, plans: list[_BlobPlan], progress: Progress) -> list[tuple[str, int]]:
    from concurrent.futures import ThreadPoolExecutor
    if not plans:
        return []
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(plans))) as pool:
        futures = [pool.submit(_push_blob, client, repo, p, progress) for p in plans]
        results, errors = [], []
        for f in futures:
            try:
                results.append(f.result())
            except BaseException as e:  # noqa: BLE001 - every job ends before the first failure is raised
                errors.append(e)
    if errors:
        raise errors[0]
    return results


def _push_blob(client: Registry, repo: str, plan: _BlobPlan, progress: Progress, kind: str = "blob") -> tuple[str, int]:
    """Make the registry hold `plan`'s blob: already there, mounted, or uploaded."""
    if plan.digest is not None:
        if client.blob_exists(repo, plan.digest):
            progress.finish(plan.digest, "skipped: already exists", kind)
            return plan.digest, plan.size or 0
        for source in plan.mount_from:
            if client.mount_blob(repo, plan.digest, source):
                progress.finish(plan.digest, f"skipped: mounted from {source}", kind)
                return plan.digest, plan.size or 0
    label = plan.source
    total = os.path.getsize(plan.path)
    progress.start(label, total, kind)

    def on_bytes(n: int) -> None:
        progress.advance(label, n)

    def chunks() -> Iterator[bytes]:
        if plan.compression is None:
            return _file_chunks(plan.path, on_bytes)
        return _compressed(plan.path, plan.compression, plan.level, on_bytes)

    if plan.compression is None:
        result = client.upload_blob(repo, chunks, plan.digest, plan.size)
    else:
        result = client.upload_blob(repo, chunks)
    progress.finish(label, kind=kind)
    return result


# -- login / logout -----------------------------------------------------------------------------

@record
class LoginOptions:
    registry: str | None = None
    username: str | None = None
    password: str | None = None
    password_stdin: bool = False
    get_login: bool = False
    options: RegistryOptions = RegistryOptions()


def _login_key(registry: str | None, conf: RegistriesConf) -> str:
    """The authfile key of `registry` as the user wrote it (`host[:port][/namespace]`)."""
    from otter.image.auth import normalize_key
    if registry is None:
        if not conf.search:
            raise InvalidArgument("no registry given and no unqualified-search registries are configured")
        return conf.search[0]
    key = normalize_key(registry)
    if not key or " " in key:
        raise InvalidArgument(f"invalid registry {registry!r}")
    return key


def registry_login(opts: LoginOptions, stdin=None) -> list[str]:
    """Check the credentials against the registry and store them; returns the lines to print."""
    from otter.image import auth
    conf = RegistriesConf.load(opts.options.registries_conf)
    key = _login_key(opts.registry, conf)
    host = key.split("/", 1)[0]
    authfile = opts.options.authfile
    if opts.get_login:
        creds = auth.lookup(key, authfile)
        if creds is None or not creds.username:
            raise RegistryError(f"not logged into {key}")
        return [creds.username]
    if opts.password is not None and opts.password_stdin:
        raise InvalidArgument("--password and --password-stdin are mutually exclusive")
    client_opts = opts.options.client()
    lines: list[str] = []
    if opts.username is None and opts.password is None and not opts.password_stdin and client_opts.creds is None:
        existing = auth.lookup(key, authfile)
        if existing is not None:
            try:
                _check(host, key, conf, ClientOptions(client_opts.tls_verify, client_opts.cert_dir, authfile, existing,
                                                      client_opts.retry, client_opts.retry_delay))
                return [f"Authenticating with existing credentials for {key}",
                        f"Existing credentials are valid. Already logged in to {key}"]
            except Unauthorized:
                lines.append(f"Authenticating with existing credentials for {key}")
                lines.append("Existing credentials are invalid, please enter valid username and password")
    creds = client_opts.creds
    if creds is None:
        username = opts.username or _ask("Username: ")
        if opts.password_stdin:
            password = (stdin.read() if stdin is not None else "").rstrip("\r\n")
        elif opts.password is not None:
            password = opts.password
        else:
            password = auth.ask_password("Password: ")
        if not username:
            raise InvalidArgument("username is empty")
        if not password:
            raise InvalidArgument("password is empty")
        creds = auth.Credentials(username, password)
    _check(host, key, conf, ClientOptions(client_opts.tls_verify, client_opts.cert_dir, authfile, creds,
                                          client_opts.retry, client_opts.retry_delay))
    auth.store(key, creds, authfile)
    return lines + ["Login Succeeded!"]


def _check(host: str, key: str, conf: RegistriesConf, client_opts: ClientOptions) -> None:
    client = Registry(host, client_opts, conf.host_insecure(host))
    try:
        client.check_login(f'logging into "{key}"')
    finally:
        client.close()


def _ask(prompt: str) -> str:
    import sys
    if not sys.stdin.isatty():
        raise InvalidArgument("a username is needed but standard input is not a terminal: use -u")
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline().strip()


@record
class LogoutOptions:
    registry: str | None = None
    all: bool = False
    options: RegistryOptions = RegistryOptions()


def registry_logout(opts: LogoutOptions) -> str:
    from otter.image import auth
    if opts.all:
        auth.remove_all(opts.options.authfile)
        return "Removed login credentials for all registries"
    key = _login_key(opts.registry, RegistriesConf.load(opts.options.registries_conf))
    if auth.remove(key, opts.options.authfile):
        return f"Removed login credentials for {key}"
    if opts.options.authfile is None and auth.known_elsewhere(key):
        raise RegistryError(f"not logged into {key} with current tool. Existing credentials were established via "
                            "docker login. Please use docker logout instead.")
    raise RegistryError(f"not logged into {key}")



def registry_digest(image: str, options: RegistryOptions = DEFAULTS) -> str | None:
    """The digest the registry states for `image`'s manifest (HEAD), None if it has none."""
    conf = RegistriesConf.load(options.registries_conf)
    source = conf.pull_sources(conf.resolve(image)[0].with_default_tag())[-1]
    client = _registry(source, options.client())
    try:
        return client.manifest_digest(source.reference.path, source.reference.digest or source.reference.tag)
    finally:
        client.close()
