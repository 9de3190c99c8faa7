"""ID-shifted layers: a layer chain as a container with a user namespace of its own must see it.

Vocabulary:
  mapping       the container's uid and gid maps (`sys.idmap.IDMap`): container ids to host
                ids (ids of otter's own namespace).
  shift         giving a file the host id that its on-disk id maps to. Layers are unpacked
                with the ids their tars name (in otter's namespace), so a shifted file shows
                its image owner inside the container: root's files are owned by container
                root. Ids the mapping lacks become the overflow id (nobody), which is how the
                kernel shows unmapped ids anyway.
  mapping key   a short digest of a mapping; it names the mapping's shifted layers.
  shifted layer an ID-shifted copy of a layer, committed into the snapshotter like any layer
                under the id `mapped/<mapping key>/<layer key>` (`StorePaths.idmapped_layers`),
                so the snapshotter lays it out (overlay: diff, link, a short name in l/) and
                mounts it as usual. Made when a container with that mapping is first mounted,
                shared by every container with the same mapping, and collected (`collect`)
                once no container needs it.
  idmapped      the cheap way, where the kernel allows it (root, kernel overlayfs, a kernel
  lowers        that takes idmapped mounts as lower layers; probed once per boot): the overlay
                mount description carries `uidmapping=`/`gidmapping=` (fuse-overlayfs' option
                form) and `mount_idmapped_overlay` stacks an idmapped mount of each layer, so
                no file is copied. Rootless, ext4 refuses idmapped mounts; shifted layers it is.
  snapshot      the container's own directories (overlay: the upper dir, whose root is the
  ownership     container's `/`, and the work dir; vfs: the whole private copy) are shifted in
                place when the snapshot is prepared.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable

from otter.paths import StorePaths
from otter.storage.snapshot import Mount, Snapshotter
from otter.sys.filelock import FileLock
from otter.sys.idmap import IDMap, idmapped_tree, to_host, userns_fd
from otter.sys.tree import remove_tree

Owner = Callable[[int, int], tuple[int, int]]
IDMAP_OPTIONS = ("uidmapping=", "gidmapping=")
CAPABILITY_XATTR = "security.capability"


def mapping_key(uids: tuple[IDMap, ...], gids: tuple[IDMap, ...]) -> str:
    text = "u" + ",".join(map(str, uids)) + ";g" + ",".join(map(str, gids))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def owner_shift(uids: tuple[IDMap, ...], gids: tuple[IDMap, ...]) -> Owner:
    """The (uid, gid) -> (host uid, host gid) function of a mapping (see "shift")."""
    with open("/proc/sys/kernel/overflowuid") as f:
        overflow_uid = int(f.read())
    with open("/proc/sys/kernel/overflowgid") as f:
        overflow_gid = int(f.read())

    def shift(uid: int, gid: int) -> tuple[int, int]:
        host_uid, host_gid = to_host(uids, uid), to_host(gids, gid)
        return (overflow_uid if host_uid is None else host_uid, overflow_gid if host_gid is None else host_gid)
    return shift


def shift_tree(path: str, owner: Owner) -> None:
    """Shift the owner of everything under `path` (and `path`) in place. chown(2) clears
    set-id bits and file capabilities; both are put back."""
    def one(p: str, st: os.stat_result) -> None:
        uid, gid = owner(st.st_uid, st.st_gid)
        if (uid, gid) == (st.st_uid, st.st_gid):
            return
        caps = None
        if stat.S_ISREG(st.st_mode):
            try:
                caps = os.getxattr(p, CAPABILITY_XATTR, follow_symlinks=False)
            except OSError as e:
                if e.errno not in (errno.ENODATA, errno.ENOTSUP):
                    raise
        os.lchown(p, uid, gid)
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
            os.chmod(p, stat.S_IMODE(st.st_mode))
        if caps is not None:
            os.setxattr(p, CAPABILITY_XATTR, caps, follow_symlinks=False)

    def walk(d: str) -> None:
        with os.scandir(d) as it:
            for entry in it:
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    walk(entry.path)
                one(entry.path, st)
    walk(path)
    one(path, os.lstat(path))


def shift_snapshot(snapshotter: Snapshotter, key: str, owner: Owner) -> None:
    """Shift a freshly prepared snapshot's own directories (see "snapshot ownership")."""
    upper = snapshotter.upper_dir(key)
    shift_tree(upper, owner)
    # overlay's work dir sits beside the upper dir (as inspect's GraphDriver.WorkDir says).
    work = os.path.join(os.path.dirname(upper), "work")
    if os.path.isdir(work):
        st = os.lstat(work)
        os.lchown(work, *owner(st.st_uid, st.st_gid))


class ShiftedLayers:
    """The shifted layers of one store and snapshotter (see the module doc)."""

    def __init__(self, snapshotter: Snapshotter, paths: StorePaths):
        self.snapshotter = snapshotter
        self.paths = paths
        self.root = paths.idmapped_layers(snapshotter.name)

    def lock(self) -> FileLock:
        """Held while shifted layers are made or collected."""
        return FileLock(self.paths.idmapped_layers_lock)

    def layer_id(self, key: str, layer: str) -> str:
        """The snapshotter layer id of `layer` shifted by the mapping with key `key`."""
        return os.path.relpath(os.path.join(self.root, key, layer), self.paths.layers(self.snapshotter.name))

    def ensure(self, chain: list[str], uids: tuple[IDMap, ...], gids: tuple[IDMap, ...]) -> list[str]:
        """The shifted layer ids of `chain` (topmost first), making those that do not exist."""
        key = mapping_key(uids, gids)
        ids = [self.layer_id(key, layer) for layer in chain]
        missing = [(layer, shifted) for layer, shifted in zip(chain, ids) if not self.snapshotter.has_layer(shifted)]
        if missing:
            from otter.storage.vfs import copy_tree
            owner = owner_shift(uids, gids)
            with self.lock():
                os.makedirs(os.path.join(self.root, key), mode=0o700, exist_ok=True)
                for layer, shifted in missing:
                    if self.snapshotter.has_layer(shifted):
                        continue
                    staging = self.snapshotter.stage(None)
                    try:
                        copy_tree(self.snapshotter.content_dir(self.snapshotter.layer_dir(layer)),
                                  self.snapshotter.content_dir(staging), owner)
                        self.snapshotter.commit(staging, shifted)
                    except BaseException:
                        self.snapshotter.discard(staging)
                        raise
        return ids

    def collect(self, needed: set[str]) -> None:
        """Remove every shifted layer whose id is not in `needed` (ids from `layer_id`), and
        the directories left empty. The caller holds `lock()` while it finds `needed`."""
        if not os.path.isdir(self.root):
            return
        for key in os.listdir(self.root):
            for layer in os.listdir(os.path.join(self.root, key)):
                shifted = self.layer_id(key, layer)
                if shifted not in needed:
                    self.snapshotter.remove_layer(shifted)
            _rmdir(os.path.join(self.root, key))
        _rmdir(self.root)


def _rmdir(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError as e:
        if e.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
            raise


def mounts(snapshotter: Snapshotter, key: str, chain: list[str], uids: tuple[IDMap, ...],
           gids: tuple[IDMap, ...], rootless: bool) -> list[Mount]:
    """The mounts of snapshot `key` for a container with this mapping: the snapshotter's
    own when they read no layers (vfs, a scratch root: prepared shifted); kernel overlay
    with idmapped lowers where that works; else the same over shifted layers."""
    plain = snapshotter.mounts(key, chain)
    if not any(o.startswith("lowerdir=") for m in plain for o in m.options):
        return plain
    if not rootless and all(m.type == "overlay" for m in plain) and idmapped_lowers_supported(snapshotter.paths):
        extra = (_mapping_option("uidmapping=", uids), _mapping_option("gidmapping=", gids))
        return [Mount(m.type, m.source, m.options + extra, m.helper) for m in plain]
    return snapshotter.mounts(key, ShiftedLayers(snapshotter, snapshotter.paths).ensure(chain, uids, gids))


def _mapping_option(name: str, maps: tuple[IDMap, ...]) -> str:
    return name + ":".join(f"{m.container_id}:{m.host_id}:{m.size}" for m in maps)


def _parse_mapping_option(value: str) -> tuple[IDMap, ...]:
    numbers = [int(v) for v in value.split(":")]
    return tuple(IDMap(*numbers[i:i + 3]) for i in range(0, len(numbers), 3))


def mount_idmapped_overlay(m: Mount, target: str) -> None:
    """Mount a kernel overlay description that carries `uidmapping=`/`gidmapping=`: each
    lower layer is an idmapped mount of that mapping, passed by fd (see the module doc)."""
    from otter.sys import mount as sysmount
    maps = {o.split("=", 1)[0] + "=": _parse_mapping_option(o.split("=", 1)[1])
            for o in m.options if o.startswith(IDMAP_OPTIONS)}
    ns = userns_fd(maps["uidmapping="], maps["gidmapping="])
    fds: list[int] = []
    try:
        options = []
        for option in m.options:
            if option.startswith("lowerdir="):
                for lower in option.removeprefix("lowerdir=").split(":"):
                    fds.append(idmapped_tree(lower, ns))
                options.append("lowerdir=" + ":".join(f"/proc/self/fd/{fd}" for fd in fds))
            elif not option.startswith(IDMAP_OPTIONS):
                options.append(option)
        described = Mount(m.type, m.source, tuple(options), m.helper)
        sysmount.mount(m.source, target, m.type, sysmount.MS_RDONLY if "ro" in m.options else 0, described.data())
    finally:
        for fd in fds:
            os.close(fd)
        os.close(ns)


def idmapped_lowers_supported(paths: StorePaths) -> bool:
    """Whether kernel overlay takes idmapped lower layers here: probed by a real mount in
    the store's scratch space once, the answer kept in the runroot (it changes only with
    the kernel, i.e. across boots)."""
    try:
        with open(paths.idmapped_lowers_probe) as f:
            return f.read().strip() == "true"
    except FileNotFoundError:
        pass
    import tempfile

    from otter.sys import mount as sysmount
    base = tempfile.mkdtemp(dir=StorePaths.ensure(paths.tmp), prefix="idmap-probe-")
    try:
        for sub in ("lower", "upper", "work", "merged"):
            os.mkdir(os.path.join(base, sub))
        probe = Mount("overlay", "overlay", (
            f"lowerdir={base}/lower", f"upperdir={base}/upper", f"workdir={base}/work",
            _mapping_option("uidmapping=", (IDMap(0, 1, 1),)), _mapping_option("gidmapping=", (IDMap(0, 1, 1),))))
        try:
            mount_idmapped_overlay(probe, os.path.join(base, "merged"))
            sysmount.umount(os.path.join(base, "merged"), sysmount.MNT_DETACH)
            works = True
        except OSError:
            works = False
    finally:
        remove_tree(base)
    os.makedirs(os.path.dirname(paths.idmapped_lowers_probe), mode=0o700, exist_ok=True)
    with open(paths.idmapped_lowers_probe, "w") as f:
        f.write("true" if works else "false")
    return works
