"""Container lifecycle through the real CLI, on real runc and conmon, each test on its own store."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ROOTLESS, mounts_under

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def cgroups_for(cid: str) -> list[str]:
    found = []
    for ctrl in os.listdir("/sys/fs/cgroup"):
        base = os.path.join("/sys/fs/cgroup", ctrl)
        if os.path.isdir(base) and not os.path.islink(base):
            found += [os.path.join(base, n) for n in os.listdir(base) if cid in n]
    return found


@pytest.fixture
def clean(bb):
    """The busybox store, checked afterwards for leftover mounts and processes."""
    yield bb
    bb.run("rm", "-a", "-f", expect=None)
    assert mounts_under(bb.root) == []


def state(engine, name: str, field: str = "{{.State.Status}}") -> str:
    return engine.run("inspect", "--format", field, name).out.strip()


def test_run_prints_and_passes_exit_code(clean):
    proc = clean.run("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", expect=3)
    assert proc.out == "out\n" and proc.err == "err\n"
    assert clean.run("ps", "-a", "-q").out == ""


def test_run_keeps_container_and_logs(clean):
    clean.run("run", "--name", "c1", "busybox", "echo", "hello")
    assert state(clean, "c1") == "exited"
    assert state(clean, "c1", "{{.State.ExitCode}}") == "0"
    assert clean.run("logs", "c1").out == "hello\n"
    assert mounts_under(clean.root) == []


def test_run_detached_lifecycle(clean):
    cid = clean.run("run", "-d", "--name", "web", "busybox", "sleep", "1000").out.strip()
    assert HEX64.match(cid)
    assert state(clean, "web") == "running"
    pid = int(state(clean, "web", "{{.State.Pid}}"))
    assert pid > 0 and os.path.exists(f"/proc/{pid}")
    ps = clean.run("ps").out.splitlines()
    assert re.split(r"\s{2,}", ps[0]) == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert cid[:12] in ps[1] and "Up " in ps[1] and ps[1].rstrip().endswith("web")
    if ROOTLESS:
        # No freezer without cgroups: rootless on cgroup v1 cannot pause, as with Podman.
        assert "cgroup V1" in clean.run("pause", "web", expect=125).err
    else:
        assert clean.run("pause", "web").out == "web\n"
        assert state(clean, "web") == "paused"
        clean.run("unpause", "web")
        assert state(clean, "web") == "running"
    start = time.monotonic()
    assert clean.run("stop", "-t", "0", "web").out == "web\n"
    assert time.monotonic() - start < 10
    assert state(clean, "web") == "exited"
    assert state(clean, "web", "{{.State.ExitCode}}") == "137"
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    if not ROOTLESS:
        assert cgroups_for(cid) == []
    assert clean.run("rm", "web").out == "web\n"
    assert clean.run("ps", "-a", "-q").out == ""


def test_stop_sends_stop_signal_and_exit_is_recorded(clean):
    clean.run("run", "-d", "--name", "trap", "busybox", "sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done")
    time.sleep(0.3)
    clean.run("stop", "trap")
    assert state(clean, "trap", "{{.State.ExitCode}}") == "7"


def test_detached_exit_is_cleaned_up_by_conmon(clean):
    clean.run("run", "-d", "--name", "quick", "busybox", "sh", "-c", "echo bye; exit 4")
    assert clean.run("wait", "quick").out == "4\n"
    assert clean.run("logs", "quick").out == "bye\n"
    deadline = time.monotonic() + 10
    while mounts_under(clean.root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert mounts_under(clean.root) == []


def test_run_rm_detached_removes_itself(clean):
    clean.run("run", "-d", "--rm", "--name", "gone", "busybox", "true")
    deadline = time.monotonic() + 10
    while clean.run("container", "exists", "gone", expect=None).returncode == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert clean.run("container", "exists", "gone", expect=None).returncode == 1


def test_create_start_attach(clean):
    cid = clean.run("create", "--name", "c", "busybox", "sh", "-c", "echo started; exit 5").out.strip()
    assert HEX64.match(cid) and state(clean, "c") == "created"
    assert "Created" in clean.run("ps", "-a").out
    proc = clean.run("start", "-a", "c", expect=5)
    assert proc.out == "started\n"
    assert clean.run("start", "c").out == "c\n"
    assert clean.run("wait", "c").out == "5\n"


def test_kill_with_signal(clean):
    # With --init the TERM reaches sleep (a bare PID 1 would ignore it).
    clean.run("run", "-d", "--init", "--name", "k", "busybox", "sleep", "100")
    assert clean.run("kill", "-s", "TERM", "k").out == "k\n"
    assert clean.run("wait", "k").out == "143\n"
    clean.run("kill", "k", expect=125)


def test_restart(clean):
    clean.run("run", "-d", "--name", "r", "busybox", "sleep", "100")
    pid1 = state(clean, "r", "{{.State.Pid}}")
    clean.run("restart", "-t", "0", "r")
    assert state(clean, "r") == "running"
    assert state(clean, "r", "{{.State.Pid}}") != pid1


def test_exec(clean):
    clean.run("run", "-d", "--name", "e", "-e", "FOO=bar", "busybox", "sleep", "100")
    assert clean.run("exec", "e", "sh", "-c", "echo $FOO").out == "bar\n"
    assert clean.run("exec", "-e", "FOO=baz", "-w", "/tmp", "e", "sh", "-c", "echo $FOO $(pwd)").out == "baz /tmp\n"
    assert clean.run("exec", "-u", "1000", "e", "id", "-u").out == "1000\n"
    assert clean.run("exec", "-u", "user", "e", "id", "-un").out == "user\n"
    clean.run("exec", "e", "sh", "-c", "exit 9", expect=9)
    clean.run("exec", "e", "/nonexistent", expect=127)
    clean.run("exec", "e", "/etc", expect=126)
    proc = clean.run("exec", "-i", "e", "cat", input=b"piped\n")
    assert proc.out == "piped\n"
    clean.run("stop", "-t", "0", "e")
    proc = clean.run("exec", "e", "true", expect=255)
    assert proc.err.startswith("Error: ") and "running" in proc.err


def test_exit_codes_126_127_125(clean):
    proc = clean.run("run", "--rm", "busybox", "/nonexistent", expect=127)
    assert proc.err.startswith("Error: ") and proc.err.count("\n") == 1
    clean.run("run", "--rm", "busybox", "/etc", expect=126)
    proc = clean.run("run", "--rm", "--pull=never", "nosuchimage", expect=125)
    assert "image not known" in proc.err and proc.err.count("\n") == 1
    assert clean.run("ps", "-a", "-q").out == ""
    assert mounts_under(clean.root) == []


def test_run_options(clean):
    out = clean.run("run", "--rm", "-e", "A=1", "-w", "/tmp", "-u", "1000:1000", "--hostname", "hn",
                    "busybox", "sh", "-c", "echo $A $(pwd) $(id -u):$(id -g) $(hostname)").out
    assert out == "1 /tmp 1000:1000 hn\n"
    out = clean.run("run", "--rm", "--entrypoint", "echo", "busybox", "via", "entrypoint").out
    assert out == "via entrypoint\n"
    clean.run("run", "--rm", "--read-only", "busybox", "touch", "/x", expect=1)
    out = clean.run("run", "--rm", "--cap-drop", "all", "busybox", "sh", "-c", "grep CapEff /proc/self/status").out
    assert out.split()[1] == "0000000000000000"
    out = clean.run("run", "--rm", "--ulimit", "nofile=100:200", "busybox", "sh", "-c", "ulimit -n").out
    assert out == "100\n"
    out = clean.run("run", "--rm", "--shm-size", "2m", "busybox", "df", "-k", "/dev/shm").out
    assert " 2048 " in out
    out = clean.run("run", "--rm", "--tmpfs", "/scratch", "busybox", "sh", "-c", "grep /scratch /proc/mounts").out
    assert "tmpfs" in out
    out = clean.run("run", "--rm", "--init", "busybox", "cat", "/proc/1/cmdline").out
    assert "otter-init" in out
    out = clean.run("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox", "grep", "Seccomp:", "/proc/self/status").out
    assert out.split()[1] == "0"
    out = clean.run("run", "--rm", "busybox", "grep", "Seccomp:", "/proc/self/status").out
    assert out.split()[1] == "2"
    out = clean.run("run", "--rm", "--pids-limit", "50", "--memory", "64m", "busybox", "true")
    out = clean.run("run", "--rm", "--network", "host", "busybox", "cat", "/etc/hostname").out
    assert out.strip()


def test_env_file_and_labels(clean, tmp_path):
    env = tmp_path / "env"
    env.write_text("# comment\nX=from-file\n")
    clean.run("run", "--name", "l", "--env-file", str(env), "-l", "tier=web", "busybox", "sh", "-c", "echo $X")
    assert clean.run("logs", "l").out == "from-file\n"
    assert clean.run("ps", "-a", "--filter", "label=tier=web", "--format", "{{.Names}}").out == "l\n"


def test_ps_filters_and_formats(clean):
    clean.run("run", "--name", "ok", "busybox", "true")
    clean.run("run", "--name", "bad", "busybox", "false", expect=1)
    clean.run("run", "-d", "--name", "up", "busybox", "sleep", "100")
    names = lambda *a: clean.run("ps", "-a", *a, "--format", "{{.Names}}").out.split()
    assert names() == ["ok", "bad", "up"]
    assert clean.run("ps", "--format", "{{.Names}}").out.split() == ["up"]
    assert names("--filter", "status=exited") == ["ok", "bad"]
    assert names("--filter", "exited=1") == ["bad"]
    assert names("--filter", "name=^u") == ["up"]
    assert names("--filter", "ancestor=busybox") == ["ok", "bad", "up"]
    assert clean.run("ps", "-a", "-n", "1", "--format", "{{.Names}}").out == "up\n"
    assert clean.run("ps", "-l", "--format", "{{.Names}}").out == "up\n"
    status = clean.run("ps", "-a", "--format", "{{.Names}} {{.Status}}").out.splitlines()
    assert re.match(r"^ok Exited \(0\) .* ago$", status[0])
    assert re.match(r"^up Up .*", status[2])
    table = clean.run("ps", "-a", "--format", "table {{.ID}}\t{{.Names}}").out.splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "NAMES"] and len(table) == 4
    rows = [json.loads(line) for line in clean.run("ps", "-a", "--format", "{{json .}}").out.splitlines()]
    assert [r["Names"] for r in rows] == ["ok", "bad", "up"]
    assert json.loads(clean.run("ps", "-a", "--format", "json").out)[0]["Names"] == ["ok"]
    assert clean.run("ps", "-a", "--format", "{{.Command}}").out.splitlines()[2] == "sleep 100"


def test_inspect_shape(clean):
    clean.run("create", "--name", "i", "-l", "a=b", "busybox", "sleep", "1")
    doc = json.loads(clean.run("inspect", "i").out)[0]
    for key in ("Id", "Created", "Path", "Args", "State", "Image", "Name", "Config", "HostConfig",
                "NetworkSettings", "Mounts", "GraphDriver", "RestartCount"):
        assert key in doc
    assert doc["Name"] == "i" and doc["Path"] == "sleep" and doc["Args"] == ["1"]
    assert doc["Config"]["Labels"] == {"a": "b"}
    assert doc["State"]["Status"] == "created" and doc["State"]["Running"] is False
    assert state(clean, "i", "{{.State.ExitCode}}") == "0"
    assert len(doc["Image"]) == 64


def test_inspect_lists_bind_mounts_and_volumes(clean, tmp_path):
    clean.run("create", "--name", "m", "-v", f"{tmp_path}:/data:ro", "-v", "vol:/v", "busybox", "true")
    doc = json.loads(clean.run("inspect", "m").out)[0]
    binds = doc["HostConfig"]["Binds"]
    assert [b.split(":")[:2] for b in binds] == [[str(tmp_path), "/data"], ["vol", "/v"]]
    assert [m["Destination"] for m in doc["Mounts"]] == ["/data", "/v"]


def test_rename_exists_prune(clean):
    clean.run("create", "--name", "old", "busybox", "true")
    clean.run("rename", "old", "new")
    clean.run("container", "exists", "new")
    clean.run("container", "exists", "old", expect=1)
    clean.run("run", "-d", "--name", "running", "busybox", "sleep", "100")
    pruned = clean.run("container", "prune", "-f").out.split()
    assert len(pruned) == 1
    assert clean.run("ps", "-a", "--format", "{{.Names}}").out == "running\n"


def test_replace_and_cidfile(clean, tmp_path):
    clean.run("run", "-d", "--name", "same", "busybox", "sleep", "100")
    cidfile = tmp_path / "cid"
    cid = clean.run("run", "-d", "--replace", "--cidfile", str(cidfile), "--name", "same", "busybox", "sleep", "100").out.strip()
    assert cidfile.read_text() == cid
    assert clean.run("ps", "-a", "-q", "--no-trunc").out.split() == [cid]
    clean.run("create", "--cidfile", str(cidfile), "busybox", "true", expect=125)


def test_top(clean):
    clean.run("run", "-d", "--name", "t", "busybox", "sleep", "100")
    out = clean.run("top", "t").out.splitlines()
    assert "PID" in out[0] and any("sleep" in line for line in out[1:])


# -- bad input --------------------------------------------------------------------------------

def test_bad_flag_values_leave_nothing(clean):
    for args in (["--memory", "lots"], ["--cpus", "x"], ["--ulimit", "bogus=1"], ["--stop-signal", "NOPE"],
                 ["-v", "relative:/x:bogus"], ["-v", "/tmp:notabs"], ["--shm-size", "huge"]):
        proc = clean.run("run", *args, "busybox", "true", expect=125)
        assert proc.err.startswith("Error: "), args
    assert clean.run("ps", "-a", "-q").out == ""
    assert not os.path.isdir(os.path.join(clean.root, "layers", "overlay", "active")) or \
        os.listdir(os.path.join(clean.root, "layers", "overlay", "active")) == []


def test_name_in_use(clean):
    clean.run("create", "--name", "dup", "busybox", "true")
    proc = clean.run("create", "--name", "dup", "busybox", "true", expect=125)
    assert "already in use" in proc.err
    assert clean.run("ps", "-a", "-q").out.count("\n") == 1


def test_rm_running_needs_force(clean):
    clean.run("run", "-d", "--name", "busy", "busybox", "sleep", "100")
    proc = clean.run("rm", "busy", expect=2)
    assert "running" in proc.err
    clean.run("rm", "nosuch", expect=1)
    assert clean.run("rm", "-f", "busy").out == "busy\n"
    assert clean.run("ps", "-a", "-q").out == ""


def test_rmi_of_image_in_use(clean):
    clean.run("create", "--name", "user", "busybox", "true")
    proc = clean.run("rmi", "busybox", expect=2)
    assert "in use" in proc.err
    clean.run("image", "exists", "busybox")
    clean.run("rmi", "-f", "busybox")
    assert clean.run("ps", "-a", "-q").out == ""


def test_concurrent_runs_do_not_corrupt_state(clean):
    def start(i):
        return clean.run("run", "-d", "--name", f"p{i}", "busybox", "sleep", "100", expect=None).returncode
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(start, range(20)))
    assert codes == [0] * 20
    names = clean.run("ps", "--format", "{{.Names}}").out.split()
    assert sorted(names) == sorted(f"p{i}" for i in range(20))


def test_sigkill_during_run_d_is_reconciled(clean):
    proc = subprocess.Popen(clean.base + ["run", "-d", "--name", "victim", "busybox", "sleep", "100"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(__file__)))})
    time.sleep(0.15)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    clean.run("ps", "-a")
    clean.run("rm", "-f", "-a")
    assert clean.run("ps", "-a", "-q").out == ""
    assert mounts_under(clean.root) == []


def test_killed_process_is_reconciled(clean):
    clean.run("run", "-d", "--name", "dies", "busybox", "sleep", "100")
    conmon = int(state(clean, "dies", "{{.State.ConmonPid}}"))
    pid = int(state(clean, "dies", "{{.State.Pid}}"))
    os.kill(conmon, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert state(clean, "dies") == "exited"
    assert mounts_under(clean.root) == []
