"""Resource usage of containers (`otter stats --no-stream`), read from cgroup v1 files.

Vocabulary:
  cgroup    the cgroup `/otter-<id>` that `engine.lifecycle` asks runc to put a container in
            (its `cgroupsPath`), created under every v1 hierarchy:
            `/sys/fs/cgroup/<controller>/otter-<id>/`.
  sample    one reading of a container's counters (`ContainerStats`). A container that is not
            running, or has no cgroup, reads as all zeros, as in Podman.
  CPU %     CPU time used since the container started, over the wall time since then: what
            Podman computes for its first sample (it measures against the start time when it
            has no previous sample), and so for `--no-stream`, which takes only that one.
"""

from __future__ import annotations

import os
import time

from otter.errors import InvalidArgument
from otter.record import TYPE_CHECKING, record

if TYPE_CHECKING:
    from otter.core.container import Container
    from otter.engine.context import Engine

CGROUP_ROOT = "/sys/fs/cgroup"


@record
class ContainerStats:
    container_id: str
    name: str
    cpu_nano: int = 0          # CPU time used, ns (cpuacct.usage)
    cpu_percent: float = 0.0
    mem_usage: int = 0         # bytes (memory.usage_in_bytes)
    mem_limit: int = 0         # the cgroup's limit, at most the host's memory
    mem_percent: float = 0.0
    net_input: int = 0         # bytes received on the container's interfaces other than lo
    net_output: int = 0
    block_input: int = 0       # bytes read from block devices
    block_output: int = 0
    pids: int = 0


def _cgroup_file(controller: str, cid: str, name: str) -> str:
    return os.path.join(CGROUP_ROOT, controller, f"otter-{cid}", name)


def _read_int(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return 0


def _block_io(cid: str) -> tuple[int, int]:
    """Bytes read and written: the `MAJ:MIN Read|Write N` lines of blkio's recursive counter."""
    read = written = 0
    try:
        with open(_cgroup_file("blkio", cid, "blkio.throttle.io_service_bytes_recursive")) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[1] == "Read":
                    read += int(parts[2])
                elif len(parts) == 3 and parts[1] == "Write":
                    written += int(parts[2])
    except FileNotFoundError:
        pass
    return read, written


def _net_io(pid: int) -> tuple[int, int]:
    """Bytes received and sent on the interfaces of the process's network namespace, loopback
    excluded (`/proc/PID/net/dev`: receive bytes is the first counter, transmit the ninth)."""
    received = sent = 0
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.readlines()[2:]
    except (FileNotFoundError, ProcessLookupError):
        return 0, 0
    for line in lines:
        name, _, counters = line.partition(":")
        if name.strip() != "lo":
            values = counters.split()
            received += int(values[0])
            sent += int(values[8])
    return received, sent


def _sample(ctr: Container, host_memory: int, now: float) -> ContainerStats:
    if not ctr.is_active:
        return ContainerStats(ctr.id, ctr.name)
    cid = ctr.id
    cpu = _read_int(_cgroup_file("cpuacct", cid, "cpuacct.usage"))
    elapsed = now - ctr.runtime.started_at
    mem = _read_int(_cgroup_file("memory", cid, "memory.usage_in_bytes"))
    # An unlimited cgroup reads as a huge number: Podman then reports the host's memory.
    limit = min(_read_int(_cgroup_file("memory", cid, "memory.limit_in_bytes")) or host_memory, host_memory)
    block_in, block_out = _block_io(cid)
    net_in, net_out = _net_io(ctr.runtime.pid)
    return ContainerStats(
        cid, ctr.name, cpu_nano=cpu, cpu_percent=cpu / (elapsed * 1e9) * 100 if elapsed > 0 else 0.0,
        mem_usage=mem, mem_limit=limit, mem_percent=mem / limit * 100 if limit else 0.0, net_input=net_in,
        net_output=net_out, block_input=block_in, block_output=block_out,
        pids=_read_int(_cgroup_file("pids", cid, "pids.current")))


def container_stats(eng: Engine, names: list[str], all_containers: bool = False,
                    latest: bool = False) -> list[ContainerStats]:
    """One sample for each container named (or the latest, or every running one, or with
    `all_containers` every one), in that order."""
    from otter.engine.containers import container_list, lookup
    from otter.spec.runtime import is_cgroup_v2

    if is_cgroup_v2():
        raise InvalidArgument("stats reads cgroup v1 counters: cgroup v2 hosts are not supported yet")
    if eng.rootless:
        raise InvalidArgument("stats is not supported in rootless mode without cgroups v2")
    if names:
        ctrs = [lookup(eng, name) for name in names]
    else:
        ctrs = container_list(eng)
        if latest:
            ctrs = ctrs[-1:]
        elif not all_containers:
            ctrs = [c for c in ctrs if c.is_active]
    host_memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    now = time.time()
    return [_sample(c, host_memory, now) for c in ctrs]
