"""Reading other processes from /proc."""

from __future__ import annotations

import os
from collections.abc import Iterator


def command_lines() -> Iterator[tuple[int, list[bytes]]]:
    """(pid, argv) of every process whose command line is readable. Zombies and kernel
    threads have an empty one and are left out."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")[:-1]
        except OSError:
            continue
        if argv:
            yield int(name), argv


def start_time(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot), or None when it is gone or a
    zombie. With the pid, it names one process: a reused pid has another start time."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def alive(pid: int, start: int = 0) -> bool:
    """Whether `pid` runs (not a zombie) and, given `start`, is still the process that
    started then."""
    if pid <= 0:
        return False
    current = start_time(pid)
    return current is not None and (not start or current == start)
