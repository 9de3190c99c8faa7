"""Rootless isolation: what an unprivileged user's containers can and cannot reach.

These run in the second test pass (scripts/test-rootless.sh), as the unprivileged user."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.conftest import ROOTLESS, mounts_under, subuid_start

pytestmark = pytest.mark.skipif(not ROOTLESS, reason="runs in the rootless pass (scripts/test-rootless.sh)")


def pause_pid() -> int:
    from otter.engine.userns import pause_pid_file
    with open(pause_pid_file(os.getuid())) as f:
        return int(f.read())


@pytest.fixture
def box(bb):
    yield bb
    bb.run("rm", "-a", "-f")


def test_container_root_cannot_write_host_root_files(box):
    before = os.stat("/etc/passwd")
    proc = box.run("run", "--rm", "-v", "/etc/passwd:/target", "busybox", "sh", "-c", "echo x >> /target", expect=None)
    assert proc.returncode != 0
    after = os.stat("/etc/passwd")
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_processes_run_as_mapped_ids(box):
    box.run("run", "-d", "--name", "r", "busybox", "sleep", "100")
    box.run("run", "-d", "--name", "u", "-u", "1000", "busybox", "sleep", "100")
    root_pid = int(box.run("inspect", "--format", "{{.State.Pid}}", "r").out)
    user_pid = int(box.run("inspect", "--format", "{{.State.Pid}}", "u").out)
    assert os.stat(f"/proc/{root_pid}").st_uid == os.getuid()
    assert os.stat(f"/proc/{user_pid}").st_uid == subuid_start() + 999
    conmon = int(box.run("inspect", "--format", "{{.State.ConmonPid}}", "r").out)
    for pid in (conmon, pause_pid(), root_pid):
        assert os.stat(f"/proc/{pid}").st_uid != 0, f"process {pid} runs as host root"


def test_image_files_owned_by_mapped_ids(bb):
    layers = os.path.join(bb.root, "layers", "overlay")
    homes = [os.path.join(layers, d, "diff", "home", "user") for d in os.listdir(layers)
             if os.path.isdir(os.path.join(layers, d, "diff", "home", "user"))]
    assert homes and os.stat(homes[0]).st_uid == subuid_start() + 999


def test_cannot_use_roots_store(bb):
    # A root-owned 0700 directory made by scripts/test-rootless.sh, standing for root's store.
    foreign = os.environ["OTTER_TEST_FOREIGN_DIR"]
    other = bb.__class__(os.path.join(foreign, "root"), os.path.join(foreign, "run"))
    proc = other.run("images", expect=125)
    assert proc.err.startswith("Error: ") and "permission denied" in proc.err.lower()


def test_unreadable_bind_source_is_refused(box):
    proc = box.run("run", "--rm", "-v", "/root:/x", "busybox", "true", expect=125)
    assert proc.err.startswith("Error: ") and "permission denied" in proc.err
    assert box.run("ps", "-a", "-q").out == ""


def test_resource_flags_are_ignored_with_a_warning(box):
    proc = box.run("run", "--rm", "--memory", "64m", "busybox", "true")
    assert "not supported" in proc.err


def test_stale_pause_process_is_replaced(bb):
    old = pause_pid()
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{old}") and time.monotonic() < deadline:
        time.sleep(0.05)
    # Listings only read the store: they neither need nor recreate the namespace.
    assert "busybox" in bb.run("images").out
    bb.run("ps", "-a")
    assert pause_pid() == old
    bb.run("volume", "ls")
    assert pause_pid() != old
    assert bb.run("run", "--rm", "busybox", "echo", "ok").out == "ok\n"


def test_listing_joins_the_namespace_to_clean_up_a_dead_container(bb):
    """`ps` starts outside the namespace; finding a container whose monitor and process died,
    it must join to unmount it and delete the runtime state."""
    bb.run("run", "-d", "--name", "orphan", "busybox", "sleep", "1000")
    pid, monitor = bb.run("inspect", "--format", "{{.State.Pid}} {{.State.ConmonPid}}", "orphan").out.split()
    os.kill(int(monitor), signal.SIGKILL)
    bb.run("unshare", "kill", "-9", pid)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bb.run("ps", "-a", "--format", "{{.Names}} {{.Status}}").out.startswith("orphan Exited")
    assert mounts_under(bb.root) == []
    bb.run("rm", "orphan")


def test_unshare_runs_inside_the_namespace(bb):
    out = bb.run("unshare", "cat", "/proc/self/uid_map").out.split()
    assert out[:3] == ["0", str(os.getuid()), "1"]
    assert out[3:5] == ["1", str(subuid_start())]
