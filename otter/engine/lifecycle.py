"""Container lifecycle: start (detached under conmon, or in the foreground), stop, kill,
wait, pause, unpause, restart, cleanup, remove, and reconciliation with reality.

Vocabulary:
  monitor      the process watching a running container: conmon for detached containers
               (it outlives otter and runs `otter container cleanup ID` on exit), or the
               otter process itself for a foreground `run` (it runs `runc run` as a child and
               relays the output, which is faster than going through conmon).
  cleanup      what follows a container's exit: delete the OCI container, unmount the root
               filesystem, record the exit code, and remove the container when `--rm` was
               given. Idempotent; whoever sees the exit first does it.
  sync         reconciliation: a container recorded as running whose process is gone
               (killed monitor, reboot) is cleaned up on the next command that looks at it.

Locking: lifecycle changes of one container take its lock file
(`StorePaths.container_lock`); the database transaction in `ContainerState.transition`
makes each state change atomic. No lock is held while a container runs.
"""

from __future__ import annotations

import _signal  # not signal: its IntEnum wrapper imports enum (2 ms)
import os
import sys
import time

from otter import jsoncodec, log
from otter.core.container import Container, State
from otter.engine.containers import remove_storage, states
from otter.engine.context import Engine
from otter.engine.events import container_event
from otter.errors import InvalidState, OtterError, RuntimeFailure
from otter.sys.filelock import FileLock
from otter.sys.procfs import alive, start_time

INIT_PATH = "/run/otter-init"
UNKNOWN_EXIT = -1


def lock(eng: Engine, cid: str) -> FileLock:
    return FileLock(eng.paths.container_lock(cid))


# -- liveness and reconciliation ---------------------------------------------------------

def process_alive(ctr: Container) -> bool:
    rt = ctr.runtime
    if rt.pid:
        return alive(rt.pid, rt.pid_start)
    return alive(rt.conmon_pid)


def sync(eng: Engine, ctr: Container) -> Container:
    """Bring a recorded-as-active container in line with reality."""
    if ctr.is_active and not process_alive(ctr):
        return cleanup(eng, ctr.id) or ctr.with_state(State.EXITED)
    return ctr


def _exit_code_from_file(eng: Engine, cid: str) -> int | None:
    try:
        with open(eng.paths.exit_file(cid)) as f:
            return int(f.read().strip() or UNKNOWN_EXIT)
    except (FileNotFoundError, ValueError):
        return None


# -- preparing a start -----------------------------------------------------------------

def mount_rootfs(eng: Engine, ctr: Container) -> str:
    from otter.storage.mounter import mount_all
    from otter.sys.mount import is_mountpoint
    target = eng.snapshotter.mountpoint(ctr.id)
    if not is_mountpoint(target):
        rec = eng.images.get(ctr.config.image_id)
        chain = eng.layers.chain_keys(rec.top_layer if rec else None)
        if ctr.config.uid_map:
            from otter.engine.idmapping import rootfs_mounts
            mount_all(rootfs_mounts(eng, ctr, chain), target)
        else:
            mount_all(eng.snapshotter.mounts(ctr.id, chain), target)
    return target


def unmount_rootfs(eng: Engine, cid: str) -> None:
    from otter.storage.mounter import unmount
    from otter.sys.mount import is_mountpoint
    target = eng.snapshotter.mountpoint(cid)
    if is_mountpoint(target):
        unmount(target)


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _etc_files(eng: Engine, ctr: Container, bundle: str) -> list:
    from otter.spec.runtime import MountSpec
    cfg = ctr.config
    mounts = []
    if cfg.network == "host":
        for name in ("hosts", "resolv.conf"):
            if os.path.exists(f"/etc/{name}"):
                mounts.append(MountSpec(f"/etc/{name}", "bind", f"/etc/{name}", ("bind", "rprivate", "ro")))
    else:
        own = f"127.0.1.1\t{cfg.hostname} {cfg.name}\n"
        if cfg.network == "slirp4netns":
            from otter.network import slirp
            own = slirp.hosts_entries(slirp.SlirpOptions.from_json(cfg.network_options), cfg.hostname, cfg.name)
            _write(os.path.join(bundle, "resolv.conf"), slirp.resolv_conf())
            mounts.append(MountSpec("/etc/resolv.conf", "bind", os.path.join(bundle, "resolv.conf"),
                                    ("bind", "rprivate")))
        _write(os.path.join(bundle, "hosts"),
               "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n"
               "::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n" + own)
        mounts.append(MountSpec("/etc/hosts", "bind", os.path.join(bundle, "hosts"), ("bind", "rprivate")))
    _write(os.path.join(bundle, "hostname"), cfg.hostname + "\n")
    mounts.append(MountSpec("/etc/hostname", "bind", os.path.join(bundle, "hostname"), ("bind", "rprivate")))
    _write(os.path.join(bundle, ".containerenv"),
           f'engine="otter"\nname="{cfg.name}"\nid="{cfg.id}"\nimage="{cfg.image_name}"\nimageid="{cfg.image_id}"\n'
           f"rootless={1 if eng.rootless else 0}\n")
    mounts.append(MountSpec("/run/.containerenv", "bind", os.path.join(bundle, ".containerenv"), ("bind", "rprivate")))
    return mounts


def _build_config(eng: Engine, ctr: Container, rootfs: str, bundle: str) -> dict:
    from otter.core.users import resolve_user
    from otter.spec.runtime import (
        MountSpec,
        ProcessSpec,
        Resources,
        RuntimeSpecInput,
        build_config,
        clamp_rlimits,
        parse_ulimit,
    )
    cfg = ctr.config
    userns_mounts = []
    if cfg.userns == "keep-id":
        from otter.engine.idmapping import add_keep_id_user
        userns_mounts = add_keep_id_user(cfg, rootfs, bundle)
    user = resolve_user(rootfs, cfg.user)
    env = list(cfg.env)
    keys = {e.split("=", 1)[0] for e in env}
    if "HOME" not in keys:
        env.append(f"HOME={user.home}")
    if "HOSTNAME" not in keys:
        env.append(f"HOSTNAME={cfg.hostname}")
    args = list(cfg.command)
    mounts = [MountSpec(m["destination"], m["type"], m["source"], tuple(m["options"])) for m in cfg.runtime_mounts]
    volumes = [m for m in cfg.mounts if m.get("Type") == "volume" and "nocopy" not in (m.get("Options") or [])]
    if volumes:
        from otter.engine.volumes import copy_up
        root_owner = None
        if cfg.uid_map:
            from otter.engine.idmapping import host_owner
            root_owner = host_owner(cfg, 0, 0)
        for m in volumes:
            copy_up(eng, m["Name"], rootfs, m["Destination"], root_owner)
    if cfg.init:
        from otter.drivers.runc import find_binary
        init = find_binary("catatonit")
        if init is None:
            from otter.errors import InvalidArgument
            raise InvalidArgument("--init needs catatonit: install the catatonit package")
        mounts.append(MountSpec(INIT_PATH, "bind", init, ("bind", "ro")))
        args = [INIT_PATH, "--"] + args
    mounts += _etc_files(eng, ctr, bundle) + userns_mounts
    uid_maps = gid_maps = ()
    if cfg.uid_map:
        from otter.engine.idmapping import hand_over, maps
        hand_over(cfg, rootfs, bundle, mounts, user)
        uid_maps, gid_maps = maps(cfg)
    quota = int(cfg.cpus * 100000) if cfg.cpus else None
    spec = RuntimeSpecInput(
        rootfs=rootfs,
        process=ProcessSpec(args=tuple(args), env=tuple(env), cwd=cfg.workdir or "/", uid=user.uid, gid=user.gid,
                            additional_gids=user.additional_gids, terminal=cfg.tty,
                            no_new_privileges=cfg.no_new_privileges,
                            rlimits=clamp_rlimits(parse_ulimit(u) for u in cfg.ulimits)),
        hostname=cfg.hostname, cap_add=tuple(cfg.cap_add), cap_drop=tuple(cfg.cap_drop), privileged=cfg.privileged,
        read_only=cfg.read_only, seccomp=cfg.seccomp, seccomp_cache=eng.paths.seccomp_cache,
        network="host" if cfg.network == "host" else "private",
        netns_path=eng.paths.netns(cfg.id) if cfg.network == "slirp4netns" else None,
        extra_mounts=tuple(mounts),
        resources=Resources(memory=cfg.memory, cpu_quota=quota, cpu_period=100000 if quota else None,
                            pids_limit=cfg.pids_limit, shm_size=cfg.shm_size),
        cgroups_path=None if eng.rootless else f"/otter-{cfg.id}",
        annotations={"io.container.manager": "otter", "org.opencontainers.image.stopSignal": str(cfg.stop_signal)},
        rootless=eng.rootless, uid_mappings=uid_maps, gid_mappings=gid_maps)
    return build_config(spec)


def _prepare(eng: Engine, ctr: Container) -> str:
    """Mount the root filesystem and write the bundle; return the bundle directory."""
    bundle = eng.paths.bundle(ctr.id)
    os.makedirs(bundle, mode=0o700, exist_ok=True)
    for stale in ("pidfile", "conmon.pid", "runtime.log"):
        try:
            os.unlink(os.path.join(bundle, stale))
        except FileNotFoundError:
            pass
    try:
        os.unlink(eng.paths.exit_file(ctr.id))
    except FileNotFoundError:
        pass
    rootfs = mount_rootfs(eng, ctr)
    config = _build_config(eng, ctr, rootfs, bundle)
    with open(os.path.join(bundle, "config.json"), "w") as f:
        f.write(jsoncodec.dumps(config))
    return bundle


def _started(ctr: Container, pid: int, monitor: int, supervisor: str, net=None) -> Container:
    ctr.check("start")
    return ctr.with_state(State.RUNNING, pid=pid, pid_start=start_time(pid) or 0 if pid else 0,
                          conmon_pid=monitor, started_at=time.time(), finished_at=0.0, exit_code=0, error="",
                          mounted=True, supervisor=supervisor, stopped_by_user=False, oom_killed=False,
                          slirp4netns_pid=net.pid if net else 0,
                          slirp4netns_pid_start=start_time(net.pid) or 0 if net else 0)


def _failed_start(eng: Engine, ctr: Container, err: OtterError, net=None) -> None:
    _delete_oci(eng, ctr.id)
    unmount_rootfs(eng, ctr.id)
    _network_down(eng, ctr, net)
    states(eng).transition(ctr.id, lambda c: c.with_state(c.state, error=str(err), mounted=False, slirp4netns_pid=0,
                                                          slirp4netns_pid_start=0))


# -- the container's own network (slirp4netns) ---------------------------------------------

def _network_up(eng: Engine, ctr: Container):
    """Before the runtime starts a slirp4netns container: its namespace, slirp4netns and port
    forwards (`network.slirp.setup`). Returns the slirp4netns process, whose exit fd the
    caller hands to the container's monitor and then closes (`_release`); None for the
    other networks, which the runtime makes itself."""
    if ctr.config.network != "slirp4netns":
        return None
    from otter.network import ports, slirp
    net = slirp.setup(eng.paths, ctr.id, slirp.SlirpOptions.from_json(ctr.config.network_options),
                      ports.from_config(ctr.config.ports))
    log.timing("slirp4netns configured the network")
    return net


def _release(net) -> None:
    """Close this process's copy of slirp4netns' exit fd (the monitor holds its own)."""
    if net is not None:
        os.close(net.exit_fd)


def _network_down(eng: Engine, ctr: Container, net=None) -> None:
    """Undo `_network_up`: end slirp4netns by pid (`net`, started by this process, or the one
    the runtime state records), then remove the namespace and the API socket."""
    if ctr.config.network != "slirp4netns":
        return
    pid, start = (net.pid, 0) if net else (ctr.runtime.slirp4netns_pid, ctr.runtime.slirp4netns_pid_start)
    if alive(pid, start):
        # Waited for (its tap device takes ~20 ms to go): the published ports are free again
        # when the command returns.
        _end_process(pid, start)
    from otter.network import slirp
    slirp.teardown(eng.paths, ctr.id)


def _end_process(pid: int, start: int) -> None:
    """SIGKILL a helper otter started and wait until it is gone: reap it when it is this
    process's child (a foreground run), else watch it exit (it is init's child then)."""
    try:
        os.kill(pid, _signal.SIGKILL)
    except ProcessLookupError:
        return
    try:
        os.waitpid(pid, 0)
        return
    except ChildProcessError:
        pass
    deadline = time.monotonic() + 5
    while alive(pid, start) and time.monotonic() < deadline:
        time.sleep(0.002)


# -- starting ----------------------------------------------------------------------------

def exit_command(eng: Engine, cid: str) -> list[str]:
    return [sys.executable, "-m", "otter", *eng.global_args(), "container", "cleanup", cid]


def start_detached(eng: Engine, ctr: Container, before_start=None) -> Container:
    """Start under conmon; return once the container's process runs. `before_start(bundle)`
    runs after `runc create` and before `runc start` (an attach client connects there, so no
    output is lost)."""
    from otter.drivers import conmon
    with lock(eng, ctr.id):
        ctr = states(eng).find(ctr.id)
        if ctr.is_active:
            return ctr
        ctr.check("start")
        net = None
        try:
            bundle = _prepare(eng, ctr)
            log.timing("prepared the bundle")
            net = _network_up(eng, ctr)
            os.makedirs(eng.paths.exits, mode=0o700, exist_ok=True)
            os.makedirs(eng.paths.runtime_state, mode=0o700, exist_ok=True)
            os.makedirs(eng.paths.container_userdata(ctr.id), mode=0o700, exist_ok=True)   # conmon's log
            pid = conmon.spawn(conmon.ConmonRequest(
                cid=ctr.id, name=ctr.name, runtime=eng.runtime.binary, runtime_root=eng.runtime.state_dir,
                bundle=bundle, pid_file=os.path.join(bundle, "pidfile"),
                conmon_pid_file=os.path.join(bundle, "conmon.pid"), exit_dir=eng.paths.exits,
                log_path=eng.paths.container_log(ctr.id), runtime_log=os.path.join(bundle, "runtime.log"),
                tty=ctr.config.tty, stdin=ctr.config.interactive, exit_command=exit_command(eng, ctr.id),
                keep_fds=(net.exit_fd,) if net else ()))
            log.timing("conmon reported the container pid")
            monitor = _read_int(os.path.join(bundle, "conmon.pid"))
            ctr = states(eng).transition(ctr.id, lambda c: _started(c, pid, monitor, "conmon", net))
            if before_start is not None:
                before_start(bundle)
            eng.runtime.start(ctr.id)
            container_event(eng, ctr, "init")
            container_event(eng, ctr, "start")
        except OtterError as e:
            _failed_start(eng, ctr, e, net)
            raise
        finally:
            _release(net)
    return ctr


def _read_int(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


class _LogWriter:
    """Writes a container's output to its k8s-file log, as conmon would."""

    def __init__(self, path: str):
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._partial = {b"stdout": False, b"stderr": False}

    def write(self, stream: bytes, data: bytes) -> None:
        from datetime import datetime
        stamp = datetime.now().astimezone().isoformat(timespec="microseconds").encode()
        lines = data.split(b"\n")
        out = []
        for i, line in enumerate(lines):
            last = i == len(lines) - 1
            if last and not line:
                break
            out.append(stamp + b" " + stream + (b" P " if last else b" F ") + line + b"\n")
        os.write(self._fd, b"".join(out))

    def close(self) -> None:
        os.close(self._fd)


def run_foreground(eng: Engine, ctr: Container, interactive: bool) -> int:
    """Run a created container with otter as its monitor; return its exit code.

    Output is relayed to our stdout/stderr and recorded in the container log. With a tty,
    runc relays the terminal itself and nothing is logged.
    """
    log_path = eng.paths.container_log(ctr.id)
    tty = ctr.config.tty
    with lock(eng, ctr.id):
        ctr.check("start")
        net = None
        try:
            bundle = _prepare(eng, ctr)
            log.timing("prepared the bundle")
            net = _network_up(eng, ctr)
            os.makedirs(eng.paths.runtime_state, mode=0o700, exist_ok=True)
        except OtterError as e:
            _failed_start(eng, ctr, e, net)
            _release(net)
            raise
        runtime_log = os.path.join(bundle, "runtime.log")
        proc = eng.runtime.run(ctr.id, bundle, os.path.join(bundle, "pidfile"), runtime_log,
                               stdin=interactive or tty, capture=not tty)
        log.timing("runtime started")
        # Recorded while runc is still setting the container up: the two overlap.
        try:
            ctr = states(eng).transition(ctr.id, lambda c: _started(c, 0, os.getpid(), "otter", net))
        except OtterError:
            proc.kill()
            proc.wait()
            _network_down(eng, ctr, net)
            _release(net)
            raise
    for status in ("init", "start", "attach"):
        container_event(eng, ctr, status)
    forwarded = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGUSR1, _signal.SIGUSR2)
    previous = {s: _signal.signal(s, lambda signum, _frame: proc.send_signal(signum)) for s in forwarded}
    held = b""
    try:
        if not tty:
            held = _relay(proc, LogSink(log_path, keep_empty=not ctr.config.auto_remove))
        code = proc.wait()
        log.timing(f"runtime exited with {code}")
    finally:
        for s, handler in previous.items():
            _signal.signal(s, handler)
    # The container is gone: as its monitor, let go of slirp4netns' exit fd, so that it exits
    # (tearing down its tap device takes milliseconds) while the cleanup below runs.
    _release(net)
    error = _runtime_error(runtime_log) if code else None
    if error is None and held:
        _write_all(sys.stderr.fileno(), held)
    # `runc run` deletes the OCI container itself when it returns.
    cleanup(eng, ctr.id, exit_code=UNKNOWN_EXIT if error else code, runtime_deleted=True)
    log.timing("cleaned up")
    if error is not None:
        raise error
    return code


def _runtime_error(runtime_log: str) -> OtterError | None:
    from otter.drivers.runc import classify, read_error
    msg = read_error(runtime_log)
    return classify(msg) if msg else None


class LogSink:
    """Lazily opened log writer: the log (and its directory) appear with the first output. A
    container that printed nothing gets an empty log when `keep_empty`; a `--rm` one, about to
    go, gets none, which saves it two directories and a file on the way in and out."""

    def __init__(self, path: str, keep_empty: bool = True):
        self.path = path
        self.keep_empty = keep_empty
        self._writer: _LogWriter | None = None

    def write(self, stream: bytes, data: bytes) -> None:
        if self._writer is None:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            self._writer = _LogWriter(self.path)
        self._writer.write(stream, data)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        elif self.keep_empty:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))


RUNTIME_FAILURE_PREFIXES = (b"runc run failed:", b"runc: ", b"crun: ")


def _relay(proc, sink: LogSink) -> bytes:
    """Copy the container's output to ours and to the log until both pipes close.

    `runc run` prints its own failure ("runc run failed: ...") on the stderr it shares with
    the container; such a chunk is held back and returned, for the caller to drop when the
    runtime log confirms a failure (otter prints its own one-line error instead).
    """
    import select
    streams = {proc.stdout: (b"stdout", sys.stdout.buffer), proc.stderr: (b"stderr", sys.stderr.buffer)}
    sys.stdout.flush()
    open_fds = set(streams)
    held = b""
    try:
        while open_fds:
            ready, _, _ = select.select(list(open_fds), [], [])
            for fd in ready:
                data = os.read(fd, 65536)
                if not data:
                    open_fds.discard(fd)
                    continue
                name, out = streams[fd]
                if name == b"stderr" and (held or data.startswith(RUNTIME_FAILURE_PREFIXES)):
                    held += data
                    continue
                _write_all(out.fileno(), data)
                sink.write(name, data)
    finally:
        sink.close()
        proc.close_pipes()
    return held


def _write_all(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass


# -- after exit --------------------------------------------------------------------------

def _delete_oci(eng: Engine, cid: str) -> None:
    """`runc delete --force`, skipped when the runtime has no state for the container."""
    if not os.path.exists(os.path.join(eng.paths.runtime_state, cid)):
        return
    try:
        eng.runtime.delete(cid, force=True)
    except OtterError as e:
        log.warning(f"deleting OCI container {cid}: {e}")


def cleanup(eng: Engine, cid: str, exit_code: int | None = None, runtime_deleted: bool = False) -> Container | None:
    """Tear down a container whose process ended; idempotent. Returns the new record, or None
    when the container was removed (`--rm`) or does not exist."""
    st = states(eng)
    with lock(eng, cid):
        ctr = st.get(cid)
        if ctr is None:
            return None
        if ctr.is_active:
            if exit_code is None and process_alive(ctr):
                return ctr
            code = exit_code if exit_code is not None else _exit_code_from_file(eng, cid)
            container_event(eng, ctr, "died", exit_code=UNKNOWN_EXIT if code is None else code)
            if not runtime_deleted:
                _delete_oci(eng, cid)
            if ctr.config.auto_remove:
                # Straight to removal: recording the exit first would cost a transaction.
                _remove_record(eng, ctr, volumes=True, runtime_deleted=True)
                return None
            unmount_rootfs(eng, cid)
            _network_down(eng, ctr)
            oom = os.path.exists(os.path.join(eng.paths.bundle(cid), "oom"))
            # Before the exit is recorded: whoever waits for it sees the events already written.
            container_event(eng, ctr, "cleanup")
            ctr = st.transition(cid, lambda c: c.with_state(
                State.EXITED, exit_code=UNKNOWN_EXIT if code is None else code, finished_at=time.time(), pid=0,
                pid_start=0, conmon_pid=0, mounted=False, oom_killed=oom, slirp4netns_pid=0, slirp4netns_pid_start=0))
        elif ctr.runtime.mounted:
            unmount_rootfs(eng, cid)
            ctr = st.transition(cid, lambda c: c.with_state(c.state, mounted=False))
        if ctr.config.auto_remove and ctr.state == State.EXITED:
            _remove_record(eng, ctr, volumes=True)
            return None
        return ctr


def _wait_gone(ctr: Container, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    delay = 0.002
    while process_alive(ctr):
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    return True


def _fresh(eng: Engine, ctr: Container) -> Container:
    """Re-read a container; for a foreground-run container, learn its pid from the pid file."""
    cur = states(eng).get(ctr.id) or ctr
    if cur.is_active and not cur.runtime.pid:
        pid = _read_int(os.path.join(eng.paths.bundle(cur.id), "pidfile"))
        if pid:
            cur = cur.with_state(cur.state, pid=pid, pid_start=start_time(pid) or 0)
    return cur


def stop(eng: Engine, ctr: Container, timeout: int | None = None) -> Container:
    """Send the stop signal, then SIGKILL after `timeout` seconds; wait until cleaned up."""
    ctr = _fresh(eng, sync(eng, ctr))
    if not ctr.is_active:
        return ctr
    timeout = ctr.config.stop_timeout if timeout is None else timeout
    states(eng).transition(ctr.id, lambda c: c.with_state(c.state, stopped_by_user=True))
    # `kill --all` finds processes through the container's cgroup; without cgroups (rootless
    # on v1) SIGKILL to the init process ends its whole pid namespace anyway.
    from otter.spec.runtime import cgroup_limits_supported
    every = cgroup_limits_supported(eng.rootless)
    try:
        if ctr.state == State.PAUSED:
            eng.runtime.kill(ctr.id, _signal.SIGKILL, all_processes=every)
            eng.runtime.resume(ctr.id)
        elif timeout > 0:
            eng.runtime.kill(ctr.id, ctr.config.stop_signal)
    except RuntimeFailure as e:
        log.debug(f"stop signal: {e}")
    if not _wait_gone(ctr, timeout) and timeout > 0:
        log.warning(f"StopSignal {ctr.config.stop_signal} failed to stop container {ctr.name} in {timeout} seconds, "
                    "resorting to SIGKILL")
    if process_alive(ctr):
        try:
            eng.runtime.kill(ctr.id, _signal.SIGKILL, all_processes=every)
        except RuntimeFailure as e:
            log.debug(f"SIGKILL: {e}")
        _wait_gone(ctr, 30)
    stopped = _await_cleanup(eng, ctr)
    container_event(eng, ctr, "stop")
    return stopped


def _await_cleanup(eng: Engine, ctr: Container) -> Container:
    """After the process is gone: let a foreground monitor finish its own cleanup (it knows
    the real exit code), else do it here."""
    if ctr.runtime.supervisor == "otter" and alive(ctr.runtime.conmon_pid):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            cur = states(eng).get(ctr.id)
            if cur is None or not cur.is_active:
                return cur or ctr.with_state(State.EXITED)
            time.sleep(0.01)
    if ctr.runtime.supervisor == "conmon":
        deadline = time.monotonic() + 5
        while _exit_code_from_file(eng, ctr.id) is None and alive(ctr.runtime.conmon_pid) \
                and time.monotonic() < deadline:
            time.sleep(0.005)
    return cleanup(eng, ctr.id) or ctr.with_state(State.EXITED)


def kill(eng: Engine, ctr: Container, sig: int) -> None:
    ctr = sync(eng, ctr)
    if not ctr.is_active:
        raise InvalidState(f"can only kill running containers. {ctr.id} is in state {ctr.state}: "
                           "container state improper")
    eng.runtime.kill(ctr.id, sig)
    container_event(eng, ctr, "kill")


def wait(eng: Engine, ctr: Container, interval: float = 0.05) -> int:
    """Block until the container is not running; return its exit code."""
    while True:
        cur = states(eng).get(ctr.id)
        if cur is None:
            return ctr.runtime.exit_code
        cur = sync(eng, cur)
        if not cur.is_active:
            if cur.state == State.CREATED:
                time.sleep(interval)
                continue
            return cur.runtime.exit_code
        time.sleep(interval)


def _check_freezer(eng: Engine) -> None:
    from otter.spec.runtime import cgroup_limits_supported
    if not cgroup_limits_supported(eng.rootless):
        from otter.errors import InvalidArgument
        raise InvalidArgument("can not pause containers on rootless containers with cgroup V1")


def pause(eng: Engine, ctr: Container) -> None:
    _check_freezer(eng)
    with lock(eng, ctr.id):
        ctr = sync(eng, states(eng).find(ctr.id))
        if ctr.state != State.RUNNING:
            raise InvalidState(f"\"{ctr.state}\" is not running, can't pause: container state improper")
        eng.runtime.pause(ctr.id)
        states(eng).transition(ctr.id, lambda c: c.with_state(State.PAUSED))
        container_event(eng, ctr, "pause")


def unpause(eng: Engine, ctr: Container) -> None:
    _check_freezer(eng)
    with lock(eng, ctr.id):
        ctr = states(eng).find(ctr.id)
        if ctr.state != State.PAUSED:
            raise InvalidState(f"\"{ctr.state}\" is not paused, can't unpause: container state improper")
        eng.runtime.resume(ctr.id)
        states(eng).transition(ctr.id, lambda c: c.with_state(State.RUNNING))
        container_event(eng, ctr, "unpause")


def restart(eng: Engine, ctr: Container, timeout: int | None = None) -> Container:
    container_event(eng, ctr, "restart")
    stop(eng, ctr, timeout)
    cur = states(eng).find(ctr.id)
    states(eng).transition(cur.id, lambda c: c.with_state(c.state, restart_count=c.runtime.restart_count + 1))
    return start_detached(eng, cur)


# -- removal -------------------------------------------------------------------------------

def remove_container(eng: Engine, ctr: Container, force: bool = False, volumes: bool = False) -> None:
    ctr = sync(eng, states(eng).get(ctr.id) or ctr)
    if ctr.is_active:
        if not force:
            raise InvalidState(f"cannot remove container {ctr.id} as it is {ctr.state} - running or paused "
                               "containers cannot be removed without force: container state improper")
        stop(eng, ctr, timeout=0)
    cur = states(eng).get(ctr.id)
    if cur is not None:
        with lock(eng, ctr.id):
            _remove_record(eng, cur, volumes)


def _remove_record(eng: Engine, ctr: Container, volumes: bool, runtime_deleted: bool = False) -> None:
    """Remove a stopped container's OCI state, mounts, storage, record (and anonymous volumes)."""
    if not runtime_deleted:
        _delete_oci(eng, ctr.id)
    unmount_rootfs(eng, ctr.id)
    _network_down(eng, ctr)
    # Before the record goes: whoever waits for the removal sees the event already written.
    container_event(eng, ctr, "remove")
    states(eng).remove(ctr.id)
    remove_storage(eng, ctr.id)
    if ctr.config.uid_map:
        from otter.engine.idmapping import collect
        collect(eng)
    try:
        os.unlink(eng.paths.container_lock(ctr.id))
    except FileNotFoundError:
        pass
    anonymous = [m["Name"] for m in ctr.config.mounts if m.get("Anonymous")]
    if volumes and anonymous:
        from otter.engine.volumes import remove_anonymous
        remove_anonymous(eng, anonymous)
