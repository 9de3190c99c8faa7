"""Choosing how a new store keeps its layers: the driver, its options, the rootless fallback.

Vocabulary:
  storage options  Podman's global `--storage-opt KEY=VALUE` (repeatable; `""` means none).
                   otter knows one, containers-storage's `overlay.mount_program` (also spelled
                   `overlay2.mount_program` and `.mount_program`, as c/storage accepts): an
                   absolute path to fuse-overlayfs, which then mounts overlay snapshots
                   instead of the kernel. Other keys are refused, as c/storage refuses them.
  settings         what a store records when it is created (`Snapshotter.settings`: driver
                   and mount program) and keeps using afterwards; `Engine` reads them back,
                   `LayerStore` refuses a request that contradicts them.
  probe            for a new rootless store: a test mount of the kernel overlay (`userxattr`,
                   a whiteout in the lower layer) in the store's scratch directory, from
                   inside otter's user namespace. Run until the store records its settings,
                   so in effect once per store. When it fails, overlay is mounted by
                   fuse-overlayfs if installed and /dev/fuse is usable by the user, else the
                   store falls back to vfs (unless overlay was asked for by name); either
                   way with a warning, never silently.

`OTTER_TEST_NO_KERNEL_OVERLAY=1` makes the probe fail. It exists for the tests only: on a
kernel where rootless overlay works (>= 5.11) it is the one way to exercise the fallback.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from otter import log
from otter.drivers import fuse_overlayfs
from otter.errors import InvalidArgument
from otter.paths import StorePaths

MOUNT_PROGRAM_KEYS = ("overlay.mount_program", "overlay2.mount_program", ".mount_program")
NO_KERNEL_OVERLAY_ENV = "OTTER_TEST_NO_KERNEL_OVERLAY"


def requested_mount_program(options: Sequence[str], driver: str | None = None) -> str | None:
    """The mount program `--storage-opt` options ask for (None: not asked for), for the
    storage driver asked for (None: the store's or the default). It must be an executable
    file, and /dev/fuse usable, before anything is created with it."""
    program = None
    for option in options:
        if not option:
            continue
        key, eq, value = option.partition("=")
        if not eq:
            raise InvalidArgument(f"invalid storage option {option!r}: use KEY=VALUE")
        if key.lower() not in MOUNT_PROGRAM_KEYS:
            raise InvalidArgument(f"unsupported storage option {key!r} (otter supports overlay.mount_program)")
        program = value or None
    if program is not None:
        if driver not in (None, "overlay"):
            raise InvalidArgument(f"storage driver {driver!r} does not support overlay.mount_program")
        fuse_overlayfs.check_program(program)
        fuse_overlayfs.check_device()
    return program


def kernel_overlay_works(paths: StorePaths) -> bool:
    """Whether the kernel overlay can be mounted here, the way a rootless snapshot is (see
    the module doc: probe)."""
    if os.environ.get(NO_KERNEL_OVERLAY_ENV) == "1":
        log.debug(f"{NO_KERNEL_OVERLAY_ENV}=1: taking the kernel overlay for unusable")
        return False
    import shutil
    import stat
    import tempfile

    from otter.sys import mount as sysmount
    scratch = tempfile.mkdtemp(dir=StorePaths.ensure(paths.tmp), prefix="overlay-probe-")
    try:
        lower, upper, work, merged = (os.path.join(scratch, d) for d in ("lower", "upper", "work", "merged"))
        for d in (lower, upper, work, merged):
            os.mkdir(d)
        os.mknod(os.path.join(lower, "deleted"), stat.S_IFCHR | 0o600, os.makedev(0, 0))
        sysmount.mount("overlay", merged, "overlay", 0,
                       f"lowerdir={lower},upperdir={upper},workdir={work},userxattr")
        sysmount.umount(merged, sysmount.MNT_DETACH)
        return True
    except OSError as e:
        log.debug(f"the kernel overlay cannot be mounted in the user namespace: {e}")
        return False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def rootless_overlay(paths: StorePaths, by_name: bool) -> tuple[str, str]:
    """(driver, mount program) for a new rootless store that is to use overlay, asked for by
    name (`--storage-driver overlay`) or by default."""
    if kernel_overlay_works(paths):
        return "overlay", ""
    program = fuse_overlayfs.find()
    why = "fuse-overlayfs is not installed" if program is None else fuse_overlayfs.device_error()
    if program is not None and why is None:
        log.warning(f"the kernel overlay cannot be mounted in the user namespace: mounting overlay with {program}")
        return "overlay", program
    if by_name:
        raise InvalidArgument(f"storage driver overlay: the kernel overlay cannot be mounted in the user namespace "
                              f"and fuse-overlayfs cannot be used instead ({why}): use --storage-driver vfs")
    log.warning(f"the kernel overlay cannot be mounted in the user namespace and fuse-overlayfs cannot be "
                f"used ({why}): using the vfs storage driver")
    return "vfs", ""
