"""Layer diffs: what a snapshot changed, as Podman's change list (`diff`) and as a layer tar (`commit`).

Vocabulary:
  upper dir    an overlay snapshot's own directory (`Snapshotter.upper_dir`): only what the
               container wrote, with deletions as whiteouts (a 0:0 character device) and
               directories whose lower contents are hidden marked *opaque*
               (`<prefix>overlay.opaque=y`; `trusted.` as root, `user.` rootless).
               fuse-overlayfs writes the same, and also its own forms (`drivers.fuse_overlayfs`):
               a deletion as a `.wh.NAME` file, opacity as `user.fuseoverlayfs.opaque=y`
               and the markers `.wh..wh..opq` (a file) and `.wh..opq` (a 0:0 device) in the
               directory. All forms are read from every upper dir: names starting with `.wh.`
               are reserved, as in a layer tar.
  lowers       the layer directories below an upper dir, topmost first, as overlay stacks
               them. Together they form the *lower view*: what the snapshot looked like
               before anything was written.
  full tree    a vfs snapshot or layer: the complete root filesystem. Its changes are found
               by comparing it with the full tree of its parent (`changes_by_compare`),
               which is Docker's "naive diff".
  change       `(kind, path)`: kind `A` (the path exists now and did not before), `C` (it
               existed and is different, or something below it changed), `D` (it existed
               and is gone); path absolute as the container sees it (`/etc/passwd`). A
               deleted directory is one `D`, its contents are not listed. Every directory
               above a change is listed as `C`, as Podman prints it.
  layer tar    an OCI layer: the changed entries, `dir/.wh.NAME` for a deleted NAME and
               `dir/.wh..wh..opq` when a directory hides everything below it
               (mechanics.md 3.4). Entries are in a fixed order (names sorted, each
               directory before what it holds), so the same tree gives the same tar.
  exclude      container paths left out of both the change list and the tar (the mount
               points the engine creates in every container); what lies below them is not.

Overlay-private xattrs (`trusted.overlay.*`, `user.overlay.*`) never enter a tar; other
xattrs (`security.capability`, ...) travel as PAX `SCHILY.xattr.<name>` records, which
`storage.unpack.apply_tar` restores. Regular files that are hard links to each other are
written once and then as link entries. Sockets cannot be archived and are skipped.

The upper dir is trusted to hold whole files (overlay `metacopy=off`) and no renamed
directories (`redirect_dir=off`); the overlay snapshotter mounts that way.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import tarfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import BinaryIO

from otter import log
from otter.record import record
from otter.storage.unpack import OPAQUE_MARKER, WHITEOUT_PREFIX, XATTR_PAX_PREFIX

ADDED = "A"
CHANGED = "C"
DELETED = "D"

BLOCK = 512
COPY_CHUNK = 1 << 20
OVERLAY_XATTRS = ("trusted.overlay.", "user.overlay.", "user.fuseoverlayfs.")
FUSE_OPAQUE_XATTR = "user.fuseoverlayfs.opaque"
FUSE_OPAQUE_DEVICE = ".wh..opq"   # fuse-overlayfs's 0:0 device beside `.wh..wh..opq` in an opaque dir
CAPABILITY_XATTR = "security.capability"

Change = tuple[str, str]   # (kind, "/path")
# (uid, gid) on disk -> (uid, gid) an archive records (`TarStream`'s `ids`).
IdTranslation = Callable[[int, int], tuple[int, int]]


# -- writing tars ---------------------------------------------------------------------------

class TarStream:
    """A PAX tar written to a file descriptor or binary file as entries are added, never
    buffered whole. File data goes kernel-side (sendfile) when the output is a descriptor.

    `owner`, when given, is the uid/gid every entry is written with (`cp --archive`).
    `ids`, when given, turns the uid and gid a file has on disk into the ones its entry
    records: for a container with its own user namespace, the ids the container sees.
    """

    def __init__(self, out: int | BinaryIO, owner: tuple[int, int] | None = None, ids: IdTranslation | None = None):
        self._fd = out if isinstance(out, int) else None
        self._file = None if isinstance(out, int) else out
        self._owner = owner
        self._ids = ids
        self._first_link: dict[tuple[int, int], str] = {}   # (dev, ino) -> name it was first written as

    def _write(self, data: bytes) -> None:
        if self._file is not None:
            self._file.write(data)
            return
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def add(self, info: tarfile.TarInfo, data: str | BinaryIO | None = None) -> None:
        """Write one entry. A regular file's `info.size` bytes come from `data`: a host path
        (opened without following symlinks) or a reader."""
        if self._owner is not None:
            info.uid, info.gid = self._owner
            info.uname = info.gname = ""
        # A TarInfo read from another tar still holds that tar's PAX records (path, size, uid,
        # ...), which `tobuf` would let win over the fields: keep only the xattrs.
        info.pax_headers = {k: v for k, v in info.pax_headers.items() if k.startswith(XATTR_PAX_PREFIX)}
        if info.isreg():
            info.type = tarfile.REGTYPE   # also for the old-style and sparse variants a reader may hand over
        self._write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        if not info.isreg() or info.size == 0:
            return
        if isinstance(data, str):
            fd = os.open(data, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                copied = self._copy(lambda n: os.read(fd, n), info.size, fd)
            finally:
                os.close(fd)
        else:
            copied = self._copy(data.read, info.size, None)
        if copied < info.size:
            # A file of a running container shrank while being read: keep the archive valid.
            log.warning(f"{info.name} shrank while being archived: {info.size - copied} bytes zero-filled")
            self._write(bytes(info.size - copied))
        if info.size % BLOCK:
            self._write(bytes(BLOCK - info.size % BLOCK))

    def _copy(self, read: Callable[[int], bytes], size: int, src_fd: int | None) -> int:
        """Copy up to `size` bytes; returns how many there were."""
        done = 0
        if src_fd is not None and self._fd is not None:
            try:
                while done < size:
                    sent = os.sendfile(self._fd, src_fd, None, size - done)
                    if sent == 0:
                        break
                    done += sent
            except OSError as e:
                if e.errno not in (errno.EINVAL, errno.ENOSYS):
                    raise
                # This output takes no sendfile (e.g. a terminal): go on with read/write.
        while done < size:
            chunk = read(min(COPY_CHUNK, size - done))
            if not chunk:
                break
            self._write(chunk)
            done += len(chunk)
        return done

    def add_path(self, name: str, host: str, st: os.stat_result | None = None) -> None:
        """Write the file, directory, symlink, device or fifo at `host` as entry `name`."""
        st = st if st is not None else os.lstat(host)
        info = self._describe(name, host, st)
        if info is not None:
            self.add(info, host if info.isreg() else None)

    def _describe(self, name: str, host: str, st: os.stat_result) -> tarfile.TarInfo | None:
        mode = st.st_mode
        info = tarfile.TarInfo(name)
        info.mode = stat.S_IMODE(mode)
        info.uid, info.gid = self._ownership(st)
        info.mtime = int(st.st_mtime)   # whole seconds, as Docker and Podman write layers
        if stat.S_ISREG(mode) and st.st_nlink > 1:
            first = self._first_link.setdefault((st.st_dev, st.st_ino), name)
            if first != name:
                info.type, info.linkname = tarfile.LNKTYPE, first
                return info
        if stat.S_ISREG(mode):
            info.type, info.size = tarfile.REGTYPE, st.st_size
        elif stat.S_ISDIR(mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(host)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(mode):
            info.type = tarfile.FIFOTYPE
        else:
            return None
        info.pax_headers = _xattr_records(host)
        return info

    def add_whiteout(self, path: str, st: os.stat_result) -> None:
        """Record that `path` is deleted: an empty `.wh.NAME` beside it, owned and dated as `st`."""
        parent, base = posixpath.split(path)
        self.add(self._marker(posixpath.join(parent, WHITEOUT_PREFIX + base), st, 0o600))

    def add_opaque(self, directory: str, st: os.stat_result) -> None:
        """Record that `directory` hides what lower layers have in it (`st`: the directory's)."""
        self.add(self._marker(posixpath.join(directory, OPAQUE_MARKER), st, stat.S_IMODE(st.st_mode)))

    def close(self) -> None:
        self._write(bytes(2 * BLOCK))

    def _ownership(self, st: os.stat_result) -> tuple[int, int]:
        return self._ids(st.st_uid, st.st_gid) if self._ids is not None else (st.st_uid, st.st_gid)

    def _marker(self, name: str, st: os.stat_result, mode: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.mode = mode
        info.uid, info.gid = self._ownership(st)
        info.mtime = int(st.st_mtime)
        return info


def _xattr_records(host: str) -> dict[str, str]:
    try:
        names = os.listxattr(host, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM):
            return {}
        raise
    records = {}
    for name in sorted(names):
        if name.startswith(OVERLAY_XATTRS):
            continue
        try:
            value = os.getxattr(host, name, follow_symlinks=False)
        except OSError as e:
            if e.errno in (errno.ENODATA, errno.ENOTSUP, errno.EPERM):
                continue
            raise
        records[XATTR_PAX_PREFIX + name] = value.decode("utf-8", "surrogateescape")
    return records


def walk_tree(host: str, name: str) -> Iterator[tuple[str, str, os.stat_result]]:
    """(entry name, host path, lstat) for the tree at `host`, each directory before what it
    holds, names sorted. The root is named `name` and everything below `name/...`; with
    `name` "" the root itself is not listed. Symlinks are listed, never followed. Entries
    that vanish while walking (a running container) are skipped."""
    stack = [(name, host)]
    while stack:
        entry, path = stack.pop()
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if entry:
            yield entry, path, st
        if stat.S_ISDIR(st.st_mode):
            stack += [(posixpath.join(entry, child), os.path.join(path, child))
                      for child in _listdir(path, reverse=True)]


def write_tree_tar(host: str, name: str, out: int | BinaryIO, ids: IdTranslation | None = None) -> None:
    """A tar of the whole tree at `host` (named as in `walk_tree`): `export`, `cp` to stdout."""
    tar = TarStream(out, ids=ids)
    for entry, path, st in walk_tree(host, name):
        tar.add_path(entry, path, st)
    tar.close()


def _listdir(path: str, reverse: bool = False) -> list[str]:
    try:
        return sorted(os.listdir(path), reverse=reverse)
    except FileNotFoundError:
        return []


# -- the lower view and the upper dir (overlay) ------------------------------------------------

def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str, xattr_prefix: str) -> bool:
    for name in (xattr_prefix + "overlay.opaque", FUSE_OPAQUE_XATTR):
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            pass
    return os.path.lexists(os.path.join(path, OPAQUE_MARKER))


def _upper_name(base: str, st: os.stat_result) -> tuple[str | None, bool]:
    """What the upper-dir entry `base` stands for: (the name it changes, whether it deletes
    that name); (None, False) for a mark of its directory's opacity, which is no entry."""
    if base in (OPAQUE_MARKER, FUSE_OPAQUE_DEVICE):
        return None, False
    if base.startswith(WHITEOUT_PREFIX) and not stat.S_ISDIR(st.st_mode):
        return base[len(WHITEOUT_PREFIX):], True
    return base, is_whiteout(st)


@record
class _LowerDir:
    """One directory of the lower view: the layer directories that make it up, topmost first."""

    dirs: tuple[str, ...]
    xattr_prefix: str

    def child(self, name: str) -> tuple[os.stat_result | None, _LowerDir]:
        """What the lower view shows at `name` (None: nothing) and, for a directory, its own view.

        The topmost layer that has `name` decides; a whiteout hides it; a directory merges
        with the same directory in the layers below until one of them is opaque or holds a
        non-directory there.
        """
        shown: os.stat_result | None = None
        below: list[str] = []
        for layer_dir in self.dirs:
            path = os.path.join(layer_dir, name)
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if is_whiteout(st) or (shown is not None and not stat.S_ISDIR(st.st_mode)):
                break
            if shown is None:
                shown = st
            if not stat.S_ISDIR(st.st_mode):
                break
            below.append(path)
            if _is_opaque(path, self.xattr_prefix):
                break
        return shown, _LowerDir(tuple(below), self.xattr_prefix)

    def names(self) -> list[str]:
        """The names the lower view shows in this directory."""
        candidates = {n for d in self.dirs for n in _listdir(d)}
        return sorted(n for n in candidates if self.child(n)[0] is not None)


@record
class _UpperEntry:
    path: str                       # "/etc/passwd"
    host: str
    st: os.stat_result
    lower: os.stat_result | None    # what the lower view shows at `path`
    view: _LowerDir                 # the lower view below `path`, when that is a directory
    opaque: bool
    whiteout: bool                  # deletes `path` (`st` is the whiteout's own)

    @property
    def over_directory(self) -> bool:
        """A directory standing on a directory of the lower view."""
        return stat.S_ISDIR(self.st.st_mode) and self.lower is not None and stat.S_ISDIR(self.lower.st_mode)


def _upper_entries(upper: str, lowers: Sequence[str], xattr_prefix: str) -> Iterator[_UpperEntry]:
    """Every entry of the upper dir, each directory before what it holds, names sorted."""
    views = {"": _LowerDir(tuple(lowers), xattr_prefix)}   # directory entry name -> its lower view
    for name, host, st in walk_tree(upper, ""):
        parent, entry = posixpath.split(name)
        base, whiteout = _upper_name(entry, st)
        if base is None:
            continue
        lower, view = views[parent].child(base)
        is_dir = stat.S_ISDIR(st.st_mode)
        if is_dir:
            views[name] = view
        yield _UpperEntry("/" + posixpath.join(parent, base), host, st, lower, view,
                          is_dir and _is_opaque(host, xattr_prefix), whiteout)


def _upper_names(directory: str) -> set[str]:
    """The names an upper directory has entries for, deletions included."""
    names = set()
    for entry in _listdir(directory):
        try:
            base = _upper_name(entry, os.lstat(os.path.join(directory, entry)))[0]
        except FileNotFoundError:
            continue
        if base is not None:
            names.add(base)
    return names


def _same_directory(old: os.stat_result, new: os.stat_result) -> bool:
    """Both directories, with the same permissions and owner (their times and sizes change
    whenever something inside does, which the entries below report themselves)."""
    return (stat.S_ISDIR(old.st_mode) and stat.S_ISDIR(new.st_mode)
            and (old.st_mode, old.st_uid, old.st_gid) == (new.st_mode, new.st_uid, new.st_gid))


def _upper_changes(upper: str, lowers: Sequence[str], xattr_prefix: str) -> Iterator[Change]:
    for e in _upper_entries(upper, lowers, xattr_prefix):
        if e.whiteout:
            if e.lower is not None:
                yield DELETED, e.path
            continue
        if e.lower is None:
            yield ADDED, e.path
        elif not _same_directory(e.lower, e.st):
            # A non-directory in the upper dir was copied up: written, or its metadata changed.
            yield CHANGED, e.path
        if e.opaque and e.over_directory:
            # Deleted and made again: what the lower directory held and this one lacks is gone.
            present = _upper_names(e.host)
            for name in e.view.names():
                if name not in present:
                    yield DELETED, f"{e.path}/{name}"


def changes(upper: str, lowers: Sequence[str], xattr_prefix: str, exclude: Collection[str] = ()) -> list[Change]:
    """The changes an overlay upper dir makes to its lower layers."""
    return _report(_upper_changes(upper, lowers, xattr_prefix), exclude)


def write_layer_tar(upper: str, lowers: Sequence[str], out: int | BinaryIO, xattr_prefix: str,
                    exclude: Collection[str] = (), ids: IdTranslation | None = None) -> None:
    """Stream the layer tar of an overlay upper dir: whiteouts become `.wh.` entries, opaque
    directories that exist below get `.wh..wh..opq`, overlay xattrs are dropped."""
    tar = TarStream(out, ids=ids)
    for e in _upper_entries(upper, lowers, xattr_prefix):
        if e.path in exclude:
            continue
        name = e.path[1:]
        if e.whiteout:
            if e.lower is not None:   # hiding nothing: no entry
                tar.add_whiteout(name, e.st)
            continue
        tar.add_path(name, e.host, e.st)
        if e.opaque and e.over_directory:
            tar.add_opaque(name, e.st)
    tar.close()


# -- full trees (vfs) -----------------------------------------------------------------------------

def _lstat(path: str | None) -> os.stat_result | None:
    if path is None:
        return None
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _capability(path: str) -> bytes | None:
    try:
        return os.getxattr(path, CAPABILITY_XATTR, follow_symlinks=False)
    except OSError:
        return None


def _same_time(a_ns: int, b_ns: int) -> bool:
    """Equal modification times, allowing for one of them having come through a tar, which
    keeps whole seconds only (Docker compares the same way)."""
    second = 1_000_000_000
    return a_ns == b_ns or (a_ns // second == b_ns // second and (a_ns % second == 0 or b_ns % second == 0))


def _modified(old_path: str, old: os.stat_result, new_path: str, new: os.stat_result) -> bool:
    """Whether an entry present in both trees differs. Content is judged by size and
    modification time, as Docker does: a copy keeps both, a write changes them."""
    if stat.S_ISDIR(old.st_mode) or stat.S_ISDIR(new.st_mode):
        return not _same_directory(old, new)
    if (old.st_mode, old.st_uid, old.st_gid) != (new.st_mode, new.st_uid, new.st_gid):
        return True
    if stat.S_ISLNK(new.st_mode):
        return os.readlink(old_path) != os.readlink(new_path)
    if stat.S_ISCHR(new.st_mode) or stat.S_ISBLK(new.st_mode):
        return old.st_rdev != new.st_rdev
    if stat.S_ISREG(new.st_mode):
        return old.st_size != new.st_size or not _same_time(old.st_mtime_ns, new.st_mtime_ns) or \
            _capability(old_path) != _capability(new_path)
    return False


def _compared(new_root: str, old_root: str | None) -> Iterator[Change]:
    def pairs(path: str, new_dir: str, old_dir: str | None) -> list[tuple[str, str, str | None]]:
        names = set(_listdir(new_dir)) | (set(_listdir(old_dir)) if old_dir else set())
        return [(f"{path}/{n}", os.path.join(new_dir, n), os.path.join(old_dir, n) if old_dir else None)
                for n in sorted(names, reverse=True)]

    stack = pairs("", new_root, old_root)
    while stack:
        path, new_path, old_path = stack.pop()
        new, old = _lstat(new_path), _lstat(old_path)
        if new is None:
            if old is not None:
                yield DELETED, path
            continue
        if old is None or old_path is None:
            yield ADDED, path
        elif _modified(old_path, old, new_path, new):
            yield CHANGED, path
        if stat.S_ISDIR(new.st_mode):
            stack += pairs(path, new_path, old_path if old is not None and stat.S_ISDIR(old.st_mode) else None)


def changes_by_compare(new_root: str, old_root: str | None, exclude: Collection[str] = ()) -> list[Change]:
    """The changes that turn full tree `old_root` (None: an empty tree) into `new_root`."""
    return _report(_compared(new_root, old_root), exclude)


def write_changes_tar(new_root: str, found: Iterable[Change], out: int | BinaryIO,
                      ids: IdTranslation | None = None) -> None:
    """Stream the layer tar of changes found by `changes_by_compare`: added and changed
    entries from `new_root`, a whiteout for each deletion (dated as its parent directory)."""
    tar = TarStream(out, ids=ids)
    for kind, path in found:
        name = path[1:]
        if kind == DELETED:
            tar.add_whiteout(name, os.lstat(os.path.join(new_root, posixpath.dirname(name))))
        else:
            tar.add_path(name, os.path.join(new_root, name))
    tar.close()


# -- the change list ----------------------------------------------------------------------------------

def _report(found: Iterable[Change], exclude: Collection[str]) -> list[Change]:
    """The change list from changes found in walk order (each directory before what it holds):
    excluded paths dropped, and each directory above a change listed as changed once."""
    out: list[Change] = []
    listed: set[str] = set()
    for kind, path in found:
        if path in exclude:
            continue
        parents = []
        parent = posixpath.dirname(path)
        while parent != "/" and parent not in listed:
            listed.add(parent)
            if parent not in exclude:
                parents.append((CHANGED, parent))
            parent = posixpath.dirname(parent)
        out += reversed(parents)
        out.append((kind, path))
        listed.add(path)
    return out
