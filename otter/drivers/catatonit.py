"""The catatonit driver: the rootless *pause process* that holds otter's user namespace.

`catatonit -P` only pauses. Started in a fresh user + mount namespace, it keeps both alive
between otter commands, so that every command (and conmon, and runc) can join the same
namespaces: storage mounts and id mappings outlive a single invocation.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from otter.drivers.runc import find_binary
from otter.errors import InvalidArgument
from otter.sys import userns


def start_pause_process(write_maps: Callable[[int], None]) -> int:
    """Fork a child into new user and mount namespaces, let `write_maps(pid)` map its ids
    from outside (only the parent may run newuidmap for it), then exec `catatonit -P` in it.
    Returns the pause process's pid."""
    catatonit = find_binary("catatonit")
    if catatonit is None:
        raise InvalidArgument("catatonit not found: install the catatonit package (rootless mode needs it)")
    ready_r, ready_w = os.pipe()
    mapped_r, mapped_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(ready_r)
            os.close(mapped_w)
            userns.unshare(userns.CLONE_NEWUSER | userns.CLONE_NEWNS)
            os.write(ready_w, b"1")
            if os.read(mapped_r, 1) == b"1":
                os.setsid()
                userns.make_mounts_private()
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.execv(catatonit, [catatonit, "-P"])
        except BaseException:
            status = 2
        finally:
            os._exit(status)
    os.close(ready_w)
    os.close(mapped_r)
    try:
        if os.read(ready_r, 1) != b"1":
            raise OSError("the pause process could not create its user namespace "
                          "(are unprivileged user namespaces disabled?)")
        write_maps(pid)
        os.write(mapped_w, b"1")
    except BaseException:
        os.close(mapped_w)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(ready_r)
    os.close(mapped_w)
    return pid
