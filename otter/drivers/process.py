"""Starting the programs otter drives (runc, conmon) with posix_spawn.

Why not `subprocess`: importing it (with threading, selectors and locale) costs about 2 ms, and
`otter run` starts a program or two and nothing else. What subprocess would guarantee is
kept: the child gets only the descriptors it is given (every other one is closed, even an
inheritable one otter inherited), the signals Python ignores (SIGPIPE, SIGXFSZ) are reset to
their defaults, and a child is reaped exactly once.

Vocabulary:
  Child    a started program: its pid, and the parent's ends of the pipes to its stdout and
           stderr when those are captured.
  keep     descriptors handed to the child under their own numbers (conmon's sync pipes).
"""

from __future__ import annotations

import _signal  # not signal: its IntEnum wrapper imports enum (2 ms)
import os

from otter.record import record

_RESET_SIGNALS = (_signal.SIGPIPE, _signal.SIGXFSZ)


@record
class Completed:
    returncode: int
    stdout: bytes
    stderr: bytes


class Child:
    """A started program. `stdout`/`stderr` are pipe descriptors when captured, else None."""

    def __init__(self, pid: int, stdout: int | None, stderr: int | None):
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None

    def wait(self) -> int:
        """Reap the child; its exit code, or minus the signal that ended it (as subprocess)."""
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(_signal.SIGKILL)

    def communicate(self) -> Completed:
        """Read both captured pipes to their end, then reap."""
        import select
        out_fd, err_fd = self.stdout, self.stderr
        chunks: dict[int | None, list[bytes]] = {fd: [] for fd in (out_fd, err_fd) if fd is not None}
        open_fds = list(chunks)
        try:
            while open_fds:
                ready, _, _ = select.select(open_fds, [], [])
                for fd in ready:
                    data = os.read(fd, 65536)
                    if data:
                        chunks[fd].append(data)
                    else:
                        open_fds.remove(fd)
        finally:
            self.close_pipes()
        return Completed(self.wait(), b"".join(chunks.get(out_fd, ())), b"".join(chunks.get(err_fd, ())))

    def close_pipes(self) -> None:
        for name in ("stdout", "stderr"):
            fd = getattr(self, name)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)


def spawn(argv: list[str], *, stdin: str = "null", capture: bool = True, env: dict[str, str] | None = None,
          keep: tuple[int, ...] = (), new_process_group: bool = False, quiet: bool = False) -> Child:
    """Start `argv` (argv[0] an absolute path). `stdin` is "null" or "inherit"; `capture` pipes
    stdout and stderr back to us, else they are inherited, or sent to /dev/null with `quiet`."""
    actions: list[tuple] = []
    opened: list[int] = []
    parent_ends: list[int | None] = [None, None]
    null = None
    if stdin == "null" or quiet:
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        opened.append(null)
    if stdin == "null":
        actions.append((os.POSIX_SPAWN_DUP2, null, 0))
    for i, target in enumerate((1, 2)):
        if capture:
            read_end, write_end = os.pipe()
            parent_ends[i] = read_end
            opened.append(write_end)
            actions.append((os.POSIX_SPAWN_DUP2, write_end, target))
        elif quiet:
            actions.append((os.POSIX_SPAWN_DUP2, null, target))
    for fd in keep:
        os.set_inheritable(fd, True)
    # Everything else is closed in the child, after the dup2s above have used their sources.
    actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _open_descriptors() if fd > 2 and fd not in keep]
    try:
        group = {"setpgroup": 0} if new_process_group else {}
        pid = os.posix_spawn(argv[0], argv, os.environ if env is None else env, file_actions=actions,
                             setsigdef=_RESET_SIGNALS, **group)
    except BaseException:
        for fd in parent_ends:
            if fd is not None:
                os.close(fd)
        raise
    finally:
        for fd in opened:
            os.close(fd)
    return Child(pid, parent_ends[0], parent_ends[1])


def run(argv: list[str], env: dict[str, str] | None = None) -> Completed:
    """Run `argv` to completion with stdin from /dev/null, capturing its output."""
    return spawn(argv, env=env).communicate()


def _open_descriptors() -> list[int]:
    return [int(name) for name in os.listdir("/proc/self/fd")]
