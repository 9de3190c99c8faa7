#!/usr/bin/env python3
"""otter vs podman, side by side in one run, with paired ratios.

    .venv/bin/python bench/bench.py [--runs 7] [--only load,save] [--json out.json]

Method (shared/reference/anchors.md, "How it was measured"):
  * every figure is a whole-process wall clock (time.perf_counter around subprocess.run), so
    each engine's start-up and CLI are included;
  * for each scenario the two engines are alternated: one warm-up each (discarded), then N
    pairs. The order inside a pair flips every pair (A B, B A, A B, ...), so neither engine
    always runs right after the other's writes;
  * set-up between runs (removing the image before a load, deleting the output of a save,
    `sync`) is untimed;
  * printed: each engine's median, the ratio of the medians, and the median of the per-pair
    ratios otter_i / podman_i with its min-max. The paired ratio is the drift-proof number on
    this noisy machine: quote it.

Isolation: both engines use private stores under one temporary directory (podman with its own
--root/--runroot/--tmpdir/--network-config-dir and TMPDIR, always --storage-driver overlay by
default); the user's podman store is never opened. podman 4.3.1 needs
/etc/containers/containers.conf with `default_ulimits = []` and `runtime = "runc"` here; the
file is created (and removed afterwards) or backed up (and restored afterwards) as needed.

Adding a scenario: write a function `(ctx, engine) -> Case` and decorate it with
`@scenario(name, description)`. It is called once per engine; the Case says which
arguments to time and which untimed hooks to run around them. See `Case` below.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

import mkimage  # noqa: E402  (bench/mkimage.py)

BENCH_REF = mkimage.REPO_TAG                      # localhost/bench:latest
CONF_PATH = "/etc/containers/containers.conf"
CONF_TEXT = '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n'
N_SMALL_IMAGES = 50
CMD_TIMEOUT = 900.0


class BenchError(Exception):
    """A command failed or produced the wrong result: the run is aborted with this message."""


# ---------------------------------------------------------------------------------------------
# Engines
# ---------------------------------------------------------------------------------------------

@dataclass
class Result:
    seconds: float
    stdout: str
    stderr: str
    returncode: int = 0


@dataclass
class Engine:
    """One engine under test: a command prefix (binary + global flags) and its environment."""
    name: str
    prefix: list[str]
    env: dict[str, str]
    workdir: str                       # scratch space belonging to this engine (inside the temp dir)

    def argv(self, args: list[str]) -> list[str]:
        return self.prefix + list(args)

    def _exec(self, args: list[str], timeout: float) -> tuple[subprocess.CompletedProcess, float]:
        argv = self.argv(args)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(argv, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise BenchError(f"{self.name}: timed out after {timeout:.0f} s: {' '.join(argv)}") from e
        except OSError as e:
            raise BenchError(f"{self.name}: cannot execute {argv[0]}: {e}") from e
        return proc, time.perf_counter() - t0

    def timed(self, args: list[str], timeout: float = CMD_TIMEOUT) -> Result:
        """Run the engine once, timing the whole process; a non-zero exit aborts the bench."""
        proc, seconds = self._exec(args, timeout)
        result = Result(seconds, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"),
                        proc.returncode)
        if proc.returncode != 0:
            raise BenchError(failure_message(self.name, self.argv(args), proc.returncode, result))
        return result

    def run(self, *args: str, ok_codes: tuple[int, ...] = (0,), timeout: float = CMD_TIMEOUT) -> Result:
        """An untimed helper command (set-up, checks); exits other than `ok_codes` abort."""
        proc, seconds = self._exec(list(args), timeout)
        result = Result(seconds, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"),
                        proc.returncode)
        if proc.returncode not in ok_codes:
            raise BenchError(failure_message(self.name, self.argv(list(args)), proc.returncode, result))
        return result

    # Image helpers shared by the scenarios (all untimed).
    def image_exists(self, ref: str) -> bool:
        return self.run("image", "exists", ref, ok_codes=(0, 1)).returncode == 0

    def remove_image(self, ref: str) -> None:
        if self.image_exists(ref):
            self.run("rmi", "-f", ref)
        if self.image_exists(ref):
            raise BenchError(f"{self.name}: `rmi -f {ref}` exited 0 but the image still exists")

    def ensure_image(self, ref: str, archive: str) -> None:
        if not self.image_exists(ref):
            self.run("load", "-i", archive)
        if not self.image_exists(ref):
            raise BenchError(f"{self.name}: `load -i {archive}` exited 0 but {ref} does not exist")

    def remove_all_images(self) -> None:
        self.run("rmi", "-a", "-f")
        left = self.run("images", "-q").stdout.split()
        if left:
            raise BenchError(f"{self.name}: `rmi -a -f` exited 0 but {len(left)} image(s) remain: {left[:5]}")


def failure_message(name: str, argv: list[str], code: int, result: Result) -> str:
    def tail(text: str) -> str:
        lines = text.strip().splitlines()[-15:]
        return "\n".join("    " + line for line in lines) if lines else "    (empty)"
    return (f"{name} command failed with exit status {code}:\n  $ {' '.join(argv)}\n"
            f"  stderr:\n{tail(result.stderr)}\n  stdout:\n{tail(result.stdout)}")


def otter_command(explicit: str | None) -> tuple[list[str], dict[str, str], str | None]:
    """otter is `<repo>/.venv/bin/otter` if present, else `/usr/bin/python3 -m otter` from the repo.
    Returns (command, extra environment, the interpreter that runs it if known)."""
    if explicit:
        return explicit.split(), {}, None
    venv_otter = os.path.join(REPO, ".venv", "bin", "otter")
    if os.access(venv_otter, os.X_OK):
        return [venv_otter], {}, os.path.join(REPO, ".venv", "bin", "python")
    return ["/usr/bin/python3", "-m", "otter"], {"PYTHONPATH": REPO}, "/usr/bin/python3"


# Interpreter settings that would make otter slower than it is for a user: without bytecode
# caching every run recompiles each module it imports (+7 ms on --version, +20 ms on images).
PYTHON_ENV_DROP = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONDEVMODE", "PYTHONPROFILEIMPORTTIME",
                   "PYTHONTRACEMALLOC", "PYTHONMALLOC", "PYTHONVERBOSE", "PYTHONPYCACHEPREFIX")


def precompile_otter(python: str | None, env: dict[str, str]) -> None:
    """Fill otter's bytecode cache (kept under the temp dir via PYTHONPYCACHEPREFIX, so nothing is
    written into the repo). Standard-library modules are cached by the first (untimed) runs."""
    if python and os.access(python, os.X_OK):
        subprocess.run([python, "-m", "compileall", "-q", os.path.join(REPO, "otter")], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_engines(tmp: str, args: argparse.Namespace) -> list[Engine]:
    base_env = dict(os.environ)
    for var in ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF"):
        if var in base_env:
            print(f"bench: ignoring {var}={base_env.pop(var)} (podman must read {CONF_PATH})", file=sys.stderr)

    o_dir = os.path.join(tmp, "otter")
    o_cmd, o_env, o_python = otter_command(args.otter)
    o_env = {**{k: v for k, v in base_env.items() if k not in PYTHON_ENV_DROP}, **o_env,
             "TMPDIR": os.path.join(o_dir, "tmp"), "PYTHONPYCACHEPREFIX": os.path.join(o_dir, "pycache")}
    otter = Engine("otter", o_cmd + ["--root", os.path.join(o_dir, "root"), "--runroot", os.path.join(o_dir, "run"),
                                     "--storage-driver", args.storage_driver], o_env, o_dir)

    p_dir = os.path.join(tmp, "podman")
    podman = Engine("podman", [args.podman, "--root", os.path.join(p_dir, "root"),
                               "--runroot", os.path.join(p_dir, "run"),
                               "--tmpdir", os.path.join(p_dir, "libpod-tmp"),
                               "--network-config-dir", os.path.join(p_dir, "networks"),
                               "--storage-driver", args.storage_driver],
                    {**base_env, "TMPDIR": os.path.join(p_dir, "tmp")}, p_dir)
    for eng in (otter, podman):
        os.makedirs(eng.env["TMPDIR"], exist_ok=True)
        os.makedirs(os.path.join(eng.workdir, "out"), exist_ok=True)
    precompile_otter(o_python, otter.env)
    if args.rootless:
        for eng in (otter, podman):
            as_user(eng, args.rootless, tmp)
    return [otter, podman]


def as_user(eng: Engine, user: str, tmp: str) -> None:
    """Run `eng` as the unprivileged `user` (both engines then work rootless): its commands go
    through runuser with a clean environment, a login-like XDG_RUNTIME_DIR, and the stores
    under `tmp` are the user's."""
    import pwd
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise BenchError(f"user {user!r} does not exist (scripts/test-rootless.sh creates ottertest)") from None
    runtime = os.path.join(tmp, f"xdg-{eng.name}")
    os.makedirs(runtime, mode=0o700, exist_ok=True)
    for path in (tmp, eng.workdir, runtime):
        os.chown(path, pw.pw_uid, pw.pw_gid)
    for dirpath, dirnames, filenames in os.walk(eng.workdir):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), pw.pw_uid, pw.pw_gid)
    keep = {k: v for k, v in eng.env.items() if k in ("PATH", "LANG", "TMPDIR", "PYTHONPATH", "PYTHONPYCACHEPREFIX")}
    env = [f"{k}={v}" for k, v in {**keep, "HOME": pw.pw_dir, "USER": user, "XDG_RUNTIME_DIR": runtime}.items()]
    eng.prefix = ["runuser", "-u", user, "--", "env", "-i", *env] + eng.prefix


# ---------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------

def _nothing() -> None:
    return None


@dataclass
class Case:
    """What one scenario does with one engine.

    args      the timed command, after the engine's global flags;
    setup     untimed, once before the warm-up;
    before    untimed, before every run (warm-up included): e.g. remove the image a load adds;
    check     untimed, after every run, given its Result: raise BenchError if the run did not
              do its job (an exit status of 0 alone proves little);
    timed     instead of timing `args`, call this and take its Result (e.g. a parallel batch);
    teardown  untimed, once after the last run (also on the way out after a failure);
    payload_bytes  bytes moved per run, to print a throughput (0: none);
    unit      what a run yields: "s" (its wall time) or "MiB" (a memory figure from `timed`,
              e.g. the resident size of a monitor process; compared and paired the same way).
    """
    args: list[str]
    timed: Callable[[], Result] | None = None   # times something other than one command
    setup: Callable[[], None] = _nothing
    before: Callable[[], None] = _nothing
    check: Callable[[Result], None] = lambda result: None
    teardown: Callable[[], None] = _nothing
    payload_bytes: int = 0
    unit: str = "s"


@dataclass
class Scenario:
    name: str
    description: str
    make: Callable[["Context", Engine], Case]


SCENARIOS: list[Scenario] = []


def scenario(name: str, description: str):
    def register(fn: Callable[["Context", Engine], Case]):
        SCENARIOS.append(Scenario(name, description, fn))
        return fn
    return register


class Context:
    """Shared inputs for the scenarios, built lazily (only the selected scenarios pay for them)."""

    def __init__(self, tmp: str, build_dir: str):
        self.tmp = tmp
        self.build_dir = build_dir
        self._archive: str | None = None
        self._small: list[str] | None = None
        self._registries: dict = {}
        self.seeded = False                 # the pull registry holds the bench image

    def registry(self, name: str):
        """A docker-registry on 127.0.0.1 (storage under the temp dir), started on first use and
        stopped by `close`."""
        if name not in self._registries:
            directory = os.path.join(self.tmp, f"registry-{name}")
            os.makedirs(directory)
            self._registries[name] = _registry_class()(directory).start()
        return self._registries[name]

    def close(self) -> None:
        for reg in self._registries.values():
            reg.stop()

    @property
    def archive(self) -> str:
        """The ~214 MB, 5-layer docker-archive (built once, cached under build/bench/)."""
        if self._archive is None:
            path = mkimage.archive_path(self.build_dir)
            if not os.path.exists(path):
                print(f"bench: building {path} (once) ...", flush=True)
            self._archive = mkimage.ensure(self.build_dir)
        return self._archive

    @property
    def small_tars(self) -> list[str]:
        """N_SMALL_IMAGES tiny, distinct rootfs tarballs for `import`."""
        if self._small is None:
            d = os.path.join(self.tmp, "small")
            os.makedirs(d, exist_ok=True)
            self._small = []
            for i in range(N_SMALL_IMAGES):
                path = os.path.join(d, f"small-{i:02d}.tar")
                with tarfile.open(path, "w") as tf:
                    for name in ("etc", "bin", "data"):
                        ti = tarfile.TarInfo(name)
                        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, mkimage.MTIME
                        tf.addfile(ti)
                    for name, data in (("etc/bench-id", f"small image {i}\n".encode()),
                                       ("data/payload", bytes(range(256)) * (4 + i))):
                        ti = tarfile.TarInfo(name)
                        ti.size, ti.mode, ti.mtime = len(data), 0o644, mkimage.MTIME
                        tf.addfile(ti, io.BytesIO(data))
                self._small.append(path)
        return self._small


def sync() -> None:
    """Flush dirty pages so that one run's write-back does not land in the next timed run."""
    os.sync()


@scenario("version", "`--version`: bare CLI start-up, no store access")
def sc_version(ctx: Context, eng: Engine) -> Case:
    def check(r: Result) -> None:
        if "version" not in r.stdout.lower():
            raise BenchError(f"{eng.name} --version printed no version: {r.stdout!r}")
    return Case(args=["--version"], check=check)


@scenario("images", f"`images` with {N_SMALL_IMAGES} small imported images in the store (set-up untimed)")
def sc_images(ctx: Context, eng: Engine) -> Case:
    names = [f"localhost/bench-small-{i:02d}:latest" for i in range(N_SMALL_IMAGES)]

    def setup() -> None:
        eng.remove_all_images()
        for path, name in zip(ctx.small_tars, names):
            eng.run("import", path, name)

    def check(r: Result) -> None:
        rows = [line for line in r.stdout.splitlines()[1:] if line.strip()]
        if len(rows) != N_SMALL_IMAGES:
            raise BenchError(f"{eng.name} images listed {len(rows)} rows, expected {N_SMALL_IMAGES}:\n{r.stdout}")

    return Case(args=["images"], setup=setup, check=check, teardown=lambda: eng.run("rmi", "-f", *names))


@scenario("load", "`load -i` of the ~214 MB 5-layer docker-archive (image removed before each run, untimed)")
def sc_load(ctx: Context, eng: Engine) -> Case:
    archive = ctx.archive

    def before() -> None:
        eng.remove_image(BENCH_REF)
        sync()

    def check(r: Result) -> None:
        if not eng.image_exists(BENCH_REF):
            raise BenchError(f"{eng.name}: load exited 0 but {BENCH_REF} does not exist")

    return Case(args=["load", "-i", archive], before=before, check=check, payload_bytes=os.path.getsize(archive))


@scenario("save", "`save --format docker-archive -o FILE` of the ~214 MB image (output removed between runs)")
def sc_save(ctx: Context, eng: Engine) -> Case:
    archive = ctx.archive
    out = os.path.join(eng.workdir, "out", "save.tar")

    def remove_out() -> None:
        if os.path.exists(out):
            os.unlink(out)

    def before() -> None:
        remove_out()
        sync()

    def check(r: Result) -> None:
        size = os.path.getsize(out) if os.path.exists(out) else 0
        if size < 0.9 * os.path.getsize(archive):
            raise BenchError(f"{eng.name}: save wrote {size} bytes to {out}, expected about {os.path.getsize(archive)}")
        with tarfile.open(out) as tf:
            names = tf.getnames()
        if "manifest.json" not in names or len([n for n in names if n.endswith(".tar")]) < 5:
            raise BenchError(f"{eng.name}: {out} is not a 5-layer docker-archive: {names[:10]}")

    return Case(args=["save", "--format", "docker-archive", "-o", out, BENCH_REF],
                setup=lambda: eng.ensure_image(BENCH_REF, archive), before=before, check=check,
                teardown=remove_out, payload_bytes=os.path.getsize(archive))


# -- registry ----------------------------------------------------------------------------------

def _registry_class():
    """Debian's docker-registry, driven by the same helper the registry tests use."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    from tests.system.registry_fixtures import DistributionRegistry
    return DistributionRegistry


def _stored_mb(reg) -> str:
    return f"{reg.stored_bytes() / 1e6:.1f} MB"


@scenario("pull", "`pull --tls-verify=false` of the ~214 MB image from a local docker-registry (the image, pushed "
                  "once by skopeo, and every local image removed before each run, untimed)")
def sc_pull(ctx: Context, eng: Engine) -> Case:
    reg = ctx.registry("pull")
    ref = f"{reg.host}/bench:latest"

    def setup() -> None:
        if not ctx.seeded:
            # skopeo compresses with containers/image's gzip, as a podman push does: neither engine
            # under test prepared the bytes it pulls.
            proc = subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"docker-archive:{ctx.archive}",
                                   f"docker://{ref}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                raise BenchError(f"skopeo copy to {ref} failed: {proc.stdout.decode(errors='replace')[-500:]}")
            ctx.seeded = True
            print(f"bench: pull source {ref} holds {_stored_mb(reg)} (pushed by skopeo)", flush=True)

    def before() -> None:
        eng.remove_all_images()
        sync()

    def check(r: Result) -> None:
        if not eng.image_exists(ref):
            raise BenchError(f"{eng.name}: pull exited 0 but {ref} does not exist")

    return Case(args=["pull", "--tls-verify=false", ref], setup=setup, before=before, check=check,
                teardown=eng.remove_all_images, payload_bytes=os.path.getsize(ctx.archive))


@scenario("push", "`push --tls-verify=false` of the ~214 MB image to a local docker-registry (emptied and "
                  "restarted before each run, untimed); prints the bytes each engine stored")
def sc_push(ctx: Context, eng: Engine) -> Case:
    reg = ctx.registry("push")
    ref = f"{reg.host}/bench-{eng.name}:latest"
    stored: list[str] = []

    def before() -> None:
        reg.stop()
        shutil.rmtree(reg.data, ignore_errors=True)
        reg.start()
        sync()

    def check(r: Result) -> None:
        try:
            reg.get_manifest(f"bench-{eng.name}", "latest")
        except OSError as e:
            raise BenchError(f"{eng.name}: push exited 0 but the registry has no {ref}: {e}") from None
        stored[:] = [_stored_mb(reg)]

    def teardown() -> None:
        if stored:
            print(f"bench: push: {eng.name} stored {stored[0]} in the registry", flush=True)

    return Case(args=["push", "--tls-verify=false", BENCH_REF, ref],
                setup=lambda: eng.ensure_image(BENCH_REF, ctx.archive), before=before, check=check,
                teardown=teardown, payload_bytes=os.path.getsize(ctx.archive))


# -- containers --------------------------------------------------------------------------------

BUSYBOX_REF = "localhost/busybox:latest"
BUSYBOX_ARCHIVE = os.path.join(REPO, "build", "busybox.tar")
N_PARALLEL = 20


def _ids(eng: Engine) -> list[str]:
    return eng.run("ps", "-a", "-q").stdout.split()


def _remove_all_containers(eng: Engine) -> None:
    eng.run("rm", "-a", "-f")
    left = _ids(eng)
    if left:
        raise BenchError(f"{eng.name}: `rm -a -f` exited 0 but {len(left)} container(s) remain")


def _status(eng: Engine, name: str) -> str:
    return eng.run("inspect", "--format", "{{.State.Status}}", name).stdout.strip()


def _busybox(eng: Engine) -> Callable[[], None]:
    def setup() -> None:
        if not os.path.exists(BUSYBOX_ARCHIVE):
            raise BenchError(f"{BUSYBOX_ARCHIVE} is missing: run `make setup` first")
        eng.ensure_image(BUSYBOX_REF, BUSYBOX_ARCHIVE)
        _remove_all_containers(eng)
    return setup


@scenario("run-rm", "`run --rm --network none busybox true` (seccomp on): the start-up a user waits for")
def sc_run_rm(ctx: Context, eng: Engine) -> Case:
    def check(r: Result) -> None:
        if _ids(eng):
            raise BenchError(f"{eng.name}: `run --rm` left a container behind")
    return Case(args=["run", "--rm", "--network", "none", BUSYBOX_REF, "true"], setup=_busybox(eng), check=check)


@scenario("run-d", "`run -d --network none busybox sleep 1000` (removed untimed between runs)")
def sc_run_d(ctx: Context, eng: Engine) -> Case:
    def before() -> None:
        _remove_all_containers(eng)

    def check(r: Result) -> None:
        if _status(eng, "bench-d") != "running":
            raise BenchError(f"{eng.name}: `run -d` exited 0 but bench-d is not running")
    return Case(args=["run", "-d", "--name", "bench-d", "--network", "none", BUSYBOX_REF, "sleep", "1000"],
                setup=_busybox(eng), before=before, check=check, teardown=lambda: _remove_all_containers(eng))


@scenario("stop", "`stop -t 0` of a running container (started untimed)")
def sc_stop(ctx: Context, eng: Engine) -> Case:
    def before() -> None:
        _remove_all_containers(eng)
        eng.run("run", "-d", "--name", "bench-s", "--network", "none", BUSYBOX_REF, "sleep", "1000")

    def check(r: Result) -> None:
        if _status(eng, "bench-s") != "exited":
            raise BenchError(f"{eng.name}: `stop` exited 0 but bench-s is not exited")
    return Case(args=["stop", "-t", "0", "bench-s"], setup=_busybox(eng), before=before, check=check,
                teardown=lambda: _remove_all_containers(eng))


@scenario("rm", "`rm` of an exited container (run untimed)")
def sc_rm(ctx: Context, eng: Engine) -> Case:
    def before() -> None:
        _remove_all_containers(eng)
        eng.run("run", "--name", "bench-r", "--network", "none", BUSYBOX_REF, "true")

    def check(r: Result) -> None:
        if _ids(eng):
            raise BenchError(f"{eng.name}: `rm` exited 0 but the container still exists")
    return Case(args=["rm", "bench-r"], setup=_busybox(eng), before=before, check=check)


def _with_containers(eng: Engine, n: int) -> Callable[[], None]:
    def setup() -> None:
        _busybox(eng)()
        for i in range(n):
            eng.run("create", "--name", f"bench-c{i:03d}", "--network", "none", BUSYBOX_REF, "true")
    return setup


def _ps_scenario(n: int) -> None:
    @scenario(f"ps-{n}", f"`ps -a` with {n} created containers (created untimed)")
    def sc_ps(ctx: Context, eng: Engine) -> Case:
        def check(r: Result) -> None:
            rows = [line for line in r.stdout.splitlines()[1:] if line.strip()]
            if len(rows) != n:
                raise BenchError(f"{eng.name}: ps -a listed {len(rows)} containers, expected {n}")
        return Case(args=["ps", "-a"], setup=_with_containers(eng, n), check=check,
                    teardown=lambda: _remove_all_containers(eng))


for _n in (0, 50, 200):
    _ps_scenario(_n)


@scenario("ps-200-names", "`ps -a --format '{{.Names}}'` with 200 created containers (issue 5's figure)")
def sc_ps_names(ctx: Context, eng: Engine) -> Case:
    def check(r: Result) -> None:
        if len(r.stdout.split()) != 200:
            raise BenchError(f"{eng.name}: ps --format listed {len(r.stdout.split())} names, expected 200")
    return Case(args=["ps", "-a", "--format", "{{.Names}}"], setup=_with_containers(eng, 200), check=check,
                teardown=lambda: _remove_all_containers(eng))


@scenario("inspect-200", "`inspect` of one container among 200")
def sc_inspect(ctx: Context, eng: Engine) -> Case:
    def check(r: Result) -> None:
        if json.loads(r.stdout)[0]["Name"].lstrip("/") != "bench-c100":
            raise BenchError(f"{eng.name}: inspect printed the wrong container")
    return Case(args=["inspect", "bench-c100"], setup=_with_containers(eng, 200), check=check,
                teardown=lambda: _remove_all_containers(eng))


@scenario("parallel-20", f"{N_PARALLEL} x `run -d ... sleep 1000` at once (wall time of the batch)")
def sc_parallel(ctx: Context, eng: Engine) -> Case:
    from concurrent.futures import ThreadPoolExecutor

    def batch() -> Result:
        args = [["run", "-d", "--name", f"bench-p{i:02d}", "--network", "none", BUSYBOX_REF, "sleep", "1000"]
                for i in range(N_PARALLEL)]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=N_PARALLEL) as pool:
            procs = list(pool.map(lambda a: eng._exec(a, CMD_TIMEOUT)[0], args))
        seconds = time.perf_counter() - t0
        failed = [p for p in procs if p.returncode != 0]
        if failed:
            raise BenchError(f"{eng.name}: {len(failed)} of {N_PARALLEL} parallel runs failed: "
                             f"{failed[0].stderr.decode(errors='replace').strip()}")
        return Result(seconds, "", "")

    def check(r: Result) -> None:
        running = eng.run("ps", "-q").stdout.split()
        if len(running) != N_PARALLEL:
            raise BenchError(f"{eng.name}: {len(running)} of {N_PARALLEL} containers running after the batch")
    return Case(args=[], timed=batch, setup=_busybox(eng), before=lambda: _remove_all_containers(eng), check=check,
                teardown=lambda: _remove_all_containers(eng))


def _vm_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise BenchError(f"/proc/{pid}/status has no VmRSS line")


@scenario("monitor-rss", "memory, not time: VmRSS of the monitor (conmon) of one detached container, "
          "read after `run -d ... sleep 1000` (untimed) returns")
def sc_monitor_rss(ctx: Context, eng: Engine) -> Case:
    def sample() -> Result:
        cid = eng.run("run", "-d", "--network", "none", BUSYBOX_REF, "sleep", "1000").stdout.strip()
        pid = int(eng.run("inspect", "--format", "{{.State.ConmonPid}}", cid).stdout.strip() or 0)
        if pid <= 0:
            raise BenchError(f"{eng.name}: inspect shows no ConmonPid for a running container")
        return Result(_vm_rss_mib(pid), "", "")
    return Case(args=[], timed=sample, unit="MiB", setup=_busybox(eng), before=lambda: _remove_all_containers(eng),
                teardown=lambda: _remove_all_containers(eng))


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------

@dataclass
class Measurement:
    scenario: str
    description: str
    runs: dict[str, list[float]] = field(default_factory=dict)
    payload_bytes: int = 0
    unit: str = "s"

    def summary(self, a: str, b: str) -> dict:
        ta, tb = self.runs[a], self.runs[b]
        pairs = [x / y for x, y in zip(ta, tb)]
        med_a, med_b = statistics.median(ta), statistics.median(tb)
        out = {
            "scenario": self.scenario, "description": self.description, "n": len(pairs), "unit": self.unit,
            f"{a}_median_{self.unit}": med_a, f"{b}_median_{self.unit}": med_b,
            f"{a}_runs_{self.unit}": ta, f"{b}_runs_{self.unit}": tb,
            "ratio_of_medians": med_a / med_b,
            "paired_ratio_median": statistics.median(pairs),
            "paired_ratio_min": min(pairs), "paired_ratio_max": max(pairs),
            "paired_ratios": pairs,
        }
        if self.payload_bytes:
            out["payload_bytes"] = self.payload_bytes
            out[f"{a}_MBps"] = self.payload_bytes / 1e6 / med_a
            out[f"{b}_MBps"] = self.payload_bytes / 1e6 / med_b
        return out


def measure(sc: Scenario, ctx: Context, engines: list[Engine], runs: int, warmups: int, verbose: bool) -> Measurement:
    cases = {eng.name: sc.make(ctx, eng) for eng in engines}
    by_name = {eng.name: eng for eng in engines}
    first = cases[engines[0].name]
    m = Measurement(sc.name, sc.description, {eng.name: [] for eng in engines}, first.payload_bytes, first.unit)
    set_up: list[str] = []
    try:
        for eng in engines:
            set_up.append(eng.name)
            cases[eng.name].setup()

        def once(name: str) -> float:
            case = cases[name]
            case.before()
            result = case.timed() if case.timed is not None else by_name[name].timed(case.args)
            case.check(result)
            return result.seconds

        for w in range(warmups):
            for eng in engines:
                t = once(eng.name)
                if verbose:
                    print(f"    warm-up {eng.name:<7} {t:8.3f} s", flush=True)
        for i in range(runs):
            order = engines if i % 2 == 0 else engines[::-1]
            for eng in order:
                t = once(eng.name)
                m.runs[eng.name].append(t)
                if verbose:
                    print(f"    run {i + 1:<3} {eng.name:<7} {t:8.3f} s", flush=True)
    finally:
        errors = []
        for name in set_up:
            try:
                cases[name].teardown()
            except BenchError as e:
                errors.append(str(e))
        if errors and sys.exc_info()[0] is None:
            raise BenchError("teardown failed:\n" + "\n".join(errors))
        for e in errors:
            print(f"bench: (teardown) {e}", file=sys.stderr)
    return m


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms" if seconds < 1 else f"{seconds:7.3f} s "


def fmt_value(value: float, unit: str) -> str:
    return fmt_s(value) if unit == "s" else f"{value:6.2f} {unit}"


def print_line(s: dict) -> None:
    unit = s["unit"]
    line = (f"{s['scenario']:<10} {fmt_value(s[f'otter_median_{unit}'], unit)}  "
            f"{fmt_value(s[f'podman_median_{unit}'], unit)}  "
            f"{s['ratio_of_medians']:6.2f}   {s['paired_ratio_median']:6.2f} "
            f"({s['paired_ratio_min']:.2f}-{s['paired_ratio_max']:.2f})  {s['n']:>3}")
    if "payload_bytes" in s:
        line += f"   {s['otter_MBps']:.0f} / {s['podman_MBps']:.0f} MB/s"
    print(line, flush=True)


HEADER = (f"{'scenario':<10} {'otter med':>10}  {'podman med':>10}  {'ratio':>6}   "
          f"{'paired otter/podman (min-max)':<29}  {'n':>3}")


# ---------------------------------------------------------------------------------------------
# Host set-up and clean-up
# ---------------------------------------------------------------------------------------------

def ensure_podman(binary: str) -> str:
    found = shutil.which(binary)
    if found:
        return found
    if binary != "podman":
        raise BenchError(f"podman binary {binary!r} not found")
    print("bench: podman is missing; installing it with apt-get ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    proc = subprocess.run(["apt-get", "install", "-y", "podman"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    found = shutil.which("podman")
    if proc.returncode != 0 or not found:
        tail = proc.stdout.decode(errors="replace").strip().splitlines()[-10:]
        raise BenchError("apt-get install -y podman failed:\n" + "\n".join("    " + t for t in tail))
    return found


def conf_is_good(text: str) -> bool:
    try:
        import tomllib
        data = tomllib.loads(text)
    except Exception:
        return False
    return (data.get("containers", {}).get("default_ulimits") == []
            and data.get("engine", {}).get("runtime") == "runc")


class ContainersConf:
    """Make /etc/containers/containers.conf hold what podman needs here; undo it afterwards."""

    def __init__(self, path: str = CONF_PATH):
        self.path = path
        self.backup = path + ".otter-bench-backup"
        self.created_file = False
        self.created_dir = False
        self.backed_up = False

    def __enter__(self) -> "ContainersConf":
        if os.path.exists(self.backup):
            raise BenchError(f"{self.backup} exists: an earlier bench run did not restore {self.path}. "
                             f"Restore it by hand (mv {self.backup} {self.path}) and run again.")
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            os.makedirs(directory)
            self.created_dir = True
        if os.path.exists(self.path):
            with open(self.path) as f:
                if conf_is_good(f.read()):
                    return self
            shutil.copy2(self.path, self.backup)
            self.backed_up = True
            print(f"bench: {self.path} backed up to {self.backup} for the run", flush=True)
        else:
            self.created_file = True
        with open(self.path + ".otter-bench-new", "w") as f:
            f.write(CONF_TEXT)
        os.chmod(self.path + ".otter-bench-new", 0o644)
        os.replace(self.path + ".otter-bench-new", self.path)
        return self

    def _still_ours(self) -> bool:
        try:
            with open(self.path) as f:
                return f.read() == CONF_TEXT
        except OSError:
            return False

    def __exit__(self, *exc) -> None:
        # Only undo our own write: if someone rewrote the file meanwhile, keep theirs.
        if self.backed_up:
            if self._still_ours() or not os.path.exists(self.path):
                os.replace(self.backup, self.path)
            else:
                print(f"bench: {self.path} was changed by someone else during the run; the original "
                      f"is kept in {self.backup}", file=sys.stderr)
        elif self.created_file and self._still_ours():
            os.unlink(self.path)
        if self.created_dir:
            try:
                os.rmdir(os.path.dirname(self.path))
            except OSError:
                pass


def mounts_under(path: str) -> list[str]:
    """Mount points at or below `path`, from /proc/self/mountinfo."""
    prefix = os.path.realpath(path).rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4]
            if "\\" in mnt:                      # octal escapes such as \040 for a space
                mnt = mnt.encode().decode("unicode_escape")
            if mnt.startswith(prefix) or mnt + "/" == prefix:
                found.append(mnt)
    return found


def pause_processes(tmp: str, user: str) -> list[int]:
    """The rootless pause processes both engines started for `user`: the PIDs in the pause.pid
    files under `tmp` (each engine's XDG_RUNTIME_DIR lies there)."""
    import pwd
    uid = pwd.getpwnam(user).pw_uid
    pids = []
    for dirpath, _, filenames in os.walk(tmp):
        if "pause.pid" in filenames:
            try:
                with open(os.path.join(dirpath, "pause.pid")) as f:
                    pid = int(f.read().strip())
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    pids.append(pid)
            except (OSError, ValueError):
                continue
    return pids


def cleanup_tmp(tmp: str, engines: list[Engine]) -> None:
    """Remove every container and image of both engines, unmount what is left, delete `tmp`."""
    for eng in engines:
        # podman: `system reset` removes containers, images, its storage and unmounts them.
        # otter: remove containers (a no-op error until otter has `rm`); its store is plain files.
        cmd = ["system", "reset", "-f"] if eng.name == "podman" else ["rm", "-a", "-f"]
        try:
            proc = subprocess.run(eng.argv(cmd), env=eng.env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
            if proc.returncode != 0 and eng.name == "podman":
                print(f"bench: (clean-up) podman system reset exited {proc.returncode}: "
                      f"{proc.stdout.decode(errors='replace').strip()[-300:]}", file=sys.stderr)
        except (OSError, subprocess.TimeoutExpired) as e:
            print(f"bench: (clean-up) {eng.name} {' '.join(cmd)}: {e}", file=sys.stderr)
    for mnt in sorted(mounts_under(tmp), key=lambda m: m.count("/"), reverse=True):
        if subprocess.run(["umount", mnt], stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)
    left = mounts_under(tmp)
    if left:
        print(f"bench: NOT removing {tmp}: still mounted: {left}", file=sys.stderr)
        return
    shutil.rmtree(tmp, ignore_errors=True)
    if os.path.exists(tmp):
        print(f"bench: could not fully remove {tmp}", file=sys.stderr)


def podman_side_paths() -> tuple[list[str], list[str]]:
    """State podman creates outside --root/--runroot/--tmpdir even with those flags: the
    blob-info cache of containers/image (written by load) and netavark's run directory.
    Returns (files, directories), deepest first."""
    if os.getuid() == 0:
        lib, run = "/var/lib/containers", "/run/containers"
    else:
        lib = os.path.join(os.path.expanduser("~"), ".local/share/containers")
        run = os.path.join(os.environ.get("XDG_RUNTIME_DIR", f"/run/user/{os.getuid()}"), "containers")
    return ([os.path.join(lib, "cache", "blob-info-cache-v1.boltdb")],
            [os.path.join(lib, "cache"), lib, os.path.join(run, "networks"), run])


def remove_new_side_paths(existed: dict[str, bool]) -> None:
    """Undo what podman created outside the temp dir, and nothing else.

    The machine is shared: another podman may create its real store under the same parent
    directory (/var/lib/containers/storage) while the bench runs. So nothing is ever removed
    recursively: the blob-info cache file goes only if it is new and its parent holds no other
    podman state, and new directories are removed with rmdir, which only removes empty ones."""
    files, dirs = podman_side_paths()
    for path in files:
        lib = os.path.dirname(os.path.dirname(path))
        if existed.get(path) or not os.path.isfile(path):
            continue
        try:
            others = [n for n in os.listdir(lib) if n != "cache"] + \
                     [n for n in os.listdir(os.path.dirname(path)) if n != os.path.basename(path)]
        except OSError:
            continue
        if not others:
            os.unlink(path)
    for path in dirs:
        if not existed.get(path) and os.path.isdir(path) and not os.path.ismount(path):
            try:
                os.rmdir(path)
            except OSError:
                pass            # not empty: something else uses it now; leave it


def host_info(engines: list[Engine]) -> dict:
    def version(eng: Engine) -> str:
        return eng.run("--version").stdout.strip()      # an engine that cannot say this is broken
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(), "kernel": platform.release(),
        "cpus": os.cpu_count(), "python": sys.version.split()[0], "uid": os.getuid(),
        "otter_command": " ".join(engines[0].prefix), "podman_command": " ".join(engines[1].prefix),
        "otter_version": version(engines[0]), "podman_version": version(engines[1]),
        "loadavg_start": os.getloadavg(),
    }


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def parse_args(argv: list[str]) -> argparse.Namespace:
    names = [s.name for s in SCENARIOS]
    p = argparse.ArgumentParser(description="Time otter against podman, side by side, with paired ratios.")
    p.add_argument("--runs", type=int, default=7, help="counted pairs per scenario (default 7)")
    p.add_argument("--warmups", type=int, default=1, help="discarded warm-up runs per engine (default 1)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help=f"run only these scenarios (repeat or comma-separate): {', '.join(names)}")
    p.add_argument("--json", metavar="FILE", help="write all results and raw times to FILE")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--verbose", "-v", action="store_true", help="print every single time")
    p.add_argument("--otter", help="otter command to run (default: .venv/bin/otter, else python3 -m otter)")
    p.add_argument("--podman", default="podman", help="podman binary (default: podman, installed if missing)")
    p.add_argument("--rootless", metavar="USER", help="run both engines as this unprivileged user "
                   "(with /etc/subuid and /etc/subgid ranges), e.g. ottertest")
    p.add_argument("--storage-driver", default="overlay", help="storage driver for both engines (default overlay)")
    p.add_argument("--tmpdir", default=None, help="parent of the temporary stores (default: $TMPDIR or /tmp)")
    p.add_argument("--build-dir", default=os.path.join(REPO, "build", "bench"),
                   help="where the benchmark image is cached (default build/bench)")
    args = p.parse_args(argv)
    selected = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    unknown = [n for n in selected if n not in names]
    if unknown:
        p.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    args.selected = [s for s in SCENARIOS if not selected or s.name in selected]
    if args.runs < 1 or args.warmups < 0:
        p.error("--runs must be >= 1 and --warmups >= 0")
    return args


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.list:
        for s in SCENARIOS:
            print(f"{s.name:<10} {s.description}")
        return 0
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)

    summaries: list[dict] = []
    info: dict = {}
    status = 0
    try:
        args.podman = ensure_podman(args.podman)
        existed = {p: os.path.lexists(p) for group in podman_side_paths() for p in group}
        try:
            with ContainersConf():
                tmp = tempfile.mkdtemp(prefix="otter-bench-", dir=args.tmpdir)
                engines: list[Engine] = []
                ctx: Context | None = None
                try:
                    engines = make_engines(tmp, args)
                    ctx = Context(tmp, args.build_dir)
                    info = host_info(engines)
                    print(f"otter:  {info['otter_version']}   ({info['otter_command']})")
                    print(f"podman: {info['podman_version']}")
                    print(f"{args.runs} pairs per scenario, {args.warmups} warm-up each; "
                          f"load average {info['loadavg_start'][0]:.2f}; temp dir {tmp}\n", flush=True)
                    print(HEADER, flush=True)
                    for sc in args.selected:
                        try:
                            m = measure(sc, ctx, engines, args.runs, args.warmups, args.verbose)
                        except BenchError as e:
                            raise BenchError(f"scenario {sc.name!r}: {e}") from e
                        s = m.summary("otter", "podman")
                        summaries.append(s)
                        print_line(s)
                finally:
                    if ctx is not None:
                        ctx.close()
                    # The clean-up commands still use the pause processes; end them afterwards.
                    pauses = pause_processes(tmp, args.rootless) if args.rootless else []
                    cleanup_tmp(tmp, engines)
                    for pid in pauses:
                        os.kill(pid, signal.SIGKILL)
        finally:
            remove_new_side_paths(existed)
    except BenchError as e:
        print(f"\nbench: ABORTED: {e}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("\nbench: interrupted; cleaned up", file=sys.stderr)
        status = 130

    if summaries:
        print("\nratio = otter median / podman median; paired = median of otter_i/podman_i over the pairs "
              "(below 1: otter faster). Quote the paired ratio.")
    if args.json:
        info["loadavg_end"] = os.getloadavg()
        info.update(runs=args.runs, warmups=args.warmups, storage_driver=args.storage_driver, aborted=status != 0)
        with open(args.json, "w") as f:
            json.dump({"meta": info, "results": summaries}, f, indent=2)
            f.write("\n")
        print(f"results written to {args.json}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
