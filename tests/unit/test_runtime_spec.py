"""Tests for otter.spec.runtime: the config.json Podman 4.3.1 generates (mechanics §1.2-1.9, §5)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import uuid

import pytest

from otter.errors import InvalidArgument
from otter.spec import runtime, seccomp
from otter.spec.runtime import (
    DEFAULT_CAPS,
    RLIM_INFINITY,
    InvalidSpec,
    MountSpec,
    ProcessSpec,
    Resources,
    Rlimit,
    RuntimeSpecInput,
    build_config,
    cap_set,
    clamp_rlimits,
    parse_ulimit,
)

PODMAN_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
               "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"]
PODMAN_MASKED = ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                 "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/fs/selinux",
                 "/sys/dev/block"]
PODMAN_READONLY = ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
PODMAN_MOUNTS = [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"]},
]
ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "container=podman", "HOME=/root")

needs_default_profile = pytest.mark.skipif(
    not os.path.exists(seccomp.DEFAULT_PROFILE), reason="containers-common seccomp.json not installed")


@pytest.fixture(autouse=True)
def cgroup_v1(monkeypatch):
    """Pin the host facts to this hybrid cgroup v1 machine unless a test says otherwise."""
    monkeypatch.setattr(runtime, "is_cgroup_v2", lambda: False)


def make(**overrides) -> RuntimeSpecInput:
    process = overrides.pop("process", ProcessSpec(args=("/bin/true",), env=ENV))
    fields = {"rootfs": "/var/lib/otter/rootfs", "process": process, "hostname": "abcdef012345",
              "seccomp": "unconfined", **overrides}
    return RuntimeSpecInput(**fields)


def mount_at(config: dict, destination: str) -> dict:
    matches = [m for m in config["mounts"] if m["destination"] == destination]
    assert len(matches) == 1, matches
    return matches[0]


# -- the default config ----------------------------------------------------------------------

def test_default_config_matches_podman():
    config = build_config(make())
    assert config["ociVersion"] == "1.0.2-dev"
    assert list(config) == ["ociVersion", "process", "root", "hostname", "mounts", "linux"]
    assert config["process"] == {
        "terminal": False,
        "user": {"uid": 0, "gid": 0, "umask": 18},
        "args": ["/bin/true"],
        "env": list(ENV),
        "cwd": "/",
        "capabilities": {"bounding": PODMAN_CAPS, "effective": PODMAN_CAPS, "permitted": PODMAN_CAPS},
    }
    assert config["root"] == {"path": "/var/lib/otter/rootfs", "readonly": False}
    assert config["hostname"] == "abcdef012345"
    assert config["mounts"] == PODMAN_MOUNTS
    assert config["linux"] == {
        "sysctl": {"net.ipv4.ping_group_range": "0 0"},
        "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
        "maskedPaths": PODMAN_MASKED,
        "readonlyPaths": PODMAN_READONLY,
    }


@needs_default_profile
def test_default_seccomp_follows_bounding_set():
    config = build_config(make(seccomp="default"))
    assert config["linux"]["seccomp"] == seccomp.load_default(PODMAN_CAPS)
    assert len(config["linux"]["seccomp"]["syscalls"]) == 22
    added = build_config(make(seccomp="default", cap_add=("sys_admin",)))
    assert added["linux"]["seccomp"] == seccomp.load_default(sorted([*PODMAN_CAPS, "CAP_SYS_ADMIN"]))


def test_seccomp_profile_path(tmp_path):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                                "syscalls": [{"names": ["chroot"], "action": "SCMP_ACT_ERRNO",
                                              "excludes": {"caps": ["CAP_SYS_CHROOT"]}}]}))
    assert build_config(make(seccomp=str(path)))["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ALLOW"}
    dropped = build_config(make(seccomp=str(path), cap_drop=("SYS_CHROOT",)))
    assert dropped["linux"]["seccomp"]["syscalls"] == [{"names": ["chroot"], "action": "SCMP_ACT_ERRNO"}]


def test_seccomp_missing_profile_is_invalid_argument(tmp_path):
    with pytest.raises(InvalidArgument, match="cannot read seccomp profile"):
        build_config(make(seccomp=str(tmp_path / "nope.json")))


def test_process_options():
    process = ProcessSpec(args=("sh", "-c", "id"), env=ENV, cwd="/work", uid=1000, gid=100,
                          additional_gids=(10, 20), terminal=True, no_new_privileges=True, umask=0o077,
                          rlimits=(Rlimit("RLIMIT_CORE", 0, 0),))
    proc = build_config(make(process=process))["process"]
    assert proc["terminal"] is True
    assert proc["user"] == {"uid": 1000, "gid": 100, "umask": 0o077, "additionalGids": [10, 20]}
    assert proc["cwd"] == "/work"
    assert proc["noNewPrivileges"] is True
    assert proc["rlimits"] == [{"type": "RLIMIT_CORE", "hard": 0, "soft": 0}]
    assert "inheritable" not in proc["capabilities"] and "ambient" not in proc["capabilities"]


def test_annotations_and_no_hostname():
    config = build_config(make(hostname="", annotations={"io.container.manager": "libpod"}))
    assert "hostname" not in config
    assert config["annotations"] == {"io.container.manager": "libpod"}


@pytest.mark.parametrize("overrides, message", [
    ({"rootfs": "relative/rootfs"}, "rootfs"),
    ({"process": ProcessSpec(args=(), env=ENV)}, "no command"),
    ({"process": ProcessSpec(args=("x",), env=ENV, cwd="work")}, "working directory"),
    ({"network": "bridge"}, "unknown network mode"),
    ({"network": "host", "netns_path": "/run/netns/x"}, "cannot be joined"),
    ({"extra_mounts": (MountSpec("data", "bind", "/srv"),)}, "mount destination"),
    ({"resources": Resources(memory=0)}, "memory must be positive"),
    ({"cap_add": ("CAP_FLY",)}, "unknown capability"),
])
def test_invalid_input(overrides, message):
    with pytest.raises(InvalidSpec, match=message):
        build_config(make(**overrides))


# -- capabilities ----------------------------------------------------------------------------

def test_cap_set_default_add_drop():
    assert cap_set((), (), False) == PODMAN_CAPS
    assert list(DEFAULT_CAPS) == PODMAN_CAPS
    caps = cap_set(("net_raw", "CAP_SYS_ADMIN", "Mknod"), ("chown", "CAP_KILL"), False)
    assert caps == sorted(set(PODMAN_CAPS) - {"CAP_CHOWN", "CAP_KILL"} | {"CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_MKNOD"})


def test_cap_set_all():
    assert cap_set(("NET_RAW",), ("all",), False) == ["CAP_NET_RAW"]
    assert cap_set((), ("ALL",), False) == []
    everything = runtime.grantable_capabilities()
    assert cap_set(("ALL",), ("MKNOD",), False) == sorted(set(everything) - {"CAP_MKNOD"})


def test_cap_set_conflicts():
    with pytest.raises(InvalidSpec, match="both added and dropped"):
        cap_set(("NET_RAW",), ("cap_net_raw",), False)
    with pytest.raises(InvalidSpec, match="ALL"):
        cap_set(("ALL",), ("ALL",), False)


def test_grantable_capabilities_stop_at_cap_last_cap_and_own_bounding_set(monkeypatch):
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    monkeypatch.setattr(runtime, "_status_mask", lambda key: (1 << 64) - 1)
    assert runtime.grantable_capabilities() == list(runtime.CAPABILITIES[: last + 1])
    # Root on this host lacks CAP_SYS_RESOURCE; runc's capset would fail if we asked for it.
    monkeypatch.setattr(runtime, "_status_mask", lambda key: ((1 << 64) - 1) & ~(1 << 24))
    assert "CAP_SYS_RESOURCE" not in runtime.grantable_capabilities()


# -- privileged, read-only, network ----------------------------------------------------------

def test_privileged():
    config = build_config(make(privileged=True, seccomp="default"))
    caps = config["process"]["capabilities"]
    assert caps["bounding"] == sorted(runtime.grantable_capabilities())
    assert "CAP_SYS_ADMIN" in caps["bounding"] and caps["effective"] == caps["bounding"]
    linux = config["linux"]
    assert "seccomp" not in linux and "maskedPaths" not in linux and "readonlyPaths" not in linux
    assert "resources" not in linux  # no device deny rule for privileged containers
    assert mount_at(config, "/sys") == {"destination": "/sys", "type": "sysfs", "source": "sysfs",
                                        "options": ["rprivate", "nosuid", "noexec", "nodev", "rw"]}
    assert mount_at(config, "/sys/fs/cgroup")["options"][-1] == "rw"


def test_privileged_cap_drop_still_applies():
    caps = build_config(make(privileged=True, cap_drop=("sys_admin",)))["process"]["capabilities"]["bounding"]
    assert "CAP_SYS_ADMIN" not in caps and "CAP_NET_ADMIN" in caps


def test_read_only_root_keeps_default_mounts_writable():
    config = build_config(make(read_only=True))
    assert config["root"]["readonly"] is True
    assert mount_at(config, "/dev/shm")["options"] == ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]
    assert "ro" not in mount_at(config, "/dev")["options"]


def test_network_host():
    config = build_config(make(network="host"))
    assert {"type": "network"} not in config["linux"]["namespaces"]
    assert [ns["type"] for ns in config["linux"]["namespaces"]] == ["pid", "ipc", "uts", "mount"]
    assert "sysctl" not in config["linux"]
    assert mount_at(config, "/sys")["type"] == "sysfs"  # root can still mount sysfs


def test_network_none_has_own_empty_netns():
    config = build_config(make(network="none"))
    assert config["linux"]["namespaces"][1] == {"type": "network"}
    assert config["linux"]["sysctl"] == {"net.ipv4.ping_group_range": "0 0"}


def test_network_path():
    config = build_config(make(netns_path="/run/otter/netns/netns-1"))
    assert config["linux"]["namespaces"][1] == {"type": "network", "path": "/run/otter/netns/netns-1"}
    assert "sysctl" in config["linux"]


def test_cgroup_v2_adds_cgroup_namespace(monkeypatch):
    monkeypatch.setattr(runtime, "is_cgroup_v2", lambda: True)
    namespaces = build_config(make())["linux"]["namespaces"]
    assert namespaces[-1] == {"type": "cgroup"}


# -- mounts ----------------------------------------------------------------------------------

def test_user_mount_overrides_dev_shm_and_mounts_are_appended_by_depth():
    hosts = MountSpec("/etc/hosts", "bind", "/run/otter/c/hosts", ("bind", "rprivate"))
    shm = MountSpec("/dev/shm", "bind", "/run/otter/c/shm", ("bind", "rprivate", "nosuid", "noexec", "nodev"))
    deep = MountSpec("/data/sub", "bind", "/srv/sub", ("rbind",))
    data = MountSpec("/data", "bind", "/srv", ("rbind",))
    config = build_config(make(extra_mounts=(hosts, shm, deep, data)))
    destinations = [m["destination"] for m in config["mounts"]]
    assert destinations == ["/proc", "/dev", "/sys", "/data", "/dev/pts", "/dev/mqueue", "/etc/hosts", "/dev/shm",
                            "/data/sub", "/sys/fs/cgroup"]
    assert mount_at(config, "/dev/shm") == {"destination": "/dev/shm", "type": "bind", "source": "/run/otter/c/shm",
                                            "options": ["bind", "rprivate", "nosuid", "noexec", "nodev"]}


def test_user_dev_mount_replaces_everything_under_dev():
    dev = MountSpec("/dev", "bind", "/dev", ("rbind",))
    destinations = [m["destination"] for m in build_config(make(extra_mounts=(dev,)))["mounts"]]
    assert destinations == ["/proc", "/sys", "/dev", "/sys/fs/cgroup"]


def test_mount_without_options_has_no_options_key():
    config = build_config(make(extra_mounts=(MountSpec("/data/", "tmpfs", "tmpfs"),)))
    assert mount_at(config, "/data/") == {"destination": "/data/", "type": "tmpfs", "source": "tmpfs"}


def test_shm_source_binds_podman_style():
    config = build_config(make(shm_source="/var/lib/otter/containers/c/shm"))
    assert mount_at(config, "/dev/shm") == {"destination": "/dev/shm", "type": "bind",
                                            "source": "/var/lib/otter/containers/c/shm",
                                            "options": ["bind", "rprivate", "nosuid", "noexec", "nodev"]}


def test_shm_size():
    config = build_config(make(resources=Resources(shm_size=128 * 1024 * 1024)))
    assert "size=131072k" in mount_at(config, "/dev/shm")["options"]
    odd = build_config(make(resources=Resources(shm_size=1000)))
    assert "size=1000" in mount_at(odd, "/dev/shm")["options"]


# -- rootless --------------------------------------------------------------------------------

def test_rootless_on_cgroup_v1_drops_resources_and_cgroups_path(monkeypatch):
    monkeypatch.setattr(runtime, "_gid_mapped", lambda gid: True)
    inp = make(rootless=True, cgroups_path="/otter/c1", resources=Resources(memory=1 << 26, pids_limit=100))
    linux = build_config(inp)["linux"]
    assert "resources" not in linux and "cgroupsPath" not in linux
    assert not runtime.cgroup_limits_supported(True)


def test_rootless_on_cgroup_v2_keeps_limits_without_device_rules(monkeypatch):
    monkeypatch.setattr(runtime, "is_cgroup_v2", lambda: True)
    monkeypatch.setattr(runtime, "_gid_mapped", lambda gid: True)
    linux = build_config(make(rootless=True, cgroups_path="/otter/c1", resources=Resources(pids_limit=100)))["linux"]
    assert linux["resources"] == {"pids": {"limit": 100}}
    assert linux["cgroupsPath"] == "/otter/c1"


def test_rootless_host_network_binds_sys(monkeypatch):
    monkeypatch.setattr(runtime, "_gid_mapped", lambda gid: True)
    config = build_config(make(rootless=True, network="host"))
    options = ["rprivate", "nosuid", "noexec", "nodev", "ro", "rbind"]
    assert mount_at(config, "/sys") == {"destination": "/sys", "type": "bind", "source": "/sys", "options": options}
    assert mount_at(config, "/sys/fs/cgroup") == {"destination": "/sys/fs/cgroup", "type": "bind",
                                                  "source": "/sys/fs/cgroup", "options": options}
    assert config["linux"]["maskedPaths"][-1] == "/sys/kernel"
    # With its own (empty) netns the rootless container mounts a fresh sysfs.
    assert mount_at(build_config(make(rootless=True, network="none")), "/sys")["type"] == "sysfs"


def test_rootless_without_gid_5_drops_devpts_gid(monkeypatch):
    monkeypatch.setattr(runtime, "_gid_mapped", lambda gid: False)
    options = mount_at(build_config(make(rootless=True)), "/dev/pts")["options"]
    assert options == ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]


# -- resources -------------------------------------------------------------------------------

def test_resources_mapping():
    res = Resources(memory=64 * 1024 * 1024, cpu_quota=50000, cpu_period=100000, pids_limit=2048)
    linux = build_config(make(resources=res, cgroups_path="/otter/abc"))["linux"]
    assert linux["resources"] == {
        "devices": [{"allow": False, "access": "rwm"}],
        "memory": {"limit": 67108864},
        "cpu": {"quota": 50000, "period": 100000},
        "pids": {"limit": 2048},
    }
    assert linux["cgroupsPath"] == "/otter/abc"
    assert list(linux) == ["sysctl", "resources", "cgroupsPath", "namespaces", "maskedPaths", "readonlyPaths"]


def test_cpu_period_alone():
    assert build_config(make(resources=Resources(cpu_period=50000)))["linux"]["resources"]["cpu"] == {"period": 50000}


# -- rlimits ---------------------------------------------------------------------------------

def test_clamp_rlimits_above_hard_limit(monkeypatch):
    monkeypatch.setattr(runtime, "_may_raise_hard_limits", lambda: False)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        pytest.skip("RLIMIT_NOFILE hard limit is unlimited here")
    clamped = clamp_rlimits((Rlimit("RLIMIT_NOFILE", hard + 1, hard + 1000), Rlimit("RLIMIT_CORE", 0, 0)))
    assert clamped == (Rlimit("RLIMIT_NOFILE", hard, hard), Rlimit("RLIMIT_CORE", 0, 0))
    # Unlimited requests become our own hard limit too.
    assert clamp_rlimits((Rlimit("RLIMIT_NOFILE", 1024, RLIM_INFINITY),)) == (Rlimit("RLIMIT_NOFILE", 1024, hard),)


def test_clamp_rlimits_keeps_values_with_cap_sys_resource(monkeypatch):
    monkeypatch.setattr(runtime, "_may_raise_hard_limits", lambda: True)
    limits = (Rlimit("RLIMIT_NOFILE", 1048576, 1048576),)
    assert clamp_rlimits(limits) == limits


def test_clamp_rlimits_follows_this_process():
    """Without monkeypatching: the real CapEff decides (this host's root lacks CAP_SYS_RESOURCE)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    (result,) = clamp_rlimits((Rlimit("RLIMIT_NOFILE", 1048576, 1048576),))
    if runtime._may_raise_hard_limits() or hard == resource.RLIM_INFINITY or hard >= 1048576:
        assert result.hard == 1048576
    else:
        assert result == Rlimit("RLIMIT_NOFILE", hard, hard)


def test_build_config_clamps_rlimits(monkeypatch):
    monkeypatch.setattr(runtime, "_may_raise_hard_limits", lambda: False)
    hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    if hard == resource.RLIM_INFINITY:
        pytest.skip("RLIMIT_NPROC hard limit is unlimited here")
    process = ProcessSpec(args=("/bin/true",), env=ENV, rlimits=(parse_ulimit(f"nproc={hard + 5}"),))
    assert build_config(make(process=process))["process"]["rlimits"] == [
        {"type": "RLIMIT_NPROC", "hard": hard, "soft": hard}]


def test_clamp_rejects_unknown_type():
    with pytest.raises(InvalidSpec, match="unknown rlimit type"):
        clamp_rlimits((Rlimit("RLIMIT_FOO", 1, 1),))


@pytest.mark.parametrize("text, expected", [
    ("nofile=1024:2048", Rlimit("RLIMIT_NOFILE", 1024, 2048)),
    ("nproc=100", Rlimit("RLIMIT_NPROC", 100, 100)),
    ("core=0", Rlimit("RLIMIT_CORE", 0, 0)),
    ("memlock=-1:-1", Rlimit("RLIMIT_MEMLOCK", RLIM_INFINITY, RLIM_INFINITY)),
    ("stack=8192:unlimited", Rlimit("RLIMIT_STACK", 8192, RLIM_INFINITY)),
    ("RTTIME=5", Rlimit("RLIMIT_RTTIME", 5, 5)),
    ("locks=10", Rlimit("RLIMIT_LOCKS", 10, 10)),
])
def test_parse_ulimit(text, expected):
    assert parse_ulimit(text) == expected


@pytest.mark.parametrize("text, message", [
    ("nofile", "expected NAME=SOFT"),
    ("nofile=", "expected NAME=SOFT"),
    ("bogus=1", "unknown type 'bogus'"),
    ("nofile=abc", "'abc' is not a non-negative integer"),
    ("nofile=-5", "'-5' is not"),
    ("nofile=\u00b2", "is not a non-negative integer"),
    (f"nofile={2**64}", "is not a non-negative integer"),
    ("nofile=1:", "'' is not"),
    ("nofile=1:2:3", "too many"),
    ("nofile=2048:1024", "soft limit 2048 is above hard limit 1024"),
])
def test_parse_ulimit_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        parse_ulimit(text)


# -- runc ------------------------------------------------------------------------------------

def _runc_bundle(tmp_path, inp_overrides: dict, args: tuple[str, ...]):
    if os.geteuid() != 0:
        pytest.skip("runc run needs root")
    runc = shutil.which("runc")
    if runc is None or not os.path.exists("/bin/busybox"):
        pytest.skip("runc or /bin/busybox missing")
    rootfs = tmp_path / "bundle" / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2("/bin/busybox", rootfs / "bin" / "busybox")
    for applet in ("true", "sh", "grep", "cat"):
        os.symlink("busybox", rootfs / "bin" / applet)
    process = ProcessSpec(args=args, env=("PATH=/bin",), rlimits=(parse_ulimit("nofile=1048576:1048576"),))
    inp = make(rootfs=str(rootfs), process=process, **inp_overrides)
    with open(tmp_path / "bundle" / "config.json", "w") as f:
        json.dump(build_config(inp), f)
    return runc, str(tmp_path / "bundle")


def _runc_run(runc: str, bundle: str, state: str) -> subprocess.CompletedProcess:
    container_id = f"otter-spec-test-{uuid.uuid4().hex[:12]}"
    try:
        return subprocess.run([runc, "--root", state, "run", "--bundle", bundle, container_id],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    finally:
        subprocess.run([runc, "--root", state, "delete", "--force", container_id], capture_output=True)


@pytest.mark.parametrize("security", ["default", "privileged"])
def test_runc_runs_generated_config(tmp_path, security):
    overrides: dict = {"network": "none", "resources": Resources(pids_limit=64)}
    if security == "privileged":
        overrides["privileged"] = True
    elif os.path.exists(seccomp.DEFAULT_PROFILE):
        overrides["seccomp"] = "default"
    cgroup_name = f"otter-spec-test-{uuid.uuid4().hex[:12]}"
    overrides["cgroups_path"] = f"/{cgroup_name}"
    script = "/bin/true && grep -E '^(Seccomp|CapEff):' /proc/self/status && grep 'Max open files' /proc/self/limits"
    runc, bundle = _runc_bundle(tmp_path, overrides, ("/bin/sh", "-c", script))
    result = _runc_run(runc, bundle, str(tmp_path / "state"))
    assert result.returncode == 0, result.stderr
    *status_lines, limits_line = result.stdout.strip().splitlines()
    status = dict(line.split(":\t") for line in status_lines)
    # nofile=1048576 was asked for; runc only accepts it clamped to our own hard limit.
    expected_nofile = clamp_rlimits((Rlimit("RLIMIT_NOFILE", 1048576, 1048576),))[0]
    assert limits_line.split()[3:5] == [str(expected_nofile.soft), str(expected_nofile.hard)]
    if security == "privileged":
        assert status["Seccomp"] == "0"
    else:
        assert status["Seccomp"] == ("2" if overrides.get("seccomp") == "default" else "0")
        assert int(status["CapEff"], 16) == sum(1 << runtime.CAPABILITIES.index(c) for c in PODMAN_CAPS)
    # runc removes the leaf cgroup it created; nothing of ours may be left behind.
    leftovers = [os.path.join("/sys/fs/cgroup", cgroup_name)]
    leftovers += [os.path.join("/sys/fs/cgroup", ctrl, cgroup_name) for ctrl in os.listdir("/sys/fs/cgroup")]
    assert not [path for path in leftovers if os.path.exists(path)]
