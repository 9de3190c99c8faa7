"""OCI image-spec and Docker v2 schema 2 wire types.

Vocabulary:
  descriptor  a pointer to a blob: media type, digest, size (and, in an index, a platform).
  manifest    an image: one config descriptor and an ordered list of layer descriptors
              (bottom layer first). OCI (`application/vnd.oci.image.manifest.v1+json`) and
              Docker v2 schema 2 (`application/vnd.docker.distribution.manifest.v2+json`)
              differ only in media types.
  index       a list of manifests for several platforms (OCI image index / Docker manifest
              list); also the top file of an OCI layout.
  config      the image configuration: platform, the container defaults (`config`), the
              `rootfs.diff_ids` of the uncompressed layers, and the history. Its digest is the
              image ID.
"""

from __future__ import annotations

from otter.record import field, record
from otter.spec.wire import jfield

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"

_LAYER_TYPES = {
    ("oci", "none"): OCI_LAYER, ("oci", "gzip"): OCI_LAYER_GZIP, ("oci", "zstd"): OCI_LAYER_ZSTD,
    ("docker", "none"): DOCKER_LAYER, ("docker", "gzip"): DOCKER_LAYER_GZIP, ("docker", "zstd"): OCI_LAYER_ZSTD,
}


def layer_media_type(flavour: str, compression: str) -> str:
    """flavour: "oci" or "docker"; compression: "none", "gzip" or "zstd"."""
    return _LAYER_TYPES[(flavour, compression)]


def layer_compression(media_type: str) -> str:
    if media_type.endswith("gzip"):
        return "gzip"
    if media_type.endswith("zstd"):
        return "zstd"
    return "none"


@record
class Platform:
    architecture: str = jfield("architecture", "")
    os: str = jfield("os", "")
    variant: str | None = jfield("variant")


@record
class Descriptor:
    media_type: str = jfield("mediaType", "")
    digest: str = jfield("digest", "")
    size: int = jfield("size", 0, omitempty=False)
    annotations: dict = jfield("annotations", {})
    platform: Platform | None = jfield("platform")


@record
class Manifest:
    schema_version: int = jfield("schemaVersion", 2)
    media_type: str = jfield("mediaType", OCI_MANIFEST)
    config: Descriptor = jfield("config", Descriptor())
    layers: tuple[Descriptor, ...] = jfield("layers", (), omitempty=False)
    annotations: dict = jfield("annotations", {})


@record
class Index:
    schema_version: int = jfield("schemaVersion", 2)
    media_type: str | None = jfield("mediaType", OCI_INDEX)
    manifests: tuple[Descriptor, ...] = jfield("manifests", (), omitempty=False)
    annotations: dict = jfield("annotations", {})


@record
class RootFS:
    type: str = jfield("type", "layers")
    diff_ids: tuple[str, ...] = jfield("diff_ids", (), omitempty=False)


@record
class History:
    created: str | None = jfield("created")
    created_by: str | None = jfield("created_by")
    author: str | None = jfield("author")
    comment: str | None = jfield("comment")
    empty_layer: bool | None = jfield("empty_layer")


@record
class ImageConfig:
    """The image configuration. `config` (Env, Cmd, Entrypoint, WorkingDir, User, Labels,
    ExposedPorts, Volumes, StopSignal) stays a plain dict: its keys are already the JSON names
    and tools add their own."""

    created: str | None = jfield("created")
    author: str | None = jfield("author")
    architecture: str = jfield("architecture", "amd64")
    os: str = jfield("os", "linux")
    variant: str | None = jfield("variant")
    config: dict = jfield("config", {})
    rootfs: RootFS = field(default=RootFS(), metadata={"json": "rootfs"})
    history: tuple[History, ...] = jfield("history", ())
