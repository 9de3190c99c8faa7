"""The fuse-overlayfs driver: overlay in user space, served by a FUSE daemon.

Vocabulary:
  mount program  the program that mounts an overlay snapshot instead of the kernel
                 (containers-storage's `overlay.mount_program`), called as
                 `PROGRAM -o lowerdir=…,upperdir=…,workdir=… TARGET`, the way c/storage calls it.
  daemon         the process that serves the mount: the program mounts, forks into the
                 background (its standard streams on /dev/null) and answers the kernel until
                 the mount goes away, then exits. Its command line still names TARGET last,
                 which is how `unmount` finds it; it is reparented to init, so nobody else
                 waits for it.
  /dev/fuse      the device every FUSE daemon opens. The user needs read and write access
                 to it: stock Debian has it 0666, some hosts 0600 (root only).

What fuse-overlayfs 1.10 writes into an upper dir (verified here, as root and in a user
namespace): a deletion is a 0:0 character device, as with the kernel (a `.wh.NAME` file
where mknod is refused); an opaque directory gets the xattr `trusted.overlay.opaque=y`
(root) or `user.fuseoverlayfs.opaque=y` (user namespace) AND a regular file `.wh..wh..opq`
AND a 0:0 character device `.wh..opq`. `storage.diff` reads all of these.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import tempfile
import time

from otter import log
from otter.drivers.runc import find_binary
from otter.errors import InvalidArgument, RuntimeFailure
from otter.sys import mount as sysmount
from otter.sys.procfs import alive

PROGRAM = "fuse-overlayfs"
DEVICE = "/dev/fuse"
EXIT_TIMEOUT = 5.0   # seconds the daemon gets to exit once its mount is gone


def find() -> str | None:
    """The absolute path of fuse-overlayfs on the search path, or None."""
    return find_binary(PROGRAM)


def check_program(path: str) -> str:
    """`path` if it is an executable file given by absolute path, else an InvalidArgument."""
    if not os.path.isabs(path):
        raise InvalidArgument(f"overlay.mount_program \"{path}\": must be an absolute path")
    try:
        st = os.stat(path)
    except OSError as e:
        raise InvalidArgument(f"overlay.mount_program \"{path}\": {e.strerror.lower()}") from None
    if not stat.S_ISREG(st.st_mode) or not os.access(path, os.X_OK):
        raise InvalidArgument(f"overlay.mount_program \"{path}\": not an executable file")
    return path


def device_error() -> str | None:
    """Why this user cannot use FUSE (None: /dev/fuse opens for reading and writing)."""
    try:
        os.close(os.open(DEVICE, os.O_RDWR | os.O_CLOEXEC))
        return None
    except OSError as e:
        return f"cannot open {DEVICE}: {e.strerror.lower()}"


def check_device() -> None:
    why = device_error()
    if why is not None:
        raise InvalidArgument(f"fuse-overlayfs needs read and write access to {DEVICE}: {why} "
                              f"(ask the administrator for access, e.g. `setfacl -m u:$USER:rw {DEVICE}`, "
                              "or use the kernel overlay or --storage-driver vfs)")


def mount(program: str, data: str, target: str) -> None:
    """Mount with `program -o data target`; returns once the mount is in place."""
    check_device()
    with tempfile.TemporaryFile() as err:
        # Not a pipe: the daemon outlives this call, and a pipe it inherited would keep
        # the read side waiting for an end of file that never comes.
        proc = subprocess.run([program, "-o", data, target], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=err)
        if proc.returncode == 0:
            return
        err.seek(0)
        lines = [line for line in err.read().decode(errors="replace").splitlines()
                 if line and not line.startswith("unknown argument ignored")]
    detail = lines[-1] if lines else f"exit status {proc.returncode}"
    raise RuntimeFailure(f"mounting {target} with {program}: {detail}")


def daemons(target: str) -> list[int]:
    """The pids of the daemons serving a mount on `target` (by their command line)."""
    from otter.sys.procfs import command_lines
    tail = os.fsencode(target)
    return [pid for pid, argv in command_lines() if len(argv) >= 4 and argv[-1] == tail and b"-o" in argv]


def unmount(target: str) -> None:
    """Unmount `target` and wait until its daemon has exited.

    A plain unmount ends the FUSE connection and with it the daemon. If the mount is busy it
    is detached instead, and the daemon lives on until the last user lets go; it is not
    waited for then."""
    pids = daemons(target)
    try:
        sysmount.umount(target)
    except OSError as e:
        if e.errno != errno.EBUSY:
            raise
        log.debug(f"{target} is busy: detaching it, its fuse-overlayfs ends with its last user")
        sysmount.umount(target, sysmount.MNT_DETACH)
        return
    deadline = time.monotonic() + EXIT_TIMEOUT
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            for pid in pids:
                if alive(pid):
                    log.warning(f"fuse-overlayfs (pid {pid}) still runs after {target} was unmounted: killing it")
                    os.kill(pid, 9)
            return
        time.sleep(0.01)
