"""`top`: the processes of a running container, read from /proc on the host.

Columns are Podman's defaults (USER PID PPID %CPU ELAPSED TTY TIME COMMAND); PIDs are shown
as seen inside the container (the last `NSpid` entry), users resolved through the
container's own /etc/passwd.
"""

from __future__ import annotations

import os

from otter.core.container import State
from otter.engine.containers import lookup
from otter.engine.context import Engine
from otter.errors import InvalidState
from otter.sys.safepath import resolve_in_root

HEADERS = ["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _passwd(rootfs: str) -> dict[int, str]:
    try:
        with open(resolve_in_root(rootfs, "/etc/passwd")) as f:
            return {int(p[2]): p[0] for p in (line.split(":") for line in f) if len(p) > 2 and p[2].isdigit()}
    except OSError:
        return {}


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _duration(seconds: float) -> str:
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m}m{sec}s" if h else f"{m}m{sec}s" if m else f"{seconds:.6f}s"


def _container_uid(uid_map: list[str]):
    """Host uid -> the uid the container sees (the same without a user namespace of its own)."""
    if not uid_map:
        return lambda uid: uid
    from otter.core.userns import from_strings
    from otter.sys.idmap import to_container
    maps = from_strings(uid_map)
    return lambda uid: to_container(maps, uid) if to_container(maps, uid) is not None else uid


def _container_pids(eng: Engine, ctr) -> list[int]:
    """The container's processes: from its cgroup through runc where there is one, else every
    process in the pid namespace of its init (rootless on cgroup v1 has no cgroups)."""
    from otter.engine.lifecycle import _fresh
    from otter.spec.runtime import cgroup_limits_supported
    if cgroup_limits_supported(eng.rootless):
        return eng.runtime.pids(ctr.id)
    init = _fresh(eng, ctr).runtime.pid
    try:
        target = os.readlink(f"/proc/{init}/ns/pid")
    except OSError:
        return []
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") == target:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def container_top(eng: Engine, text: str) -> list[list[str]]:
    ctr = lookup(eng, text)
    if ctr.state not in (State.RUNNING, State.PAUSED):
        raise InvalidState(f"top can only be used on running containers: {ctr.name} is {ctr.state}: "
                           "container state improper")
    users = _passwd(eng.snapshotter.mountpoint(ctr.id))
    container_uid = _container_uid(ctr.config.uid_map)
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    host_to_ctr: dict[int, int] = {}
    rows = []
    pids = sorted(_container_pids(eng, ctr))
    for pid in pids:
        try:
            st = _status(pid)
            host_to_ctr[pid] = int(st.get("NSpid", str(pid)).split()[-1])
        except (OSError, ValueError):
            continue
    for pid in pids:
        try:
            st = _status(pid)
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        uid = container_uid(int(st["Uid"].split()[0]))
        ppid = int(fields[1])
        cpu_ticks = int(fields[11]) + int(fields[12])
        elapsed = max(uptime - int(fields[19]) / CLK_TCK, 0.0)
        pcpu = 100.0 * cpu_ticks / CLK_TCK / elapsed if elapsed else 0.0
        tty = int(fields[4])
        rows.append([users.get(uid, str(uid)), str(host_to_ctr.get(pid, pid)), str(host_to_ctr.get(ppid, 0)),
                     f"{pcpu:.3f}", _duration(elapsed), f"pts/{os.minor(tty)}" if tty else "?",
                     _duration(cpu_ticks / CLK_TCK), cmd or st.get("Name", "")])
    return rows
