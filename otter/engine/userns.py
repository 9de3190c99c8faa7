"""Rootless mode: the one long-lived user namespace every otter command of a user runs in.

Vocabulary:
  pause process  `catatonit -P` holding a user + mount namespace for the user (see
                 `drivers.catatonit`). Its pid is kept in `<user tmpdir>/pause.pid`; the user
                 tmpdir is `$XDG_RUNTIME_DIR/otter` or `/tmp/otter-UID` whatever `--runroot`
                 says, because the namespace belongs to the user, not to one store.
  id mapping     inside the namespace uid 0 is the user, uids 1..N the user's subordinate
                 range from /etc/subuid (likewise gids): a file owned by uid 1000 in an image
                 is owned by host uid `subuid_start + 999`.
  joining        `setns` into the pause process's user and mount namespaces, done by
                 `ensure_joined` before the command starts any thread. Inside, otter is uid 0,
                 mounts overlay with `userxattr`, and runs conmon and runc as podman does.

The environment carries `_OTTER_ROOTLESS_UID` into the namespace (where getuid() is 0), so
that default paths and `Engine.rootless` still know whose store this is.
"""

from __future__ import annotations

import os

from otter import log
from otter.errors import InvalidArgument, OtterError
from otter.sys import userns


def user_tmpdir(uid: int) -> str:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime) and os.stat(runtime).st_uid == uid:
        return os.path.join(runtime, "otter")
    return f"/tmp/otter-{uid}"


def pause_pid_file(uid: int) -> str:
    return os.path.join(user_tmpdir(uid), "pause.pid")


def subordinate_range(path: str, uid: int, name: str) -> tuple[int, int]:
    """The first range for the user (by name or uid) in /etc/subuid or /etc/subgid."""
    try:
        with open(path) as f:
            for line in f:
                fields = line.strip().split(":")
                if len(fields) == 3 and fields[0] in (name, str(uid)):
                    start, count = int(fields[1]), int(fields[2])
                    if count < 1:
                        raise InvalidArgument(f"{path}: the range for {name} is empty")
                    return start, count
    except FileNotFoundError:
        pass
    except ValueError:
        raise InvalidArgument(f"{path}: malformed entry for {name}") from None
    raise InvalidArgument(f"no subordinate ids for user {name!r} in {path}: rootless containers need a range "
                          f"there (e.g. `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {name}`)")


def _user_name(uid: int) -> str:
    import pwd
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _pause_alive(pid: int, uid: int) -> bool:
    try:
        st = os.stat(f"/proc/{pid}")
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
    except OSError:
        return False
    return st.st_uid == uid and comm == "catatonit"


def _read_pid(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _create_pause(uid: int, gid: int) -> int:
    from otter.drivers.catatonit import start_pause_process
    from otter.drivers.newuidmap import write_map
    name = _user_name(uid)
    uid_start, uid_count = subordinate_range("/etc/subuid", uid, name)
    gid_start, gid_count = subordinate_range("/etc/subgid", uid, name)

    def write_maps(pid: int) -> None:
        write_map("newuidmap", pid, [(0, uid, 1), (1, uid_start, uid_count)])
        write_map("newgidmap", pid, [(0, gid, 1), (1, gid_start, gid_count)])
    return start_pause_process(write_maps)


def ensure_joined() -> None:
    """Join (creating if needed) the user's pause namespace; a no-op for root and inside it.

    Must run before any thread exists: setns(CLONE_NEWUSER) refuses threaded processes."""
    if os.getuid() == 0:
        return
    uid, gid = os.getuid(), os.getgid()
    pid_file = pause_pid_file(uid)
    pid = _read_pid(pid_file)
    if not _pause_alive(pid, uid):
        # Slow path, once per boot or after the pause process died: create it under a lock so
        # that concurrent first commands agree on one namespace.
        from otter.sys.filelock import FileLock
        os.makedirs(os.path.dirname(pid_file), mode=0o700, exist_ok=True)
        with FileLock(pid_file + ".lock"):
            pid = _read_pid(pid_file)
            if not _pause_alive(pid, uid):
                try:
                    pid = _create_pause(uid, gid)
                except OSError as e:
                    raise InvalidArgument(f"cannot create the rootless user namespace: {e}") from None
                tmp = f"{pid_file}.{os.getpid()}"
                with open(tmp, "w") as f:
                    f.write(str(pid))
                os.rename(tmp, pid_file)
                log.debug(f"started pause process {pid}")
    try:
        userns.setns(f"/proc/{pid}/ns/user", userns.CLONE_NEWUSER)
        userns.setns(f"/proc/{pid}/ns/mnt", userns.CLONE_NEWNS)
    except OSError as e:
        raise OtterError(f"cannot join the rootless user namespace of pause process {pid}: {e}") from None
    os.environ[userns.ROOTLESS_UID_ENV] = str(uid)
    log.debug(f"joined the user namespace of pause process {pid}")
