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
