"""fuse-overlayfs as the overlay mount program (`--storage-opt overlay.mount_program=...`),
through the real CLI on real runc, each test on its own store; as root and in the rootless
pass (scripts/test-rootless.sh lets the test user open /dev/fuse for the pass).

`OTTER_TEST_NO_KERNEL_OVERLAY=1` (see `otter.storage.selection`) makes a rootless store's
kernel-overlay probe fail, so the fallback to fuse-overlayfs can be tested on this kernel,
where rootless kernel overlay works."""

from __future__ import annotations

import json
import os
import shutil
import tarfile

import pytest

from tests.conftest import ROOTLESS, Engine, mounts_under

PROGRAM = shutil.which("fuse-overlayfs") or ""
MOUNT_PROGRAM = f"overlay.mount_program={PROGRAM}"


def _fuse_usable() -> bool:
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not PROGRAM, reason="fuse-overlayfs is not installed")
needs_fuse = pytest.mark.skipif(not _fuse_usable(), reason="this user cannot open /dev/fuse")


def daemons(root: str) -> list[int]:
    """Live fuse-overlayfs processes serving a mount in the store at `root` (a zombie,
    waiting for init to reap it, has an empty command line and is not listed)."""
    found = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) == b"fuse-overlayfs" and argv[-2].startswith(os.fsencode(root)):
            found.append(int(name))
    return found


def fuse_store(tmp_path, *extra: str) -> Engine:
    """An empty store made with fuse-overlayfs as its mount program."""
    eng = Engine(str(tmp_path / "root"), str(tmp_path / "run"))
    eng.base += ["--storage-opt", MOUNT_PROGRAM, *extra]
    return eng


@pytest.fixture
def fuse(tmp_path):
    """A busybox store on fuse-overlayfs; afterwards no container, no mount, no daemon is left."""
    eng = fuse_store(tmp_path)
    eng.load_busybox()
    yield eng
    eng.run("rm", "-f", "-a")
    assert mounts_under(eng.root) == []
    assert daemons(eng.root) == []


@needs_fuse
def test_run_exec_and_persistence_across_stop_start(fuse):
    fuse.run("run", "-d", "--name", "c", "busybox", "sleep", "1000")
    assert len(mounts_under(fuse.root)) == 1 and len(daemons(fuse.root)) == 1
    assert fuse.run("exec", "c", "sh", "-c", "echo kept > /kept; cat /kept").out == "kept\n"
    fuse.run("stop", "-t", "0", "c")
    assert mounts_under(fuse.root) == [] and daemons(fuse.root) == []
    fuse.run("start", "c")
    assert fuse.run("exec", "c", "cat", "/kept").out == "kept\n"
    info = json.loads(fuse.run("inspect", "c").out)[0]
    assert info["GraphDriver"]["Name"] == "overlay"
    assert fuse.run("run", "--rm", "busybox", "echo", "foreground").out == "foreground\n"


@needs_fuse
def test_diff_commit_cp_and_export(fuse, tmp_path):
    fuse.run("run", "--name", "c", "busybox", "sh", "-c",
             "echo a > /added; echo extra >> /etc/passwd; rm /bin/ls; rm -rf /home; mkdir /home; touch /home/new")
    assert fuse.run("diff", "c").out.splitlines() == [
        "A /added", "C /bin", "D /bin/ls", "C /etc", "C /etc/passwd", "C /home", "D /home/user", "A /home/new"]

    fuse.run("commit", "c", "snap")
    assert fuse.run("diff", "snap").out.splitlines() == [
        "A /added", "C /bin", "D /bin/ls", "C /etc", "C /etc/passwd", "C /home", "D /home/user", "A /home/new"]
    assert fuse.run("run", "--rm", "snap", "test", "-e", "/bin/ls", expect=1).returncode == 1
    assert fuse.run("run", "--rm", "snap", "busybox", "ls", "-a", "/home").out.split() == [".", "..", "new"]

    (tmp_path / "in").write_text("copied in\n")
    fuse.run("cp", str(tmp_path / "in"), "c:/copied")
    fuse.run("cp", "c:/added", str(tmp_path / "out"))
    assert (tmp_path / "out").read_text() == "a\n"
    assert "A /copied" in fuse.run("diff", "c").out.splitlines()

    fuse.run("export", "-o", str(tmp_path / "c.tar"), "c")
    with tarfile.open(tmp_path / "c.tar") as tar:
        names = set(tar.getnames())
    assert {"copied", "added", "home/new", "bin/busybox"} <= names
    assert "bin/ls" not in names and "home/user" not in names
    assert not any(".wh." in name for name in names)
    assert mounts_under(fuse.root) == [] and daemons(fuse.root) == []


@needs_fuse
def test_rm_leaves_no_mount_and_no_process(fuse):
    fuse.run("run", "-d", "--name", "r", "busybox", "sleep", "1000")
    pids = daemons(fuse.root)
    assert len(pids) == 1
    fuse.run("rm", "-f", "r")
    assert mounts_under(fuse.root) == []
    assert daemons(fuse.root) == []
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    fuse.run("run", "--rm", "busybox", "true")
    assert mounts_under(fuse.root) == [] and daemons(fuse.root) == []


@needs_fuse
def test_store_keeps_its_mount_program(fuse, tmp_path):
    plain = Engine(fuse.root, fuse.runroot)          # no --storage-opt: the store's own choice
    plain.run("run", "-d", "--name", "c", "busybox", "sleep", "1000")
    assert len(daemons(fuse.root)) == 1
    plain.run("stop", "-t", "0", "c")                # cleanup through conmon's exit command
    assert mounts_under(fuse.root) == [] and daemons(fuse.root) == []
    other = Engine(fuse.root, fuse.runroot)
    other.base += ["--storage-opt", "overlay.mount_program=/bin/true"]
    err = other.run("run", "--rm", "busybox", "true", expect=125).err
    assert err == ("Error: storage option overlay.mount_program=/bin/true requested, but this store was created "
                   f"with {MOUNT_PROGRAM}: use --storage-opt {MOUNT_PROGRAM} or another --root\n")

    kernel = Engine(str(tmp_path / "k"), str(tmp_path / "krun"))
    kernel.load_busybox()
    kernel.base += ["--storage-opt", MOUNT_PROGRAM]
    err = kernel.run("run", "--rm", "busybox", "true", expect=125).err
    assert err.startswith("Error: storage option overlay.mount_program=") and "kernel overlay" in err
    assert err.count("\n") == 1 and kernel.run("ps", "-a", "-q").out == ""


@pytest.mark.parametrize("program, message", [
    ("/nonexistent/fuse-overlayfs", "no such file or directory"),
    ("relative/fuse-overlayfs", "must be an absolute path"),
    ("/etc/passwd", "not an executable file"),
])
def test_bad_mount_program_leaves_nothing(tmp_path, program, message):
    eng = Engine(str(tmp_path / "root"), str(tmp_path / "run"))
    eng.base += ["--storage-opt", f"overlay.mount_program={program}"]
    proc = eng.run("run", "busybox", "true", expect=125)
    assert proc.err == f'Error: overlay.mount_program "{program}": {message}\n'
    assert not os.path.exists(eng.root) and not os.path.exists(eng.runroot)


def test_unknown_storage_option(tmp_path):
    eng = Engine(str(tmp_path / "root"), str(tmp_path / "run"))
    eng.base += ["--storage-opt", "overlay.size=10G"]
    assert eng.run("images", expect=125).err == \
        "Error: unsupported storage option 'overlay.size' (otter supports overlay.mount_program)\n"
    assert not os.path.exists(eng.root)


@pytest.mark.skipif(_fuse_usable(), reason="this user can open /dev/fuse")
def test_mount_program_without_dev_fuse_access(tmp_path):
    eng = fuse_store(tmp_path)
    err = eng.run("images", expect=125).err
    assert err.startswith("Error: fuse-overlayfs needs read and write access to /dev/fuse: cannot open /dev/fuse")
    assert err.count("\n") == 1 and not os.path.exists(eng.root)


@needs_fuse
@pytest.mark.skipif(not ROOTLESS, reason="the kernel-overlay fallback is for rootless stores")
def test_rootless_fallback_to_fuse_overlayfs(tmp_path, monkeypatch):
    monkeypatch.setenv("OTTER_TEST_NO_KERNEL_OVERLAY", "1")
    eng = Engine(str(tmp_path / "root"), str(tmp_path / "run"))
    err = eng.run("load", "-i", os.path.join(os.path.dirname(__file__), "..", "..", "build", "busybox.tar")).err
    assert f"the kernel overlay cannot be mounted in the user namespace: mounting overlay with {PROGRAM}" in err
    assert err.count("level=warning") == 1
    monkeypatch.delenv("OTTER_TEST_NO_KERNEL_OVERLAY")
    # The store remembers: no probe, no warning, still fuse-overlayfs.
    proc = eng.run("run", "-d", "--name", "c", "busybox", "sleep", "1000")
    assert "warning" not in proc.err and len(daemons(eng.root)) == 1
    eng.run("rm", "-f", "c")
    assert mounts_under(eng.root) == [] and daemons(eng.root) == []
