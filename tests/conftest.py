"""Shared fixtures.

`otter` runs the real CLI in a subprocess against a private `--root/--runroot` store per test.
With OTTER_TEST_ENGINE=podman the same system tests run against podman, to prove that their
expectations are podman's.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUSYBOX_ARCHIVE = os.path.join(REPO, "build", "busybox.tar")
BUSYBOX_ROOTFS = os.path.join(REPO, "build", "busybox-rootfs.tar")
ENGINE = os.environ.get("OTTER_TEST_ENGINE", "otter")


class Engine:
    """Runs the engine's CLI on one private store."""

    def __init__(self, root: str, runroot: str, driver: str | None = None):
        self.root = root
        self.runroot = runroot
        self.driver = driver
        if ENGINE == "podman":
            self.base = ["podman"]
        else:
            self.base = [sys.executable, "-m", "otter"]
        self.base += ["--root", root, "--runroot", runroot]
        if driver:
            self.base += ["--storage-driver", driver]

    def run(self, *args: str, input: bytes | None = None, expect: int | None = 0, timeout: float = 120,
            **kw) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.base + list(args), input=input, capture_output=True, timeout=timeout,
                              env=_env(), **kw)
        proc.out = proc.stdout.decode(errors="replace")  # type: ignore[attr-defined]
        proc.err = proc.stderr.decode(errors="replace")  # type: ignore[attr-defined]
        if expect is not None and proc.returncode != expect:
            raise AssertionError(f"{' '.join(args)}: exit {proc.returncode}, expected {expect}\n"
                                 f"stdout: {proc.out}\nstderr: {proc.err}")
        return proc

    def load_busybox(self) -> None:
        self.run("load", "-i", BUSYBOX_ARCHIVE)


ROOTLESS = os.getuid() != 0


def subuid_start() -> int:
    """The first subordinate uid of the user running the tests (/etc/subuid)."""
    import pwd
    name = pwd.getpwuid(os.getuid()).pw_name
    with open("/etc/subuid") as f:
        for line in f:
            user, start, _ = line.strip().split(":")
            if user == name:
                return int(start)
    raise AssertionError("no subuid range for the test user")


def mounts_under(path: str) -> list[str]:
    """Mount points below `path`, as the engine sees them: rootless otter mounts inside the
    mount namespace of the user's pause process, invisible from this process's own."""
    mountinfo = "/proc/self/mountinfo"
    if ROOTLESS:
        from otter.engine.userns import pause_pid_file
        with open(pause_pid_file(os.getuid())) as f:
            mountinfo = f"/proc/{f.read().strip()}/mountinfo"
    with open(mountinfo) as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(path)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="session", autouse=True)
def busybox_archive() -> str:
    if not os.path.exists(BUSYBOX_ARCHIVE):
        subprocess.run([sys.executable, os.path.join(REPO, "tools", "mkbusybox.py"), os.path.join(REPO, "build")],
                       check=True, env=_env())
    return BUSYBOX_ARCHIVE


@pytest.fixture
def otter(tmp_path) -> Engine:
    return Engine(str(tmp_path / "root"), str(tmp_path / "run"))


@pytest.fixture
def bb(otter) -> Engine:
    """A store holding localhost/busybox:latest."""
    otter.load_busybox()
    return otter


def store_files(root: str) -> set[str]:
    """Every committed blob and layer in a store (to prove failed operations leave nothing)."""
    out = set()
    blobs = os.path.join(root, "blobs", "sha256")
    if os.path.isdir(blobs):
        out.update("blob:" + name for name in os.listdir(blobs))
    layers = os.path.join(root, "layers")
    for driver in os.listdir(layers) if os.path.isdir(layers) else []:
        for name in os.listdir(os.path.join(layers, driver)):
            if name not in ("l", "staging", "active"):
                out.add(f"layer:{driver}/{name}")
    staging = [os.path.join(layers, d, "staging") for d in (os.listdir(layers) if os.path.isdir(layers) else [])]
    out.update("staging:" + n for d in staging if os.path.isdir(d) for n in os.listdir(d))
    return out
