"""Snapshotters: how layers are kept on disk and combined into a root filesystem.

Vocabulary (after containerd's Snapshotter):
  layer      a committed, read-only directory tree, identified by its chain ID
             (`storage.layers.chain_id`). Its parent is the layer below it; a layer with no
             parent is a base layer. Layers are shared by every image that has them.
  staging    a directory a layer is unpacked into before it is committed. A failed unpack
             only ever leaves a staging directory, which is discarded.
  snapshot   an active, writable tree on top of a layer, named by a key (a container ID).
  mounts     a snapshotter never mounts anything itself: `prepare` and `mounts` RETURN the
             mount descriptions (`Mount`) that make the snapshot's root filesystem, and the
             caller (the container runtime, a conformance test) performs them.

Two snapshotters exist: `overlay` (kernel overlayfs; each layer holds only its own changes,
whiteouts in overlay form; rootless uses the `userxattr` variant; or the same layers mounted
by a *mount program*, fuse-overlayfs, where the kernel's cannot be used) and `vfs` (every
layer is a full copy of its parent with changes applied; works everywhere, costs disk and time).
"""

from __future__ import annotations

import abc
import os

from otter.paths import StorePaths
from otter.record import TYPE_CHECKING, record
from otter.sys.tree import remove_tree

if TYPE_CHECKING:
    from otter.storage.unpack import ApplyOptions


@record
class Mount:
    """A mount description: what to pass to mount(2) (or to a runtime's `mounts`).

    A FUSE filesystem (type `fuse.NAME`) is not mounted by mount(2) but by its `helper`, the
    program that then serves it (`drivers.fuse_overlayfs`); `source` is its name."""

    type: str
    source: str
    options: tuple[str, ...] = ()
    helper: str = ""

    def data(self) -> str:
        """The fs-specific option string (flags such as `bind`/`ro` excluded)."""
        return ",".join(o for o in self.options if o not in ("bind", "rbind", "ro", "rw"))


class Snapshotter(abc.ABC):
    name: str

    def __init__(self, paths: StorePaths, rootless: bool = False):
        self.paths = paths
        self.rootless = rootless

    # -- layers ----------------------------------------------------------------------
    def layer_dir(self, layer_id: str) -> str:
        """Where a committed layer's files live."""
        return self.paths.layer(self.name, layer_id)

    def has_layer(self, layer_id: str) -> bool:
        return os.path.isdir(self.layer_dir(layer_id))

    @property
    @abc.abstractmethod
    def apply_options(self) -> "ApplyOptions":
        """How `storage.unpack.apply_tar` must write into this snapshotter's staging dirs."""

    def stage(self, parent: str | None) -> str:
        """Create a staging directory ready to receive a layer on top of `parent`."""
        import tempfile
        staging = StorePaths.ensure(self.paths.staging(self.name))
        return tempfile.mkdtemp(dir=staging, prefix="layer-")

    @abc.abstractmethod
    def content_dir(self, staging: str) -> str:
        """The directory inside a staging dir that a layer tar is applied to."""

    def commit(self, staging: str, layer_id: str) -> None:
        """Publish a staging dir as layer `layer_id` (atomic rename)."""
        os.rename(staging, self.layer_dir(layer_id))

    def discard(self, staging: str) -> None:
        remove_tree(staging)

    def remove_layer(self, layer_id: str) -> None:
        remove_tree(self.layer_dir(layer_id))

    # -- active snapshots ------------------------------------------------------------------
    @abc.abstractmethod
    def prepare(self, key: str, chain: list[str]) -> list[Mount]:
        """Create writable snapshot `key` on top of the layers in `chain` (topmost first;
        empty for a scratch root) and return the mounts that assemble it."""

    @abc.abstractmethod
    def mounts(self, key: str, chain: list[str]) -> list[Mount]:
        """The mounts of an existing snapshot."""

    @abc.abstractmethod
    def upper_dir(self, key: str) -> str:
        """The directory holding the snapshot's own changes (for diff and commit)."""

    def mountpoint(self, key: str) -> str:
        """Where the caller mounts `mounts(key)` to see the snapshot's root filesystem."""
        return os.path.join(self.paths.snapshot(self.name, key), "merged")

    def remove(self, key: str) -> None:
        remove_tree(self.paths.snapshot(self.name, key))

    def settings(self) -> dict[str, str]:
        """What a store records about its snapshotter when it is created, and must find
        again whenever it is opened (`storage.layers.LayerStore`): the driver, and the
        options that change what is written to disk."""
        return {"driver": self.name}


def snapshotter(name: str, paths: StorePaths, rootless: bool = False, mount_program: str = "") -> Snapshotter:
    """The snapshotter `name` ("overlay" or "vfs"); overlay mounts through `mount_program`
    (an absolute path, e.g. fuse-overlayfs) instead of the kernel when one is given."""
    if name == "overlay":
        from otter.storage.overlay import OverlaySnapshotter
        return OverlaySnapshotter(paths, rootless, mount_program)
    if mount_program:
        from otter.errors import InvalidArgument
        raise InvalidArgument(f"storage driver {name!r} does not support overlay.mount_program")
    if name == "vfs":
        from otter.storage.vfs import VfsSnapshotter
        return VfsSnapshotter(paths, rootless)
    from otter.errors import InvalidArgument
    raise InvalidArgument(f"unknown storage driver {name!r} (supported: overlay, vfs)")
