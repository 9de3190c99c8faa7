"""The overlay mount program: option parsing, the rootless fallback, the store's memory of
its choice, and the fuse-overlayfs driver's calls (with stand-in programs, no mounting)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from otter.cli.main import parse_globals
from otter.db import Database
from otter.drivers import fuse_overlayfs
from otter.engine.context import Engine
from otter.errors import InvalidArgument, RuntimeFailure
from otter.paths import StorePaths
from otter.storage import selection
from otter.storage.layers import LayerStore
from otter.storage.snapshot import Mount, snapshotter


@pytest.fixture
def program(tmp_path):
    """A stand-in mount program that records its arguments."""
    path = tmp_path / "fake-fuse-overlayfs"
    path.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/args\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def fuse_ok(monkeypatch):
    monkeypatch.setattr(fuse_overlayfs, "device_error", lambda: None)


def paths(tmp_path) -> StorePaths:
    return StorePaths(str(tmp_path / "root"), str(tmp_path / "run"))


# -- options ------------------------------------------------------------------------------------------

def test_storage_opt_is_a_repeatable_global_flag():
    opts, repeated, rest = parse_globals(["--root", "/r", "--storage-opt", "a=1", "--storage-opt=b=2", "ps", "-a"])
    assert opts == {"--root": "/r"} and repeated == {"--storage-opt": ["a=1", "b=2"]} and rest == ["ps", "-a"]


@pytest.mark.parametrize("key", ["overlay.mount_program", "overlay2.mount_program", ".mount_program",
                                 "Overlay.Mount_Program"])
def test_mount_program_keys(key, program, fuse_ok):
    assert selection.requested_mount_program([f"{key}={program}"]) == program


def test_empty_options_ask_for_nothing():
    assert selection.requested_mount_program(["", "overlay.mount_program="]) is None


@pytest.mark.parametrize("option, message", [
    ("overlay.size=10G", "unsupported storage option 'overlay.size'"),
    ("mount_program", "invalid storage option 'mount_program': use KEY=VALUE"),
    ("overlay.mount_program=fuse-overlayfs", "must be an absolute path"),
    ("overlay.mount_program=/nonexistent", "no such file or directory"),
    ("overlay.mount_program=/etc", "not an executable file"),
])
def test_bad_options(option, message):
    with pytest.raises(InvalidArgument, match=message):
        selection.requested_mount_program([option])


def test_device_without_access_is_named(monkeypatch, tmp_path, program):
    monkeypatch.setattr(fuse_overlayfs, "DEVICE", str(tmp_path))   # a directory: cannot be opened for writing
    with pytest.raises(InvalidArgument, match=f"fuse-overlayfs needs read and write access to {tmp_path}: "
                                              f"cannot open {tmp_path}: is a directory"):
        selection.requested_mount_program([f"overlay.mount_program={program}"])


# -- mount descriptions and the store's memory --------------------------------------------------------

def test_overlay_with_mount_program_describes_a_fuse_mount(tmp_path, program):
    snap = snapshotter("overlay", paths(tmp_path), rootless=True, mount_program=program)
    snap.paths.ensure(snap.layer_dir("l1"))
    with open(os.path.join(snap.layer_dir("l1"), "link"), "w") as f:
        f.write("SHORT")
    (mount,) = snap.mounts("c", ["l1"])
    assert mount.type == "fuse.fuse-overlayfs" and mount.helper == program
    assert "userxattr" not in mount.options and mount.options[0].endswith("/l/SHORT")
    assert snap.settings() == {"driver": "overlay", "mount_program": program}
    assert snap.mounts("c", []) == [Mount("bind", snap.upper_dir("c"), ("rbind", "rw"))]


def test_vfs_takes_no_mount_program(tmp_path, program):
    with pytest.raises(InvalidArgument, match="'vfs' does not support overlay.mount_program"):
        snapshotter("vfs", paths(tmp_path), mount_program=program)


def test_store_keeps_its_mount_program(tmp_path, program, fuse_ok):
    made = Engine(paths(tmp_path), rootless=False, storage_opts=(f"overlay.mount_program={program}",))
    assert made.layers and made.mount_program == program
    assert made.global_args()[-2:] == ["--storage-opt", f"overlay.mount_program={program}"]
    made.close()
    reopened = Engine(paths(tmp_path), rootless=False)
    assert (reopened.driver, reopened.mount_program) == ("overlay", program)
    assert reopened.snapshotter.mount_program == program
    reopened.close()
    other = Engine(paths(tmp_path), rootless=False, storage_opts=("overlay.mount_program=/bin/true",))
    with pytest.raises(InvalidArgument, match=f"created with overlay.mount_program={program}"):
        assert other.layers
    other.close()


def test_kernel_store_refuses_a_mount_program(tmp_path, program, fuse_ok):
    db = Database(paths(tmp_path).database, paths(tmp_path).database_lock)
    LayerStore(db, snapshotter("overlay", paths(tmp_path)))
    with pytest.raises(InvalidArgument, match="created for the kernel overlay"):
        LayerStore(db, snapshotter("overlay", paths(tmp_path), mount_program=program))
    db.close()


# -- the rootless fallback -------------------------------------------------------------------------------

def test_probe_switch(tmp_path, monkeypatch):
    monkeypatch.setenv(selection.NO_KERNEL_OVERLAY_ENV, "1")
    assert selection.kernel_overlay_works(paths(tmp_path)) is False
    assert not os.path.exists(tmp_path / "root")


@pytest.mark.skipif(os.getuid() != 0, reason="mounting needs root (or otter's user namespace)")
def test_probe_mounts_and_leaves_nothing(tmp_path):
    assert selection.kernel_overlay_works(paths(tmp_path)) is True
    assert os.listdir(tmp_path / "root" / "tmp") == []


@pytest.mark.parametrize("kernel, found, device, by_name, expected, warning", [
    (True, "/usr/bin/fuse-overlayfs", None, False, ("overlay", ""), ""),
    (False, "/usr/bin/fuse-overlayfs", None, False, ("overlay", "/usr/bin/fuse-overlayfs"),
     "mounting overlay with /usr/bin/fuse-overlayfs"),
    (False, "/usr/bin/fuse-overlayfs", None, True, ("overlay", "/usr/bin/fuse-overlayfs"),
     "mounting overlay with /usr/bin/fuse-overlayfs"),
    (False, "/usr/bin/fuse-overlayfs", "cannot open /dev/fuse: permission denied", False, ("vfs", ""),
     "fuse-overlayfs cannot be used (cannot open /dev/fuse: permission denied): using the vfs storage driver"),
    (False, None, None, False, ("vfs", ""), "(fuse-overlayfs is not installed): using the vfs storage driver"),
])
def test_rootless_fallback(tmp_path, monkeypatch, capsys, kernel, found, device, by_name, expected, warning):
    monkeypatch.setattr(selection, "kernel_overlay_works", lambda p: kernel)
    monkeypatch.setattr(fuse_overlayfs, "find", lambda: found)
    monkeypatch.setattr(fuse_overlayfs, "device_error", lambda: device)
    assert selection.rootless_overlay(paths(tmp_path), by_name) == expected
    err = capsys.readouterr().err
    assert (warning in err and err.count("\n") == 1 and "level=warning" in err) if warning else err == ""


def test_rootless_overlay_by_name_never_becomes_vfs(tmp_path, monkeypatch):
    monkeypatch.setattr(selection, "kernel_overlay_works", lambda p: False)
    monkeypatch.setattr(fuse_overlayfs, "device_error", lambda: "cannot open /dev/fuse: permission denied")
    with pytest.raises(InvalidArgument, match="/dev/fuse: permission denied.*use --storage-driver vfs"):
        selection.rootless_overlay(paths(tmp_path), by_name=True)


def test_engine_probes_only_a_new_rootless_store(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(selection, "rootless_overlay", lambda p, by_name: calls.append(by_name) or ("vfs", ""))
    eng = Engine(paths(tmp_path), rootless=True)
    assert (eng.driver, eng.mount_program) == ("vfs", "") and calls == [False]
    assert eng.layers
    eng.close()
    again = Engine(paths(tmp_path), rootless=True)
    assert again.driver == "vfs" and calls == [False]     # recorded in the store: no second probe
    again.close()
    assert Engine(paths(tmp_path / "root-owned"), rootless=False).driver == "overlay" and calls == [False]


# -- the driver -------------------------------------------------------------------------------------------

def test_mount_calls_the_program_like_containers_storage(tmp_path, program, fuse_ok):
    fuse_overlayfs.mount(program, "lowerdir=/l,upperdir=/u,workdir=/w", "/target")
    assert (tmp_path / "args").read_text() == "-o lowerdir=/l,upperdir=/u,workdir=/w /target\n"


def test_mount_failure_is_one_line(tmp_path, fuse_ok):
    failing = tmp_path / "failing"
    failing.write_text("#!/bin/sh\necho 'unknown argument ignored: lazytime' >&2\n"
                       "echo 'fuse: mountpoint is not empty' >&2\nexit 1\n")
    failing.chmod(0o755)
    with pytest.raises(RuntimeFailure) as e:
        fuse_overlayfs.mount(str(failing), "lowerdir=/l", "/target")
    assert str(e.value) == f"mounting /target with {failing}: fuse: mountpoint is not empty"


def test_daemons_are_found_by_their_command_line(tmp_path):
    target = str(tmp_path / "merged")
    proc = subprocess.Popen([sys.executable, "-c", "import time; print(flush=True); time.sleep(30)",
                             "-o", "lowerdir=/x", target], stdout=subprocess.PIPE)
    try:
        proc.stdout.readline()   # it runs its own command line now, not its parent's copy
        assert proc.pid in fuse_overlayfs.daemons(target)
        assert fuse_overlayfs.daemons(target + "-other") == []
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert fuse_overlayfs.daemons(target) == []


def test_mount_program_needs_the_overlay_driver(program, fuse_ok):
    with pytest.raises(InvalidArgument, match="storage driver 'vfs' does not support overlay.mount_program"):
        selection.requested_mount_program([f"overlay.mount_program={program}"], "vfs")
    assert selection.requested_mount_program([f"overlay.mount_program={program}"], "overlay") == program
