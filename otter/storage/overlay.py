"""The overlay snapshotter: kernel overlayfs, one directory of changes per layer.

Layout under `layers/overlay/`:
  <layer-id>/diff       the layer's own files, whiteouts as 0:0 char devices / opaque xattrs
  <layer-id>/link       the layer's short name
  l/<short>             symlink to ../<layer-id>/diff, so `lowerdir=` stays under a page
  active/<key>/{diff,work,merged}   a writable snapshot (upperdir, workdir, mountpoint)

As root the opaque xattr is `trusted.overlay.opaque`. Rootless (inside a user namespace,
kernel >= 5.11) it is `user.overlay.opaque` and the mount needs the `userxattr` option.

With a mount program (`overlay.mount_program`, fuse-overlayfs) the same layers and snapshot
directories are mounted by that program (a `fuse.fuse-overlayfs` Mount) instead of the
kernel; it reads both opaque xattrs, and writes deletions into the upper dir in its own
forms (`drivers.fuse_overlayfs`), which `storage.diff` reads.
"""

from __future__ import annotations

import os

from otter.paths import StorePaths
from otter.storage.snapshot import Mount, Snapshotter


class OverlaySnapshotter(Snapshotter):
    name = "overlay"

    def __init__(self, paths: StorePaths, rootless: bool = False, mount_program: str = ""):
        super().__init__(paths, rootless)
        self.mount_program = mount_program

    def settings(self) -> dict[str, str]:
        return {**super().settings(), "mount_program": self.mount_program}

    @property
    def apply_options(self):
        from otter.storage.unpack import ApplyOptions
        return ApplyOptions(whiteouts="overlay", xattr_prefix="user." if self.rootless else "trusted.",
                            devices=not self.rootless)

    def content_dir(self, staging: str) -> str:
        return os.path.join(staging, "diff")

    def stage(self, parent: str | None) -> str:
        staging = super().stage(parent)
        os.mkdir(os.path.join(staging, "diff"), 0o755)
        return staging

    def commit(self, staging: str, layer_id: str) -> None:
        import base64
        short = base64.b32encode(os.urandom(15)).decode().rstrip("=")
        with open(os.path.join(staging, "link"), "w") as f:
            f.write(short)
        links = StorePaths.ensure(self.paths.layer_links(self.name))
        super().commit(staging, layer_id)
        os.symlink(f"../{layer_id}/diff", os.path.join(links, short))

    def remove_layer(self, layer_id: str) -> None:
        try:
            with open(os.path.join(self.layer_dir(layer_id), "link")) as f:
                os.unlink(os.path.join(self.paths.layer_links(self.name), f.read().strip()))
        except FileNotFoundError:
            pass
        super().remove_layer(layer_id)

    def _lower(self, layer_id: str) -> str:
        with open(os.path.join(self.layer_dir(layer_id), "link")) as f:
            return os.path.join(self.paths.layer_links(self.name), f.read().strip())

    def prepare(self, key: str, chain: list[str]) -> list[Mount]:
        base = self.paths.snapshot(self.name, key)
        os.makedirs(base, mode=0o700)
        for sub in ("diff", "work", "merged"):
            os.mkdir(os.path.join(base, sub), 0o755)
        return self.mounts(key, chain)

    def mounts(self, key: str, chain: list[str]) -> list[Mount]:
        base = self.paths.snapshot(self.name, key)
        if not chain:
            # overlay needs a lower layer; a scratch root is a plain bind of the upper dir.
            return [Mount("bind", os.path.join(base, "diff"), ("rbind", "rw"))]
        options = [
            "lowerdir=" + ":".join(self._lower(layer) for layer in chain),
            "upperdir=" + os.path.join(base, "diff"),
            "workdir=" + os.path.join(base, "work"),
        ]
        if self.mount_program:
            return [Mount("fuse.fuse-overlayfs", "fuse-overlayfs", tuple(options), helper=self.mount_program)]
        if self.rootless:
            options.append("userxattr")
        return [Mount("overlay", "overlay", tuple(options))]

    def upper_dir(self, key: str) -> str:
        return os.path.join(self.paths.snapshot(self.name, key), "diff")
