"""Build the OCI runtime `config.json` for one container, field for field as Podman 4.3.1 does.

Vocabulary:
  input           a `RuntimeSpecInput`: everything the engine decided about one container
                  (command, identity, security options, mounts, limits) as frozen values.
  config          the OCI runtime-spec 1.0.2 `config.json` document, a dict ready for
                  `json.dump`. Keys are inserted in the runtime-spec struct order so the
                  serialised file reads like Podman's.
  default mounts  the filesystems every container gets: /proc, /dev, /dev/pts, /dev/mqueue,
                  /dev/shm, /sys and /sys/fs/cgroup. A caller's mount (`extra_mounts`) with
                  the same destination replaces one; a caller's /dev replaces every /dev/*.
  bounding set    the capabilities a container may ever hold. Like Podman we also use it as
                  the effective and permitted sets and leave inheritable and ambient empty.
  rlimit          a `process.rlimits` entry. runc applies it with setrlimit(2) from a process
                  that has our own limits, so values above our hard limit are clamped.
  rootless        the engine runs as uid 0 inside its long-lived pause user namespace
                  (mechanics §1.10 variant B). The config is root's minus what that namespace
                  cannot do: cgroup v1 limits, a fresh sysfs without an own netns, `gid=5` on
                  /dev/pts when gid 5 is unmapped, and device cgroup rules.
  user namespace  with `uid_mappings`, the container gets a `user` namespace of its own
                  (`linux.uidMappings`/`gidMappings`, host ids being the engine's). As Podman
                  4.3.1 writes it: no device cgroup rules, the host's /sys bound instead of a
                  fresh sysfs when there is no own netns, `gid=5` only if gid 5 is mapped.

Files such as /etc/hosts, /etc/resolv.conf and /run/.containerenv, volumes and tmpfs mounts
are the caller's: it passes them in `extra_mounts`.
"""

from __future__ import annotations

import os
import posixpath
import resource
from collections.abc import Iterable

from otter.errors import InvalidArgument
from otter.record import TYPE_CHECKING, field, record
from otter.spec import seccomp

if TYPE_CHECKING:
    from typing import Any

    from otter.sys.idmap import IDMap

OCI_VERSION = "1.0.2-dev"

# OCI rlimits are uint64 and spell "unlimited" as RLIM_INFINITY, the largest value.
RLIM_INFINITY = 2**64 - 1

# Linux capabilities by number (include/uapi/linux/capability.h, up to 6.x kernels).
CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON",
    "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)

# containers.conf `default_capabilities`, already in the sorted order Podman emits.
DEFAULT_CAPS: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
    "CAP_SYS_CHROOT",
)

# Podman's BlockAccessToKernelFilesystems lists; both are dropped for --privileged.
MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/fs/selinux",
    "/sys/dev/block",
)
READONLY_PATHS: tuple[str, ...] = (
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
)

DEFAULT_SHM_SIZE = 64 * 1024 * 1024

# `--ulimit` names (Docker's and Podman's) -> setrlimit resource number. Python's `resource`
# module has no RLIMIT_LOCKS; its number is 10 on every Linux architecture.
_ULIMIT_RESOURCES: dict[str, int] = {
    "core": resource.RLIMIT_CORE, "cpu": resource.RLIMIT_CPU, "data": resource.RLIMIT_DATA,
    "fsize": resource.RLIMIT_FSIZE, "locks": 10, "memlock": resource.RLIMIT_MEMLOCK,
    "msgqueue": resource.RLIMIT_MSGQUEUE, "nice": resource.RLIMIT_NICE,
    "nofile": resource.RLIMIT_NOFILE, "nproc": resource.RLIMIT_NPROC,
    "rss": resource.RLIMIT_RSS, "rtprio": resource.RLIMIT_RTPRIO,
    "rttime": resource.RLIMIT_RTTIME, "sigpending": resource.RLIMIT_SIGPENDING,
    "stack": resource.RLIMIT_STACK,
}
_RLIMIT_RESOURCES: dict[str, int] = {f"RLIMIT_{name.upper()}": number
                                     for name, number in _ULIMIT_RESOURCES.items()}

_NETWORK_MODES = ("private", "host", "none")


class InvalidSpec(InvalidArgument, ValueError):
    """Container settings that cannot be turned into a runtime config."""


@record
class MountSpec:
    destination: str
    type: str
    source: str
    options: tuple[str, ...] = ()


@record
class Rlimit:
    type: str  # "RLIMIT_NOFILE", ...
    soft: int
    hard: int


@record
class Resources:
    memory: int | None = None  # bytes
    cpu_quota: int | None = None  # microseconds per period
    cpu_period: int | None = None  # microseconds
    pids_limit: int | None = None  # -1 means unlimited
    shm_size: int | None = None  # bytes, for the /dev/shm tmpfs


@record
class ProcessSpec:
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    terminal: bool = False
    no_new_privileges: bool = False
    rlimits: tuple[Rlimit, ...] = ()
    umask: int = 0o022


@record
class RuntimeSpecInput:
    rootfs: str  # absolute path of the mounted rootfs
    process: ProcessSpec
    hostname: str  # "" for none (pod members share the infra container's UTS namespace)
    cap_add: tuple[str, ...] = ()  # with or without CAP_, any case, or "ALL"
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    read_only: bool = False
    seccomp: str = "default"  # "default", "unconfined" or the path of a moby-style profile
    seccomp_cache: str | None = None  # where converted default profiles are kept (`seccomp.load_default`)
    network: str = "private"  # "private" (own netns, or `netns_path`), "host", "none"
    netns_path: str | None = None
    extra_mounts: tuple[MountSpec, ...] = ()
    shm_source: str | None = None  # host directory bound on /dev/shm; else a tmpfs
    resources: Resources = Resources()
    cgroups_path: str | None = None  # cgroupfs path such as "/otter/<id>"
    annotations: dict[str, str] = field(default_factory=dict)
    rootless: bool = False
    # A user namespace of the container's own when set: container ids to ids of the engine's
    # namespace (`sys.idmap.IDMap`, never imported here: the hot path has no mappings).
    uid_mappings: tuple[IDMap, ...] = ()
    gid_mappings: tuple[IDMap, ...] = ()


# -- capabilities ---------------------------------------------------------------------------

def normalize_cap(name: str) -> str:
    """`"net_admin"`, `"CAP_NET_ADMIN"` -> `"CAP_NET_ADMIN"`; `"all"` -> `"ALL"`."""
    upper = name.strip().upper()
    if upper == "ALL":
        return upper
    cap = upper if upper.startswith("CAP_") else f"CAP_{upper}"
    if cap not in CAPABILITIES:
        raise InvalidSpec(f"unknown capability {name!r}")
    return cap


def grantable_capabilities() -> list[str]:
    """Every capability the kernel knows (up to cap_last_cap) that we can hand to a container.

    runc sets the permitted set with capset(2), which fails for a capability outside our own
    bounding set (root here lacks CAP_SYS_RESOURCE), so like Podman's `BoundingSet()` the
    kernel's list is intersected with ours.
    """
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    own = _status_mask("CapBnd")
    return [name for number, name in enumerate(CAPABILITIES[: last + 1]) if own >> number & 1]


def cap_set(cap_add: Iterable[str], cap_drop: Iterable[str], privileged: bool) -> list[str]:
    """The container's bounding set, sorted as Podman sorts it.

    The base is `DEFAULT_CAPS`, or every grantable capability when `privileged`. `ALL` in
    `cap_add` raises the base to every grantable capability; `ALL` in `cap_drop` leaves only
    `cap_add`. Naming one capability in both lists is an error, as in Podman.
    """
    adds = {normalize_cap(c) for c in cap_add}
    drops = {normalize_cap(c) for c in cap_drop}
    if "ALL" in drops:
        if "ALL" in adds:
            raise InvalidSpec("cannot both add and drop ALL capabilities")
        return sorted(adds)
    both = adds & drops
    if both:
        raise InvalidSpec(f"capability {sorted(both)[0]} cannot be both added and dropped")
    base = set(grantable_capabilities()) if privileged or "ALL" in adds else set(DEFAULT_CAPS)
    return sorted((base | (adds - {"ALL"})) - drops)


def _status_mask(key: str) -> int:
    """A capability mask line ("CapEff", "CapBnd") of /proc/self/status as an int."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1], 16)
    raise RuntimeError(f"/proc/self/status has no {key} line")


# -- rlimits --------------------------------------------------------------------------------

def parse_ulimit(text: str) -> Rlimit:
    """Parse a `--ulimit` value: `name=soft[:hard]`, each limit an integer, -1 or `unlimited`."""
    name, sep, values = text.partition("=")
    name = name.strip().lower()
    if not sep or not values:
        raise InvalidSpec(f"invalid ulimit {text!r}: expected NAME=SOFT[:HARD]")
    if name not in _ULIMIT_RESOURCES:
        raise InvalidSpec(f"invalid ulimit {text!r}: unknown type {name!r} "
                          f"(one of {', '.join(sorted(_ULIMIT_RESOURCES))})")
    parts = values.split(":")
    if len(parts) > 2:
        raise InvalidSpec(f"invalid ulimit {text!r}: too many ':' separated values")
    soft = _parse_limit(parts[0], text)
    hard = _parse_limit(parts[1], text) if len(parts) == 2 else soft
    if soft > hard:
        raise InvalidSpec(f"invalid ulimit {text!r}: soft limit {parts[0]} is above hard limit {parts[1]}")
    return Rlimit(f"RLIMIT_{name.upper()}", soft, hard)


def _parse_limit(value: str, text: str) -> int:
    value = value.strip()
    if value in ("-1", "unlimited"):
        return RLIM_INFINITY
    if not (value.isascii() and value.isdigit()) or int(value) > RLIM_INFINITY:
        raise InvalidSpec(f"invalid ulimit {text!r}: {value!r} is not a non-negative integer, -1 or 'unlimited'")
    return int(value)


def clamp_rlimits(rlimits: Iterable[Rlimit]) -> tuple[Rlimit, ...]:
    """Lower every soft and hard value to this process's hard limit for that resource.

    Raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace; without it
    runc's setrlimit fails and `runc create` aborts (mechanics §1.6). Our own limits are never
    touched.
    """
    requested = tuple(rlimits)
    unknown = [r.type for r in requested if r.type not in _RLIMIT_RESOURCES]
    if unknown:
        raise InvalidSpec(f"unknown rlimit type {unknown[0]!r}")
    if _may_raise_hard_limits():
        return requested
    clamped = []
    for rlimit in requested:
        ceiling = resource.getrlimit(_RLIMIT_RESOURCES[rlimit.type])[1]
        ceiling = RLIM_INFINITY if ceiling == resource.RLIM_INFINITY else ceiling
        clamped.append(Rlimit(rlimit.type, min(rlimit.soft, ceiling), min(rlimit.hard, ceiling)))
    return tuple(clamped)


def _may_raise_hard_limits() -> bool:
    # setrlimit checks CAP_SYS_RESOURCE in the initial user namespace; inside our pause
    # namespace CapEff lists namespaced capabilities that do not count.
    cap_sys_resource = CAPABILITIES.index("CAP_SYS_RESOURCE")
    return _in_initial_user_namespace() and bool(_status_mask("CapEff") >> cap_sys_resource & 1)


def _in_initial_user_namespace() -> bool:
    # Only the initial namespace maps the whole 32-bit id range onto itself.
    with open("/proc/self/uid_map") as f:
        return f.read().split() == ["0", "0", "4294967295"]


# -- host facts -----------------------------------------------------------------------------

def is_cgroup_v2() -> bool:
    """True on a unified (cgroup v2 only) host; hybrid hosts such as this one count as v1."""
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def cgroup_limits_supported(rootless: bool) -> bool:
    """Whether `linux.resources` and `cgroupsPath` can be honoured (mechanics §5.3).

    A rootless engine on cgroup v1 cannot create cgroups, and runc fails on any limit it is
    given. `build_config` then leaves both out; the caller should warn, as Podman does.
    """
    return not rootless or is_cgroup_v2()


def _gid_mapped(gid: int) -> bool:
    with open("/proc/self/gid_map") as f:
        for line in f:
            inside, _, size = (int(n) for n in line.split())
            if inside <= gid < inside + size:
                return True
    return False


# -- the config -----------------------------------------------------------------------------

def build_config(inp: RuntimeSpecInput) -> dict[str, Any]:
    """Return the `config.json` document for `inp`."""
    _validate(inp)
    caps = cap_set(inp.cap_add, inp.cap_drop, inp.privileged)
    own_netns = inp.network != "host"
    # Without an own netns, a process in a user namespace (the rootless engine's, or the
    # container's own) may not mount a fresh sysfs.
    can_mount_sysfs = own_netns or not (inp.rootless or inp.uid_mappings)

    config: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": _process(inp.process, caps),
        "root": {"path": inp.rootfs, "readonly": inp.read_only},
    }
    if inp.hostname:
        config["hostname"] = inp.hostname
    config["mounts"] = [_mount_dict(m) for m in _mounts(inp, can_mount_sysfs)]
    if inp.annotations:
        config["annotations"] = dict(inp.annotations)

    linux: dict[str, Any] = {}
    if inp.uid_mappings:
        linux["uidMappings"] = [_id_mapping(m) for m in inp.uid_mappings]
        linux["gidMappings"] = [_id_mapping(m) for m in inp.gid_mappings]
    if own_netns:
        # containers.conf default_sysctls: unprivileged ICMP sockets, so ping needs no NET_RAW.
        linux["sysctl"] = {"net.ipv4.ping_group_range": "0 0"}
    if cgroup_limits_supported(inp.rootless):
        resources = _resources(inp)
        if resources:
            linux["resources"] = resources
        if inp.cgroups_path:
            linux["cgroupsPath"] = inp.cgroups_path
    linux["namespaces"] = _namespaces(inp)
    if not inp.privileged and inp.seccomp != "unconfined":
        linux["seccomp"] = _seccomp(inp.seccomp, caps, inp.seccomp_cache)
    if not inp.privileged:
        masked = list(MASKED_PATHS)
        if not can_mount_sysfs:
            # The host's /sys is bound in, and /sys/kernel exposes more than a fresh sysfs.
            masked.append("/sys/kernel")
        linux["maskedPaths"] = masked
        linux["readonlyPaths"] = list(READONLY_PATHS)
    config["linux"] = linux
    return config


def _validate(inp: RuntimeSpecInput) -> None:
    if not posixpath.isabs(inp.rootfs):
        raise InvalidSpec(f"rootfs {inp.rootfs!r} is not an absolute path")
    if not inp.process.args:
        raise InvalidSpec("the container has no command")
    if not posixpath.isabs(inp.process.cwd):
        raise InvalidSpec(f"working directory {inp.process.cwd!r} is not an absolute path")
    if inp.network not in _NETWORK_MODES:
        raise InvalidSpec(f"unknown network mode {inp.network!r}")
    if inp.netns_path is not None and inp.network != "private":
        raise InvalidSpec(f"a network namespace path cannot be joined with network mode {inp.network!r}")
    for mount in inp.extra_mounts:
        if not posixpath.isabs(mount.destination):
            raise InvalidSpec(f"mount destination {mount.destination!r} is not an absolute path")
    res = inp.resources
    for name in ("memory", "cpu_quota", "cpu_period", "shm_size"):
        value = getattr(res, name)
        if value is not None and value <= 0:
            raise InvalidSpec(f"{name.replace('_', ' ')} must be positive, not {value}")


def _process(proc: ProcessSpec, caps: list[str]) -> dict[str, Any]:
    user: dict[str, Any] = {"uid": proc.uid, "gid": proc.gid, "umask": proc.umask}
    if proc.additional_gids:
        user["additionalGids"] = list(proc.additional_gids)
    process: dict[str, Any] = {
        "terminal": proc.terminal,
        "user": user,
        "args": list(proc.args),
        "env": list(proc.env),
        "cwd": proc.cwd,
        "capabilities": {"bounding": list(caps), "effective": list(caps), "permitted": list(caps)},
    }
    if proc.rlimits:
        process["rlimits"] = [{"type": r.type, "hard": r.hard, "soft": r.soft}
                              for r in clamp_rlimits(proc.rlimits)]
    if proc.no_new_privileges:
        process["noNewPrivileges"] = True
    return process


def _mounts(inp: RuntimeSpecInput, can_mount_sysfs: bool) -> list[MountSpec]:
    sys_mode = "rw" if inp.privileged else "ro"
    if can_mount_sysfs:
        sys_options = ("rprivate", "nosuid", "noexec", "nodev", "rw") if inp.privileged \
            else ("nosuid", "noexec", "nodev", "ro")
        sysfs = MountSpec("/sys", "sysfs", "sysfs", sys_options)
        cgroup = MountSpec("/sys/fs/cgroup", "cgroup", "cgroup",
                           ("rprivate", "nosuid", "noexec", "nodev", "relatime", sys_mode))
    else:
        bind_options = ("rprivate", "nosuid", "noexec", "nodev", sys_mode, "rbind")
        sysfs = MountSpec("/sys", "bind", "/sys", bind_options)
        cgroup = MountSpec("/sys/fs/cgroup", "bind", "/sys/fs/cgroup", bind_options)

    pts_options = ("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620")
    gid5_mapped = any(m.container_id <= 5 < m.container_id + m.size for m in inp.gid_mappings) \
        if inp.gid_mappings else not inp.rootless or _gid_mapped(5)
    if gid5_mapped:
        # gid 5 is "tty"; mounting devpts with an unmapped gid fails.
        pts_options += ("gid=5",)

    if inp.shm_source is not None:
        shm = MountSpec("/dev/shm", "bind", inp.shm_source, ("bind", "rprivate", "nosuid", "noexec", "nodev"))
    else:
        size = inp.resources.shm_size or DEFAULT_SHM_SIZE
        shm = MountSpec("/dev/shm", "tmpfs", "shm", ("nosuid", "noexec", "nodev", "mode=1777", _size_option(size)))

    defaults = [
        MountSpec("/proc", "proc", "proc", ("nosuid", "noexec", "nodev")),
        MountSpec("/dev", "tmpfs", "tmpfs", ("nosuid", "noexec", "strictatime", "mode=755", "size=65536k")),
        MountSpec("/dev/pts", "devpts", "devpts", pts_options),
        MountSpec("/dev/mqueue", "mqueue", "mqueue", ("nosuid", "noexec", "nodev")),
        shm,
        sysfs,
        cgroup,
    ]
    overridden = {posixpath.normpath(m.destination) for m in inp.extra_mounts}
    user_dev = "/dev" in overridden
    kept = [m for m in defaults
            if m.destination not in overridden and not (user_dev and m.destination.startswith("/dev/"))]
    mounts = kept + list(inp.extra_mounts)
    # runc mounts in list order, so a parent must precede everything mounted below it.
    # Podman sorts by path depth; a stable sort keeps the callers' order within a depth.
    mounts.sort(key=_mount_depth)
    return mounts


def _mount_depth(mount: MountSpec) -> int:
    path = posixpath.normpath(mount.destination)
    return 0 if path == "/" else path.count("/")


def _size_option(size: int) -> str:
    return f"size={size // 1024}k" if size % 1024 == 0 else f"size={size}"


def _mount_dict(mount: MountSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"destination": mount.destination, "type": mount.type, "source": mount.source}
    if mount.options:
        out["options"] = list(mount.options)
    return out


def _resources(inp: RuntimeSpecInput) -> dict[str, Any]:
    res = inp.resources
    out: dict[str, Any] = {}
    if not inp.privileged and not inp.rootless and not inp.uid_mappings:
        # Deny every device; runc then allows the default /dev nodes it creates itself.
        # Privileged containers and user namespaces get no device cgroup rules (Podman).
        out["devices"] = [{"allow": False, "access": "rwm"}]
    if res.memory is not None:
        out["memory"] = {"limit": res.memory}
    cpu: dict[str, int] = {}
    if res.cpu_quota is not None:
        cpu["quota"] = res.cpu_quota
    if res.cpu_period is not None:
        cpu["period"] = res.cpu_period
    if cpu:
        out["cpu"] = cpu
    if res.pids_limit is not None:
        out["pids"] = {"limit": res.pids_limit}
    return out


def _namespaces(inp: RuntimeSpecInput) -> list[dict[str, str]]:
    namespaces: list[dict[str, str]] = [{"type": "pid"}]
    if inp.network != "host":
        network = {"type": "network"}
        if inp.netns_path:
            network["path"] = inp.netns_path
        namespaces.append(network)
    namespaces += [{"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
    if is_cgroup_v2():
        # containers.conf `cgroupns` defaults to private on v2 and to host on v1.
        namespaces.append({"type": "cgroup"})
    if inp.uid_mappings:
        namespaces.append({"type": "user"})
    return namespaces


def _id_mapping(m: IDMap) -> dict[str, int]:
    return {"containerID": m.container_id, "hostID": m.host_id, "size": m.size}


def _seccomp(setting: str, caps: list[str], cache_dir: str | None) -> dict[str, Any]:
    if setting == "default":
        return seccomp.load_default(caps, cache_dir)
    return seccomp.convert_profile(seccomp.load_profile(setting), caps)
