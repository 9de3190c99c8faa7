"""The conmon driver: the 2 MiB monitor that supervises a detached container.

Protocol (mechanics §2): two SOCK_SEQPACKET socket pairs, *sync* and *start*, whose child
ends conmon finds through `_OCI_SYNCPIPE` / `_OCI_STARTPIPE`. We write one byte on *start*;
conmon double-forks (the first process exits at once), runs `runc create`, and reports on
*sync* `{"data": <container pid>}` or `{"data": -1, "message": "<runtime error>"}`. After
the container exits, conmon writes `<exit dir>/<id>` and runs the exit command
(`otter ... container cleanup ID`), so no otter process needs to stay alive.
"""

from __future__ import annotations

import os

from otter import jsoncodec, log
from otter.drivers import process
from otter.drivers.runc import classify, find_binary, read_error
from otter.errors import InvalidArgument, RuntimeFailure
from otter.record import field, record

SYNC_TIMEOUT_S = 120


@record
class ConmonRequest:
    cid: str
    name: str
    runtime: str              # absolute path of runc/crun
    runtime_root: str         # runc --root
    bundle: str
    pid_file: str
    conmon_pid_file: str
    exit_dir: str
    log_path: str             # k8s-file log
    runtime_log: str          # runc's JSON error log
    tty: bool = False
    stdin: bool = False
    exit_command: list[str] = field(default_factory=list)
    keep_fds: tuple[int, ...] = ()   # held by conmon until it exits (slirp4netns' exit fd)


def conmon_binary() -> str:
    path = find_binary("conmon")
    if path is None:
        raise InvalidArgument("conmon not found: install the conmon package")
    return path


def argv(req: ConmonRequest) -> list[str]:
    args = [conmon_binary(), "--api-version", "1", "-c", req.cid, "-u", req.cid, "-r", req.runtime,
            "-b", req.bundle, "-p", req.pid_file, "-n", req.name, "--exit-dir", req.exit_dir, "--full-attach",
            "-l", f"k8s-file:{req.log_path}", "--log-level", "error", "--conmon-pidfile", req.conmon_pid_file,
            "--runtime-arg", "--root", "--runtime-arg", req.runtime_root,
            "--runtime-arg", "--log-format=json", "--runtime-arg", "--log", "--runtime-arg", req.runtime_log,
            "--no-new-keyring"]
    if req.tty:
        args.append("-t")
    elif req.stdin:
        args.append("-i")
    if req.exit_command:
        args += ["--exit-command", req.exit_command[0]]
        for a in req.exit_command[1:]:
            args += ["--exit-command-arg", a]
    return args


def spawn(req: ConmonRequest) -> int:
    """Start conmon for a container; return the container's host pid once `runc create` is done."""
    # The C module under `socket`: the Python one builds four enums and imports selectors,
    # about 1.5 ms of every detached start.
    import _socket
    sync_parent, sync_child = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    start_parent, start_child = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "XDG_RUNTIME_DIR", "HOME", "LANG") or k.startswith("LC_")}
    env["PATH"] = env.get("PATH") or "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env["_OCI_SYNCPIPE"] = str(sync_child.fileno())
    env["_OCI_STARTPIPE"] = str(start_child.fileno())
    cmd = argv(req)
    log.debug(f"running {' '.join(cmd)}")
    try:
        proc = process.spawn(cmd, env=env, keep=(sync_child.fileno(), start_child.fileno(), *req.keep_fds),
                             capture=False, quiet=True, new_process_group=True)
        sync_child.close()
        start_child.close()
        start_parent.send(b"\0")
        proc.wait()
        sync_parent.settimeout(SYNC_TIMEOUT_S)
        try:
            raw = sync_parent.recv(65536)
        except TimeoutError:
            raise RuntimeFailure(f"conmon did not report the container's pid within {SYNC_TIMEOUT_S}s") from None
    finally:
        for s in (sync_parent, sync_child, start_parent, start_child):
            s.close()
    if not raw:
        msg = read_error(req.runtime_log) or "conmon exited without reporting the container's pid"
        raise classify(msg)
    report = jsoncodec.loads(raw)
    pid = int(report.get("data", -1))
    if pid <= 0:
        msg = read_error(req.runtime_log) or report.get("message", "").strip() or "container create failed"
        raise classify(msg)
    return pid


def version(binary: str) -> str:
    """`conmon --version` on one line, as Podman shows it: `conmon version 2.1.6, commit: unknown`."""
    out = process.run([binary, "--version"]).stdout.decode(errors="replace")
    return ", ".join(line.strip() for line in out.splitlines() if line.strip())
