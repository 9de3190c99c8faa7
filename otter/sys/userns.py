"""User and mount namespace syscalls through ctypes (Python 3.11 has neither setns nor unshare)."""

from __future__ import annotations

import os
from functools import lru_cache

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

# Set when otter joins its rootless namespace, where getuid() says 0: whose store this is.
ROOTLESS_UID_ENV = "_OTTER_ROOTLESS_UID"



@lru_cache(maxsize=None)
def _libc():
    # ctypes is loaded on first use: most commands only ask `rootless_uid`.
    import ctypes
    return ctypes, ctypes.CDLL("libc.so.6", use_errno=True)


def rootless_uid() -> int | None:
    """The real uid of an unprivileged user (also from inside its namespace); None for root."""
    value = os.environ.get(ROOTLESS_UID_ENV)
    if value is not None:
        return int(value)
    return os.getuid() if os.getuid() != 0 else None


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = _libc()[0].get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    ctypes, libc = _libc()
    _check(libc.unshare(ctypes.c_int(flags)), "unshare")


def setns(path: str, nstype: int) -> None:
    """Join the namespace at `path` (/proc/PID/ns/KIND). Joining a user namespace is only
    allowed while the process has a single thread."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        ctypes, libc = _libc()
        _check(libc.setns(fd, ctypes.c_int(nstype)), f"setns {path}")
    finally:
        os.close(fd)


def make_mounts_private() -> None:
    """Stop mounts made in this mount namespace from propagating anywhere else."""
    ctypes, libc = _libc()
    _check(libc.mount(b"none", b"/", None, ctypes.c_ulong(MS_REC | MS_PRIVATE), None), "make / rprivate")


def namespace_id(pid: int | str, kind: str) -> int:
    return os.stat(f"/proc/{pid}/ns/{kind}").st_ino


def in_initial_user_namespace() -> bool:
    """True when this process's uid map is the identity map of the whole id space."""
    with open("/proc/self/uid_map") as f:
        fields = f.read().split()
    return fields[:3] == ["0", "0", "4294967295"]
