"""The newuidmap/newgidmap driver (shadow's setuid helpers that write a process's id maps).

An unprivileged user may map only their own id into a new user namespace; these helpers
also map the subordinate ranges granted in /etc/subuid and /etc/subgid.
"""

from __future__ import annotations

import os
import stat
import subprocess

from otter.drivers.runc import find_binary
from otter.errors import InvalidArgument, RuntimeFailure


def binary(name: str) -> str:
    path = find_binary(name)
    if path is None:
        raise InvalidArgument(f"{name} not found: install the uidmap package (rootless mode needs it)")
    mode = os.stat(path).st_mode
    if not mode & stat.S_ISUID:
        raise InvalidArgument(f"{path} is not setuid root: it cannot map subordinate ids (reinstall the uidmap package)")
    return path


def write_map(tool: str, pid: int, mappings: list[tuple[int, int, int]]) -> None:
    """`tool` is "newuidmap" or "newgidmap"; mappings are (inside, outside, count)."""
    argv = [binary(tool), str(pid)] + [str(v) for m in mappings for v in m]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeFailure(f"{tool} {pid}: {proc.stderr.strip() or f'exit status {proc.returncode}'}")
