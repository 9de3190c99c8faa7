"""User and mount namespace syscalls through ctypes (Python 3.11 has neither setns nor unshare)."""

from __future__ import annotations

import os

from otter.sys.libc import check, libc

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000

# Set when otter joins its rootless namespace, where getuid() says 0: whose store this is.
ROOTLESS_UID_ENV = "_OTTER_ROOTLESS_UID"


def rootless_uid() -> int | None:
    """The real uid of an unprivileged user (also from inside its namespace); None for root."""
    value = os.environ.get(ROOTLESS_UID_ENV)
    if value is not None:
        return int(value)
    return os.getuid() if os.getuid() != 0 else None


def unshare(flags: int) -> None:
    check(libc().unshare(flags), "unshare")


def setns(path: str, nstype: int) -> None:
    """Join the namespace at `path` (/proc/PID/ns/KIND). Joining a user namespace is only
    allowed while the process has a single thread."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        check(libc().setns(fd, nstype), f"setns {path}")
    finally:
        os.close(fd)


def make_mounts_private() -> None:
    """Stop mounts made in this mount namespace from propagating anywhere else."""
    from otter.sys import mount
    mount.mount("none", "/", "", mount.MS_REC | mount.MS_PRIVATE)


def namespace_id(pid: int | str, kind: str) -> int:
    return os.stat(f"/proc/{pid}/ns/{kind}").st_ino


def in_initial_user_namespace() -> bool:
    """True when this process's uid map is the identity map of the whole id space."""
    with open("/proc/self/uid_map") as f:
        fields = f.read().split()
    return fields[:3] == ["0", "0", "4294967295"]
