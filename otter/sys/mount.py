"""mount(2) and umount2(2) through ctypes (Python 3.11 has neither)."""

from __future__ import annotations

import ctypes
import os

from otter.sys.libc import check, libc

MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 0x2


def mount(source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None:
    check(libc().mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None), f"mount {fstype} on {target}")


def umount(target: str, flags: int = 0) -> None:
    check(libc().umount2(target.encode(), flags), f"umount {target}")


def mount_type(path: str) -> str | None:
    """The filesystem type of the topmost mount on `path` (None: nothing is mounted there)."""
    target = os.path.realpath(path)
    found = None
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if fields[4] == target:
                    found = fields[fields.index("-") + 1]
    except OSError:
        return None
    return found


def is_mountpoint(path: str) -> bool:
    try:
        with open("/proc/self/mountinfo") as f:
            target = os.path.realpath(path)
            return any(line.split()[4] == target for line in f)
    except OSError:
        return False
