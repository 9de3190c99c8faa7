"""Persistent network namespaces: a namespace kept alive by a bind mount of its nsfs file.

Vocabulary:
  netns file  an empty regular file on which `/proc/<pid>/ns/net` of the namespace's
              creator is bind-mounted (what `ip netns add` makes under /run/netns). The
              mount keeps the namespace alive after its creator exits; joining it by path
              (runc's `linux.namespaces[].path`, `slirp4netns --netns-type=path`) works until
              the file is unmounted.

The namespace belongs to the user namespace of the process that creates it: rootless otter,
running inside its pause process's user namespace, makes namespaces that namespace owns, so
that slirp4netns and runc, started from the same place, may join them.
"""

from __future__ import annotations

import os

from otter.sys import mount, userns

CLONE_NEWNET = 0x40000000


def create(path: str) -> None:
    """Make a new network namespace (only `lo`, down) and pin it on `path`, which must not exist.

    A forked child unshares the namespace and bind-mounts its own nsfs file: unsharing in
    this process instead would leave it in the new namespace, and a rootless process may not
    `setns` back into the host's."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            os.close(err_r)
            userns.unshare(CLONE_NEWNET)
            mount.mount("/proc/self/ns/net", path, "none", mount.MS_BIND)
        except BaseException as e:  # noqa: BLE001 - the child reports every failure to the parent
            os.write(err_w, str(e).encode()[:4000])
            status = 1
        finally:
            os._exit(status)
    os.close(err_w)
    with os.fdopen(err_r, "rb") as f:
        message = f.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if status != 0:
        remove(path)
        raise OSError(message or f"creating a network namespace at {path} failed")


def remove(path: str) -> None:
    """Unpin (lazily unmount) the namespace at `path` and delete the file; idempotent.

    The namespace itself ends once no process runs in it and nothing else holds it."""
    if mount.is_mountpoint(path):
        mount.umount(path, mount.MNT_DETACH)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
