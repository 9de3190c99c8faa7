"""ID mappings as the kernel knows them, and idmapped mounts (through ctypes).

Vocabulary:
  ID map        one line of /proc/PID/uid_map or gid_map (`IDMap`): ids `container_id ..
                container_id + size - 1` inside a user namespace are ids `host_id ..` in its
                parent. "Host" always means the namespace otter itself runs in: the real
                host as root, otter's rootless pause namespace otherwise (engine.userns).
  mapping       the uid maps and gid maps of one user namespace, as tuples of `IDMap`.
  userns fd     an open /proc/PID/ns/user of a short-lived child that did unshare(CLONE_NEWUSER)
                and was given a mapping: the kernel's handle for "this mapping".
  idmapped      a detached bind mount (open_tree(OPEN_TREE_CLONE)) with MOUNT_ATTR_IDMAP set
  mount         from a userns fd: a file owned by id K on disk is seen through it as owned by
                the host id that K maps to. Overlayfs accepts such mounts as lower layers
                (given as /proc/self/fd/N), so one on-disk layer serves every mapping. Only
                root in the initial user namespace may make one on ext4 and most filesystems.
"""

from __future__ import annotations

import os

from otter.record import record
from otter.sys.libc import check, libc
from otter.sys.userns import CLONE_NEWUSER

AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
OPEN_TREE_CLONE = 1
MOUNT_ATTR_IDMAP = 0x00100000
# Syscalls added since Linux 5.1 have one number on every architecture.
SYS_OPEN_TREE = 428
SYS_MOUNT_SETATTR = 442


@record
class IDMap:
    container_id: int
    host_id: int
    size: int

    def __str__(self) -> str:
        """`container:host:size`, the form of `--uidmap` and of inspect's `IDMappings`."""
        return f"{self.container_id}:{self.host_id}:{self.size}"


def to_host(maps: tuple[IDMap, ...], container_id: int) -> int | None:
    for m in maps:
        if m.container_id <= container_id < m.container_id + m.size:
            return m.host_id + container_id - m.container_id
    return None


def to_container(maps: tuple[IDMap, ...], host_id: int) -> int | None:
    for m in maps:
        if m.host_id <= host_id < m.host_id + m.size:
            return m.container_id + host_id - m.host_id
    return None


def map_lines(maps: tuple[IDMap, ...]) -> str:
    """The text written to /proc/PID/uid_map or gid_map."""
    return "".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in maps)


def own_maps(kind: str) -> tuple[IDMap, ...]:
    """This process's own user namespace mapping, `kind` "uid" or "gid": the ids otter can
    hand on to a container (`container_id` here is an id of otter's namespace)."""
    with open(f"/proc/self/{kind}_map") as f:
        return tuple(IDMap(*(int(v) for v in line.split())) for line in f if line.strip())


def userns_fd(uid_maps: tuple[IDMap, ...], gid_maps: tuple[IDMap, ...]) -> int:
    """A userns fd for the mapping (the caller closes it). A forked child unshares a user
    namespace and waits while the parent writes its maps and opens the namespace; the
    namespace outlives the child through the fd."""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            os.close(done_w)
            rc = libc().unshare(CLONE_NEWUSER)
            os.write(ready_w, b"y" if rc == 0 else b"n")
            os.read(done_r, 1)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    try:
        if os.read(ready_r, 1) != b"y":
            raise OSError("cannot create a user namespace for an ID mapping")
        with open(f"/proc/{pid}/uid_map", "w") as f:
            f.write(map_lines(uid_maps))
        with open(f"/proc/{pid}/gid_map", "w") as f:
            f.write(map_lines(gid_maps))
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(done_w)
        os.close(ready_r)
        os.waitpid(pid, 0)


def idmapped_tree(path: str, ns_fd: int) -> int:
    """An fd of a detached, idmapped bind mount of `path` (see the module doc)."""
    import ctypes

    class MountAttr(ctypes.Structure):
        _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                    ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]

    fd = check(libc().syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(), OPEN_TREE_CLONE | os.O_CLOEXEC),
               f"open_tree {path}")
    attr = MountAttr(MOUNT_ATTR_IDMAP, 0, 0, ns_fd)
    try:
        check(libc().syscall(SYS_MOUNT_SETATTR, fd, b"", AT_EMPTY_PATH, ctypes.byref(attr), ctypes.sizeof(attr)),
              f"mount_setattr MOUNT_ATTR_IDMAP {path}")
    except OSError:
        os.close(fd)
        raise
    return fd
