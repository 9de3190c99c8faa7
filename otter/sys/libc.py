"""The C library, for the system calls Python's `os` module lacks (mount, unshare, setns, ...).

Loaded once per process and on first use: importing ctypes costs about 1.5 ms, and many
commands never make such a call. By soname: `ctypes.util.find_library` would run
`ldconfig -p`, milliseconds per call.
"""

from __future__ import annotations

import os
from functools import lru_cache


@lru_cache(maxsize=None)
def libc():
    import ctypes
    return ctypes.CDLL("libc.so.6", use_errno=True)


def check(rc: int, what: str) -> int:
    """The result of a libc call that returns -1 and sets errno on failure; raises
    OSError(errno, "WHAT: reason") then."""
    if rc < 0:
        import ctypes
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return rc
