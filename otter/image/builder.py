"""Making a new image from a base image, an optional new layer and a container config.

`import` (no base, one layer) and `commit` (the container's image as base, its changes as
the layer, or no layer when nothing changed) both end here, so the config, manifest and
image record are written one way.

Vocabulary:
  layer blob   a committed layer (`storage.layers.Layer`) together with the content-store
               blob of its tar, exactly as it was streamed in (compressed or not), which is
               what a manifest lists.
  container config  the `config` section of an image config (Env, Cmd, Entrypoint,
               WorkingDir, User, Labels, ExposedPorts, Volumes, ...).
  format       `oci` or `docker`: the media types of the manifest, config and layers. The
               base image's layers are listed under the new format's media types; their
               blobs are the same bytes.

Callers hold the store lock and garbage-collect on failure (`Engine.gc`).
"""

from __future__ import annotations

from otter.errors import InvalidArgument
from otter.image.store import ImageRecord, ImageStore
from otter.record import record
from otter.spec import image as oci
from otter.storage.layers import Layer

FORMATS = {"oci": (oci.OCI_MANIFEST, oci.OCI_CONFIG), "docker": (oci.DOCKER_MANIFEST, oci.DOCKER_CONFIG)}


@record
class LayerBlob:
    layer: Layer
    digest: str         # "sha256:<hex>" of the blob
    size: int           # bytes of the blob
    compression: str    # "none", "gzip" or "zstd"


def add_layer(store: ImageStore, parent: Layer | None, stream) -> LayerBlob:
    """Apply the layer tar read from `stream` on top of `parent`, keeping the stream's bytes
    as a blob in the same pass."""
    with store.content.ingest() as ingest:
        layer, compression = store.layers.apply(parent, stream, raw_sink=ingest)
        if not store.content.exists(ingest.digest):
            ingest.commit()
        return LayerBlob(layer, str(ingest.digest), ingest.size, compression)


@record
class NewImage:
    config: dict                          # the container config section
    created: str                          # RFC 3339 time of the image and of its history entry
    base: ImageRecord | None = None
    layer: LayerBlob | None = None        # None: the history entry is marked as an empty layer
    created_by: str = ""
    comment: str | None = None
    author: str | None = None
    format: str = "oci"
    names: tuple[str, ...] = ()


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidArgument(f"unrecognized image format {fmt!r}: use oci or docker")
    return fmt


def build_image(store: ImageStore, new: NewImage) -> ImageRecord:
    """Write the config and manifest blobs of `new` and record it under its names."""
    from otter.image.archive import canonical_json
    from otter.image.platform import host_platform
    from otter.spec.wire import to_json

    manifest_type, config_type = FORMATS[check_format(new.format)]
    if new.base is not None:
        base_config = store.config(new.base)
        base_layers = store.manifest(new.base).layers
        platform = oci.Platform(base_config.architecture, base_config.os, base_config.variant)
        diff_ids = base_config.rootfs.diff_ids
        # An image without history still gets one entry per layer, so entries and layers pair up.
        history = base_config.history or tuple(oci.History() for _ in diff_ids)
        size = new.base.size
        top_layer = new.base.top_layer
    else:
        base_layers, platform, diff_ids, history, size, top_layer = (), host_platform(), (), (), 0, None
    layers = tuple(oci.Descriptor(oci.layer_media_type(new.format, oci.layer_compression(d.media_type)), d.digest,
                                  d.size) for d in base_layers)
    if new.layer is not None:
        diff_ids += (new.layer.layer.diff_id,)
        layers += (oci.Descriptor(oci.layer_media_type(new.format, new.layer.compression), new.layer.digest,
                                  new.layer.size),)
        size += new.layer.layer.size
        top_layer = new.layer.layer.id
    history += (oci.History(created=new.created, created_by=new.created_by, author=new.author, comment=new.comment,
                            empty_layer=True if new.layer is None else None),)
    config = oci.ImageConfig(created=new.created, author=new.author, architecture=platform.architecture,
                             os=platform.os, variant=platform.variant, config=new.config,
                             rootfs=oci.RootFS(diff_ids=diff_ids), history=history)
    config_bytes = canonical_json(to_json(config))
    config_digest = store.content.put(config_bytes)
    manifest = oci.Manifest(media_type=manifest_type,
                            config=oci.Descriptor(config_type, str(config_digest), len(config_bytes)), layers=layers)
    manifest_digest = store.content.put(canonical_json(to_json(manifest)))
    blobs = [str(manifest_digest), str(config_digest)] + [d.digest for d in layers]
    return store.add(manifest_digest, manifest_type, config, config_digest, top_layer, size, blobs, list(new.names))
