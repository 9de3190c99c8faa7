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
        elif m.type.startswith("fuse."):
            from otter.drivers import fuse_overlayfs
            fuse_overlayfs.mount(m.helper, m.data(), target)
        elif m.type == "overlay" and any(o.startswith(("uidmapping=", "gidmapping=")) for o in m.options):
            from otter.storage.idmap import mount_idmapped_overlay
            mount_idmapped_overlay(m, target)
        else:
            sysmount.mount(m.source, target, m.type, sysmount.MS_RDONLY if "ro" in m.options else 0, m.data())


def unmount(target: str) -> None:
    """Unmount `target`. A kernel mount is detached (it goes once nothing uses it); a FUSE
    mount is unmounted at once, and its daemon waited for, so that no process outlives it."""
    if (sysmount.mount_type(target) or "").startswith("fuse."):
        from otter.drivers import fuse_overlayfs
        fuse_overlayfs.unmount(target)
    else:
        sysmount.umount(target, sysmount.MNT_DETACH)
