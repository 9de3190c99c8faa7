"""The vfs snapshotter: every layer and snapshot is a full copy of its parent.

Works on any filesystem and in any user namespace, at the price of disk space and copy
time. Whiteouts are applied by deleting (`ApplyOptions(whiteouts="delete")`), so a layer
directory is exactly the root filesystem of the image that ends with it.

Layout under `layers/vfs/`:
  <layer-id>/diff                  the complete tree
  active/<key>/{diff,merged}       a writable copy, bind-mounted on merged
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable

from otter.storage.snapshot import Mount, Snapshotter


def copy_file(src: str, dst: str, size: int) -> None:
    with open(src, "rb") as fi, open(dst, "xb") as fo:
        offset = 0
        while offset < size:
            sent = os.sendfile(fo.fileno(), fi.fileno(), offset, size - offset)
            if sent == 0:
                raise OSError(errno.EIO, f"{src} shrank while being copied")
            offset += sent


def copy_tree(src: str, dst: str, owner: Callable[[int, int], tuple[int, int]] | None = None) -> None:
    """Copy a tree preserving type, mode, ownership, times, xattrs and hard links; `owner`,
    when given, turns each (uid, gid) into the one the copy gets (`storage.idmap`)."""
    inodes: dict[tuple[int, int], str] = {}

    def meta(s: str, d: str, st: os.stat_result) -> None:
        try:
            os.lchown(d, *(owner(st.st_uid, st.st_gid) if owner else (st.st_uid, st.st_gid)))
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.EINVAL):
                raise
        try:
            for name in os.listxattr(s, follow_symlinks=False):
                os.setxattr(d, name, os.getxattr(s, name, follow_symlinks=False), follow_symlinks=False)
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP):
                raise
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(d, stat.S_IMODE(st.st_mode))
        os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)

    def walk(s: str, d: str) -> None:
        dirs: list[tuple[str, str, os.stat_result]] = []
        with os.scandir(s) as it:
            for entry in it:
                sp, dp = entry.path, os.path.join(d, entry.name)
                st = entry.stat(follow_symlinks=False)
                mode = st.st_mode
                if stat.S_ISDIR(mode):
                    os.mkdir(dp, 0o700)
                    walk(sp, dp)
                    dirs.append((sp, dp, st))
                    continue
                if st.st_nlink > 1 and (st.st_dev, st.st_ino) in inodes:
                    os.link(inodes[(st.st_dev, st.st_ino)], dp, follow_symlinks=False)
                    continue
                if stat.S_ISREG(mode):
                    copy_file(sp, dp, st.st_size)
                elif stat.S_ISLNK(mode):
                    os.symlink(os.readlink(sp), dp)
                elif stat.S_ISFIFO(mode):
                    os.mkfifo(dp, 0o600)
                else:
                    os.mknod(dp, mode, st.st_rdev)
                if st.st_nlink > 1:
                    inodes[(st.st_dev, st.st_ino)] = dp
                meta(sp, dp, st)
        for sp, dp, st in dirs:
            meta(sp, dp, st)

    walk(src, dst)
    meta(src, dst, os.lstat(src))


class VfsSnapshotter(Snapshotter):
    name = "vfs"

    @property
    def apply_options(self):
        from otter.storage.unpack import ApplyOptions
        return ApplyOptions(whiteouts="delete", devices=not self.rootless)

    def content_dir(self, staging: str) -> str:
        return os.path.join(staging, "diff")

    def stage(self, parent: str | None) -> str:
        staging = super().stage(parent)
        diff = os.path.join(staging, "diff")
        os.mkdir(diff, 0o755)
        if parent is not None:
            copy_tree(os.path.join(self.layer_dir(parent), "diff"), diff)
        return staging

    def prepare(self, key: str, chain: list[str]) -> list[Mount]:
        base = self.paths.snapshot(self.name, key)
        os.makedirs(base, mode=0o700)
        diff = os.path.join(base, "diff")
        os.mkdir(diff, 0o755)
        os.mkdir(os.path.join(base, "merged"), 0o755)
        if chain:
            copy_tree(os.path.join(self.layer_dir(chain[0]), "diff"), diff)
        return self.mounts(key, chain)

    def mounts(self, key: str, chain: list[str]) -> list[Mount]:
        return [Mount("bind", self.upper_dir(key), ("rbind", "rw"))]

    def upper_dir(self, key: str) -> str:
        return os.path.join(self.paths.snapshot(self.name, key), "diff")
