"""Connecting to unix sockets whose paths are longer than `sun_path` (108 bytes).

Store paths under a deep `--runroot` (tests use pytest's temporary directories) easily pass
that limit. A longer path is reached through `/proc/self/fd/<fd of its directory>/<name>`,
which the kernel resolves like any other path and which is always short.
"""

from __future__ import annotations

import os
import socket

SUN_PATH_MAX = 107  # 108 bytes, the last one for the terminating NUL


def connect(path: str, kind: int = socket.SOCK_STREAM, timeout: float | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, kind)
    try:
        if timeout is not None:
            sock.settimeout(timeout)
        if len(os.fsencode(path)) <= SUN_PATH_MAX:
            sock.connect(path)
        else:
            directory = os.open(os.path.dirname(path), os.O_PATH | os.O_CLOEXEC)
            try:
                sock.connect(f"/proc/self/fd/{directory}/{os.path.basename(path)}")
            finally:
                os.close(directory)
    except BaseException:
        sock.close()
        raise
    return sock
