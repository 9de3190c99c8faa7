"""Performing the mount descriptions a Snapshotter returns (`storage.snapshot.Mount`)."""

from __future__ import annotations

from otter.storage.snapshot import Mount
from otter.sys import mount as sysmount


def mount_all(mounts: list[Mount], target: str) -> None:
    for m in mounts:
        if m.type == "bind":
            flags = sysmount.MS_BIND | (sysmount.MS_REC if "rbind" in m.options else 0)
            sysmount.mount(m.source, target, "", flags)
            if "ro" in m.options:
                sysmount.mount("", target, "", flags | sysmount.MS_RDONLY | sysmount.MS_REMOUNT)
        else:
            sysmount.mount(m.source, target, m.type, sysmount.MS_RDONLY if "ro" in m.options else 0, m.data())


def unmount(target: str) -> None:
    sysmount.umount(target, sysmount.MNT_DETACH)
