"""`exec`: run an additional process in a running container with `runc exec`.

The process inherits the container's security settings (capabilities, no-new-privileges,
rlimits, AppArmor/SELinux labels) from the container's own `config.json`; only the command,
environment, working directory, user and terminal differ. Foreground execs are children of
otter and pass their exit code through; `-d` execs are detached by runc.
"""

from __future__ import annotations

import os
import tempfile

from otter import jsoncodec
from otter.core.container import State
from otter.engine.containers import lookup
from otter.engine.context import Engine
from otter.engine.events import container_event
from otter.errors import InvalidState
from otter.record import record


@record
class ExecOptions:
    container: str
    command: tuple[str, ...]
    env: tuple[str, ...] = ()
    user: str | None = None
    workdir: str | None = None
    tty: bool = False
    interactive: bool = False
    detach: bool = False
    privileged: bool = False


def container_exec(eng: Engine, opts: ExecOptions) -> tuple[int, str]:
    """Returns (exit code, exec session ID)."""
    from otter.core.users import resolve_user
    from otter.drivers.runc import classify, read_error
    from otter.engine.containers import _merge_env

    ctr = lookup(eng, opts.container)
    if ctr.state != State.RUNNING:
        raise InvalidState("can only create exec sessions on running containers: container state improper")
    if not opts.command:
        raise InvalidState("must provide a non-empty command to start an exec session: invalid argument")
    bundle = eng.paths.bundle(ctr.id)
    with open(os.path.join(bundle, "config.json")) as f:
        process = jsoncodec.load(f)["process"]
    rootfs = eng.snapshotter.mountpoint(ctr.id)
    user = resolve_user(rootfs, opts.user if opts.user is not None else ctr.config.user)
    env = _merge_env(list(process.get("env") or []), list(opts.env))
    if opts.tty and not any(e.startswith("TERM=") for e in env):
        env.append("TERM=xterm")
    process.update(args=list(opts.command), env=env, cwd=opts.workdir or process.get("cwd") or "/",
                   terminal=opts.tty)
    user_doc = {k: v for k, v in process.get("user", {}).items() if k != "additionalGids"}
    user_doc.update(uid=user.uid, gid=user.gid)
    if user.additional_gids:
        user_doc["additionalGids"] = list(user.additional_gids)
    process["user"] = user_doc
    session = os.urandom(32).hex()
    with tempfile.NamedTemporaryFile("w", dir=bundle, prefix="exec-", suffix=".json", delete=False) as f:
        jsoncodec.dump(process, f)
        process_file = f.name
    runtime_log = os.path.join(bundle, f"exec-{session[:12]}.log")
    container_event(eng, ctr, "exec")
    try:
        code = eng.runtime.exec(ctr.id, process_file, tty=opts.tty, detach=opts.detach, log_path=runtime_log,
                                stdin=opts.interactive or opts.tty)
        msg = read_error(runtime_log)
        if msg:
            raise classify(msg)
        if not opts.detach:    # a detached exec outlives us: nobody sees it end
            container_event(eng, ctr, "exec_died", exit_code=code)
    finally:
        for path in (process_file, runtime_log):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    return code, session
