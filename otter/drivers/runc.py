"""The OCI runtime driver: runc (or crun), one short-lived process per operation.

Vocabulary:
  state dir   `runc --root`: where the runtime keeps its own per-container state
              (`StorePaths.runtime_state`); separate per otter store.
  bundle      a directory holding `config.json` (the container's OCI runtime config).
  runtime log `--log FILE --log-format json`: runc writes its errors there as JSON lines;
              `classify` turns the last one into an otter error, choosing the exit code a
              user expects (127 command not found, 126 not executable, else 125).

Every call resolves the binary once to an absolute path. crun is refused with an
explanation on cgroup v1 "hybrid" hosts, where it cannot start any container.
"""

from __future__ import annotations

import os
from functools import lru_cache

from otter import jsoncodec, log
from otter.drivers import process
from otter.errors import CommandNotExecutable, CommandNotFound, ContainerNotFound, InvalidArgument, RuntimeFailure

SEARCH_PATH = os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/bin"


@lru_cache(maxsize=None)
def find_binary(name: str) -> str | None:
    """The absolute path of an executable named `name` on SEARCH_PATH (`shutil.which`, which
    would import shutil and with it bz2 and lzma on every container start)."""
    for directory in SEARCH_PATH.split(":"):
        path = os.path.join(directory, name)
        if directory and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def is_cgroup_hybrid() -> bool:
    return os.path.isdir("/sys/fs/cgroup/unified") and not os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def resolve_runtime(name: str) -> str:
    if os.path.isabs(name):
        if not os.access(name, os.X_OK):
            raise InvalidArgument(f"OCI runtime {name!r} is not an executable file")
        return name
    if name not in ("runc", "crun"):
        raise InvalidArgument(f"unknown OCI runtime {name!r}: use runc or crun")
    path = find_binary(name)
    if path is None:
        raise InvalidArgument(f"OCI runtime {name!r} not found: install the {name} package")
    if name == "crun" and is_cgroup_hybrid():
        raise InvalidArgument("crun cannot run containers on this host: it does not support cgroups v1 'hybrid' "
                              "mode (cgroup2 mounted at /sys/fs/cgroup/unified); use --runtime runc")
    return path


def classify(message: str, default=RuntimeFailure):
    """Pick the otter error for a runtime failure message (Podman's 126/127 rules)."""
    low = message.lower()
    if "executable file not found" in low or "no such file or directory" in low and "exec:" in low:
        return CommandNotFound(f"{message}: OCI runtime attempted to invoke a command that was not found")
    if "permission denied" in low and "exec:" in low or "is a directory" in low:
        return CommandNotExecutable(f"{message}: OCI permission denied")
    return default(message)


def read_error(log_path: str) -> str:
    """The last error message runc logged (JSON lines), or ""."""
    try:
        with open(log_path, "rb") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return ""
    for raw in reversed(lines):
        try:
            entry = jsoncodec.loads(raw)
        except ValueError:
            continue
        if entry.get("level") in ("error", "fatal"):
            return entry.get("msg", "")
    return ""


class Runtime:
    def __init__(self, binary: str, state_dir: str):
        self.binary = binary
        self.name = os.path.basename(binary)
        self.state_dir = state_dir

    def argv(self, *args: str, log_path: str | None = None) -> list[str]:
        base = [self.binary, "--root", self.state_dir]
        if log_path:
            base += ["--log", log_path, "--log-format", "json"]
        return base + list(args)

    def _run(self, *args: str, check: bool = True) -> tuple[int, str, str]:
        """Run one runtime operation: (exit code, stdout, stderr)."""
        argv = self.argv(*args)
        log.debug(f"running {' '.join(argv)}")
        done = process.run(argv)
        out, err = done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
        if check and done.returncode != 0:
            msg = err.strip().splitlines()[-1] if err.strip() else f"exit status {done.returncode}"
            if "does not exist" in msg or "container not found" in msg.lower():
                raise ContainerNotFound(f"{self.name}: {msg}")
            raise RuntimeFailure(f"{self.name}: {msg}")
        return done.returncode, out, err

    def start(self, cid: str) -> None:
        self._run("start", cid)

    def kill(self, cid: str, signal: int, all_processes: bool = False) -> None:
        self._run("kill", *(["--all"] if all_processes else []), cid, str(signal))

    def delete(self, cid: str, force: bool = False) -> None:
        code, _, err = self._run("delete", *(["--force"] if force else []), cid, check=False)
        if code != 0 and "does not exist" not in err:
            raise RuntimeFailure(f"{self.name}: {err.strip()}")

    def pause(self, cid: str) -> None:
        self._run("pause", cid)

    def resume(self, cid: str) -> None:
        self._run("resume", cid)

    def state(self, cid: str) -> dict | None:
        code, out, _ = self._run("state", cid, check=False)
        if code != 0:
            return None
        return jsoncodec.loads(out)

    def pids(self, cid: str) -> list[int]:
        _, out, _ = self._run("ps", "--format", "json", cid)
        return jsoncodec.loads(out or "[]") or []

    def run(self, cid: str, bundle: str, pid_file: str, log_path: str, stdin: bool, capture: bool) -> process.Child:
        """Start `runc run` in the foreground: create + start + wait + delete in one process.
        `stdin` hands ours to the container (else /dev/null); `capture` pipes its output back."""
        argv = self.argv("run", "--bundle", bundle, "--pid-file", pid_file, "--no-new-keyring", cid,
                         log_path=log_path)
        log.debug(f"running {' '.join(argv)}")
        return process.spawn(argv, stdin="inherit" if stdin else "null", capture=capture)

    def exec(self, cid: str, process_json: str, tty: bool, detach: bool, log_path: str, stdin: bool) -> int:
        """`runc exec` with our stdout and stderr; its exit code."""
        args = ["exec", "--process", process_json]
        if tty:
            args.append("--tty")
        if detach:
            args.append("--detach")
        argv = self.argv(*args, cid, log_path=log_path)
        log.debug(f"running {' '.join(argv)}")
        return process.spawn(argv, stdin="inherit" if stdin else "null", capture=False).wait()


def version(binary: str) -> str:
    """`runc --version` as the runtime prints it (several lines), for `otter info`."""
    return process.run([binary, "--version"]).stdout.decode(errors="replace").strip()
