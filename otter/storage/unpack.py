"""Applying a layer tar to a directory, safely and in one streaming pass.

Vocabulary:
  layer tar   an OCI/Docker layer: a tar stream of changes against the parent layer.
  whiteout    a `.wh.NAME` entry meaning "NAME is deleted"; `.wh..wh..opq` in a directory
              means "hide everything the parents had in this directory" (opaque).
  mode        how whiteouts land on disk. `overlay`: as the kernel's overlayfs wants them
              (a 0:0 character device, or the `<prefix>overlay.opaque=y` xattr), because the
              directory is one layer of an overlay stack. `delete`: by deleting the hidden
              files, because the directory is a full copy of the parent (vfs).

Safety: every entry name is cleaned (`..` climbing out is refused, absolute names are
re-rooted) and its parent directory is resolved inside the target with symlinks interpreted
as the container would (`resolve_in_root`), so no entry, symlink or hard link can write
outside the target. Files are created with O_EXCL|O_NOFOLLOW after removing what was there.
Ownership is applied before the mode, so setuid/setgid bits survive `lchown`.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
import tarfile

from otter.errors import CorruptContent, UnsafeContent
from otter.record import record
from otter.sys.safepath import clean_member_name, resolve_in_root

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
# Other AUFS metadata (".wh..wh.plnk", ".wh..wh.aufs") carries nothing an overlay needs.
AUFS_META_PREFIX = ".wh..wh."
XATTR_PAX_PREFIX = "SCHILY.xattr."
COPY_BUFSIZE = 1 << 20
# tarfile's stream buffer: the default 10 KiB makes every large file a join of a hundred
# chunks; much bigger makes each 512-byte header read re-slice the buffer. 64 KiB measured best.
TAR_BUFSIZE = 1 << 16


@record
class ApplyOptions:
    whiteouts: str = "overlay"          # "overlay" or "delete"
    xattr_prefix: str = "trusted."      # "user." inside a user namespace (overlay `userxattr`)
    chown: bool = True                  # False when ids cannot be mapped (single-id rootless)
    devices: bool = True                # False where mknod of real devices is not permitted


def remove_path(path: str) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


class _Applier:
    def __init__(self, target: str, opts: ApplyOptions):
        self.target = target
        self.opts = opts
        self.written: set[str] = set()
        self.dirs: list[tuple[str, tarfile.TarInfo]] = []

    def parent_of(self, rel: str) -> str:
        parent = resolve_in_root(self.target, posixpath.dirname(rel))
        try:
            os.makedirs(parent, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise CorruptContent(f"layer entry {rel!r} lies under something that is not a directory") from None
        return parent

    def whiteout(self, rel: str, member: tarfile.TarInfo) -> None:
        name = posixpath.basename(rel)
        dir_rel = posixpath.dirname(rel)
        if name == OPAQUE_MARKER:
            d = resolve_in_root(self.target, dir_rel)
            os.makedirs(d, exist_ok=True)
            if self.opts.whiteouts == "overlay":
                os.setxattr(d, self.opts.xattr_prefix + "overlay.opaque", b"y", follow_symlinks=False)
            else:
                for child in os.listdir(d):
                    if posixpath.join(dir_rel, child) not in self.written:
                        remove_path(os.path.join(d, child))
            return
        if name.startswith(AUFS_META_PREFIX):
            return
        hidden = name[len(WHITEOUT_PREFIX):]
        if not hidden or hidden in (".", ".."):
            raise UnsafeContent(f"invalid whiteout entry {member.name!r}")
        try:
            parent = self.parent_of(rel)
        except CorruptContent:
            return  # the parent is itself deleted or a file: nothing to hide
        path = os.path.join(parent, hidden)
        remove_path(path)
        if self.opts.whiteouts == "overlay":
            os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))
            self.own(path, member)

    def own(self, path: str, m: tarfile.TarInfo) -> None:
        if not self.opts.chown:
            return
        try:
            os.lchown(path, m.uid, m.gid)
        except OSError as e:
            # Outside a full id mapping some ids do not exist; the file keeps ours.
            if e.errno not in (errno.EINVAL, errno.EPERM):
                raise

    def entry(self, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        rel = clean_member_name(m.name)
        if rel == "":
            if m.isdir():
                self.dirs.append((self.target, m))
            return
        if posixpath.basename(rel).startswith(WHITEOUT_PREFIX):
            self.whiteout(rel, m)
            return
        path = os.path.join(self.parent_of(rel), posixpath.basename(rel))
        try:
            st = os.lstat(path)
            if not (m.isdir() and stat.S_ISDIR(st.st_mode)):
                remove_path(path)
        except FileNotFoundError:
            pass

        if m.isreg():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb", buffering=0) as out:
                src = tar.extractfile(m)
                remaining = m.size
                while remaining > 0:
                    chunk = src.read(min(COPY_BUFSIZE, remaining))
                    if not chunk:
                        raise CorruptContent(f"layer is truncated inside {m.name!r}")
                    out.write(chunk)
                    remaining -= len(chunk)
        elif m.isdir():
            if not os.path.isdir(path):
                os.mkdir(path, 0o700)
        elif m.issym():
            os.symlink(m.linkname, path)
        elif m.islnk():
            link_rel = clean_member_name(m.linkname)
            if link_rel == "":
                raise UnsafeContent(f"hard link {m.name!r} points at the root directory")
            source = resolve_in_root(self.target, link_rel, follow_last=False)
            if not os.path.lexists(source):
                raise CorruptContent(f"hard link {m.name!r} points at missing {m.linkname!r}")
            os.link(source, path, follow_symlinks=False)
            self.written.add(rel)
            return  # a hard link shares the target's inode: metadata is the target's
        elif m.ischr() or m.isblk():
            if not self.opts.devices:
                return
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            os.mknod(path, kind | 0o600, os.makedev(m.devmajor, m.devminor))
        elif m.isfifo():
            os.mkfifo(path, 0o600)
        else:
            raise CorruptContent(f"unsupported tar entry type {m.type!r} for {m.name!r}")

        self.written.add(rel)
        self.own(path, m)
        self.set_xattrs(path, m)
        if m.isdir():
            self.dirs.append((path, m))
            return
        if not m.issym():
            os.chmod(path, m.mode & 0o7777)
        os.utime(path, (m.mtime, m.mtime), follow_symlinks=False)

    def set_xattrs(self, path: str, m: tarfile.TarInfo) -> None:
        for key, value in m.pax_headers.items():
            if key.startswith(XATTR_PAX_PREFIX):
                name = key[len(XATTR_PAX_PREFIX):]
                raw = value.encode("utf-8", "surrogateescape")
                try:
                    os.setxattr(path, name, raw, follow_symlinks=False)
                except OSError as e:
                    if e.errno not in (errno.EPERM, errno.ENOTSUP):
                        raise

    def finish(self) -> None:
        # Directory times last: creating children changes them.
        for path, m in reversed(self.dirs):
            os.chmod(path, m.mode & 0o7777)
            os.utime(path, (m.mtime, m.mtime))


def apply_tar(reader, target: str, opts: ApplyOptions = ApplyOptions()) -> None:
    """Apply the layer tar read from `reader` onto directory `target`.

    Raises CorruptContent for a malformed tar and UnsafeContent for a hostile entry; the
    caller owns `target` and discards it on error.
    """
    applier = _Applier(target, opts)
    try:
        with tarfile.open(fileobj=reader, mode="r|", errorlevel=2, bufsize=TAR_BUFSIZE) as tar:
            for member in tar:
                applier.entry(tar, member)
    except tarfile.TarError as e:
        raise CorruptContent(f"invalid layer tar: {e}") from None
    except EOFError:
        raise CorruptContent("layer tar is truncated") from None
    applier.finish()
