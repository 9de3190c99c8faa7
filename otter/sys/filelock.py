"""Advisory whole-file locks (flock(2)) shared between otter processes."""

from __future__ import annotations

import fcntl
import os


class FileLock:
    """An exclusive or shared flock on a path; a context manager, re-entrant per object."""

    def __init__(self, path: str, shared: bool = False):
        self.path = path
        self.shared = shared
        self._fd: int | None = None
        self._depth = 0

    def __enter__(self) -> "FileLock":
        if self._depth == 0:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
            self._fd = fd
        self._depth += 1
        return self

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            os.close(self._fd)
            self._fd = None
