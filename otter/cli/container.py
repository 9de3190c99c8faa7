"""`otter container ...` and its top-level aliases: run, create, start, stop, kill, rm, ps, ..."""

from __future__ import annotations

import sys
import time

from otter.cli.common import Parser, dispatch, exists_command, parse, parse_with_command, write
from otter.cli.main import ExitStatus, UsageError, exit_code_for, print_error
from otter.cli.output import ago, print_json, render_format, tabulate
from otter.errors import OtterError
from otter.timefmt import go_time_of

SUBCOMMANDS = {
    "run": "cmd_run", "create": "cmd_create", "start": "cmd_start", "stop": "cmd_stop", "restart": "cmd_restart",
    "kill": "cmd_kill", "rm": "cmd_rm", "remove": "cmd_rm", "ps": "cmd_ps", "ls": "cmd_ps", "list": "cmd_ps",
    "inspect": "cmd_inspect", "wait": "cmd_wait", "pause": "cmd_pause", "unpause": "cmd_unpause",
    "rename": "cmd_rename", "exists": "cmd_exists", "prune": "cmd_prune", "cleanup": "cmd_cleanup",
}


def cmd_container(ctx, argv: list[str], prog: str) -> int:
    from otter.cli.main import COMMANDS, resolve
    verbs = {verb: globals()[fn] for verb, fn in SUBCOMMANDS.items()}
    # Container verbs with a top-level command of their own also answer to `container VERB`.
    for verb in ("exec", "logs", "attach", "top", "port", "cp", "diff", "commit", "export"):
        if verb in COMMANDS:
            verbs[verb] = lambda c, a, p, verb=verb: resolve(verb)(c, a, p)
    return dispatch(ctx, argv, prog, "Manage containers", verbs)


# -- create / run ------------------------------------------------------------------------------

def _create_parser(prog: str, run: bool) -> Parser:
    p = Parser(prog, "Run a command in a new container" if run else "Create but do not start a container")
    if run:
        p.add_bool("-d", "--detach", help="Run container in background and print container ID")
    p.add_bool("--rm", help="Remove container (and pod if created) after exit")
    p.add_bool("-i", "--interactive", help="Keep STDIN open even if not attached")
    p.add_bool("-t", "--tty", help="Allocate a pseudo-TTY for container")
    p.add_argument("--name", help="Assign a name to the container")
    p.add_argument("-e", "--env", action="append", default=[], help="Set environment variables in container")
    p.add_argument("--env-file", action="append", default=[], help="Read in a file of environment variables")
    p.add_argument("-w", "--workdir", help="Working directory inside the container")
    p.add_argument("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])")
    p.add_argument("--entrypoint", help="Overwrite the default ENTRYPOINT of the image")
    p.add_argument("-h", "--hostname", help="Set container hostname")
    p.add_argument("-l", "--label", action="append", default=[], help="Set metadata on container")
    p.add_bool("--read-only", help="Make containers root filesystem read-only")
    p.add_argument("--cap-add", action="append", default=[], help="Add capabilities to the container")
    p.add_argument("--cap-drop", action="append", default=[], help="Drop capabilities from the container")
    p.add_bool("--privileged", help="Give extended privileges to container")
    p.add_argument("--security-opt", action="append", default=[], help="Security Options")
    p.add_argument("--userns", help="User namespace to use (host, keep-id[:uid=UID,gid=GID])")
    p.add_argument("--uidmap", action="append", default=[], help="UID map to use for the user namespace (CONTAINER_UID:FROM_UID:AMOUNT)")
    p.add_argument("--gidmap", action="append", default=[], help="GID map to use for the user namespace (CONTAINER_GID:FROM_GID:AMOUNT)")
    p.add_bool("--init", help="Run an init binary inside the container that forwards signals and reaps processes")
    p.add_argument("--stop-signal", help="Signal to stop a container. Default is SIGTERM")
    p.add_argument("--stop-timeout", type=_int("--stop-timeout"), help="Timeout (in seconds) that containers stopped by user command have to exit. If exceeded, the container will be forcibly stopped via SIGKILL")
    p.add_argument("--ulimit", action="append", default=[], help="Ulimit options")
    p.add_argument("--shm-size", help="Size of /dev/shm (format: <number>[<unit>], where unit = b (bytes), k (kibibytes), m (mebibytes), or g (gibibytes))")
    p.add_argument("--tmpfs", action="append", default=[], help="Mount a temporary filesystem (tmpfs) into a container")
    p.add_argument("-v", "--volume", action="append", default=[], help="Bind mount a volume into the container")
    p.add_argument("--mount", action="append", default=[], help="Attach a filesystem mount to the container")
    p.add_argument("-m", "--memory", help="Memory limit (format: <number>[<unit>], where unit = b (bytes), k (kibibytes), m (mebibytes), or g (gibibytes))")
    p.add_argument("--cpus", help="Number of CPUs. The default is 0.000 which means no limit")
    p.add_argument("--pids-limit", type=_int("--pids-limit"), help="Tune container pids limit (set -1 for unlimited)")
    p.add_argument("--network", "--net", help="Connect a container to a network (none, host, slirp4netns[:OPTIONS])")
    p.add_argument("-p", "--publish", action="append", default=[], help="Publish a container's port, or a range of ports, to the host")
    p.add_bool("-P", "--publish-all", help="Publish all exposed ports to random ports on the host interfaces")
    p.add_argument("--pull", default="missing", choices=["always", "missing", "never", "newer"], help="Pull image policy")
    p.add_bool("--replace", help="If a container with the same name exists, replace it")
    p.add_argument("--cidfile", help="Write the container ID to the file")
    p.add_argument("--log-driver", help="Logging driver for the container (k8s-file)")
    p.add_argument("image", help="image to run")
    return p


def _int(flag: str):
    def convert(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"invalid argument {text!r} for \"{flag}\" flag: strconv.ParseInt: parsing "
                             f"{text!r}: invalid syntax") from None
    return convert


def _create_options(args, command: list[str], argv: list[str]):
    from otter.engine.containers import CreateOptions
    if args.log_driver not in (None, "k8s-file"):
        raise UsageError(f"log driver {args.log_driver!r} is not supported: use k8s-file")
    return CreateOptions(
        image=args.image, command=tuple(command), name=args.name, entrypoint=args.entrypoint, env=tuple(args.env),
        env_files=tuple(args.env_file), workdir=args.workdir, user=args.user, hostname=args.hostname,
        labels=tuple(args.label), tty=args.tty, interactive=args.interactive, auto_remove=args.rm,
        read_only=args.read_only, privileged=args.privileged, cap_add=tuple(args.cap_add),
        cap_drop=tuple(args.cap_drop), security_opts=tuple(args.security_opt), init=args.init,
        userns=args.userns, uidmap=tuple(args.uidmap), gidmap=tuple(args.gidmap),
        stop_signal=args.stop_signal, stop_timeout=args.stop_timeout, ulimits=tuple(args.ulimit),
        shm_size=args.shm_size, tmpfs=tuple(args.tmpfs), volumes=tuple(args.volume), mounts=tuple(args.mount),
        memory=args.memory, cpus=args.cpus, pids_limit=args.pids_limit, network=args.network,
        publish=tuple(args.publish), publish_all=args.publish_all, pull=args.pull,
        replace=args.replace, cidfile=args.cidfile, create_command=tuple(["otter"] + argv))


def _parse_create(prog: str, argv: list[str], run: bool):
    return parse_with_command(_create_parser(prog, run), argv, prog, required=1)


def cmd_create(ctx, argv: list[str], prog: str) -> int:
    args, command = _parse_create(prog, argv, run=False)
    from otter.engine.containers import container_create
    ctr = container_create(ctx.engine, _create_options(args, command, ["create"] + argv))
    write(ctr.id + "\n")
    return 0


def cmd_run(ctx, argv: list[str], prog: str) -> int:
    args, command = _parse_create(prog, argv, run=True)
    from otter import log
    from otter.engine.containers import container_create
    from otter.engine.lifecycle import remove_container, run_foreground, start_detached
    eng = ctx.engine
    log.timing("parsed run flags")
    ctr = container_create(eng, _create_options(args, command, ["run"] + argv))
    log.timing(f"created container {ctr.id}")
    if args.detach:
        try:
            start_detached(eng, ctr)
        except OtterError:
            if args.rm:
                remove_container(eng, ctr, force=True, volumes=True)
            raise
        write(ctr.id + "\n")
        return 0
    try:
        code = run_foreground(eng, ctr, interactive=args.interactive)
    except OtterError:
        if args.rm:
            remove_container(eng, ctr, force=True, volumes=True)
        raise
    raise ExitStatus(code)


# -- start / stop / kill / restart / pause -------------------------------------------------------

def _each(names: list[str], action, echo=lambda name, result: name) -> int:
    """Apply `action` to each name and print `echo(name, result)` (by default the name as typed,
    as Podman does); report each error and end with the exit code of the last one."""
    code = 0
    for name in names:
        try:
            write(f"{echo(name, action(name))}\n")
            sys.stdout.flush()
        except OtterError as e:
            print_error(str(e))
            code = exit_code_for(e)
    if code:
        raise ExitStatus(code)
    return 0


def _targets(ctx, names: list[str], all_flag: bool, latest: bool = False) -> list[str]:
    from otter.engine.containers import container_list
    if all_flag:
        return [c.id for c in container_list(ctx.engine)]
    if latest:
        ctrs = container_list(ctx.engine)
        return [ctrs[-1].id] if ctrs else []
    if not names:
        raise UsageError("you must provide at least one container name or id")
    return names


def cmd_start(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Start one or more containers")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    p.add_bool("-a", "--attach", help="Attach container's STDOUT and STDERR")
    p.add_bool("-i", "--interactive", help="Keep STDIN open even if not attached")
    p.add_bool("--all", help="Start all containers regardless of their state or configuration")
    args = parse(p, argv)
    from otter.engine.containers import lookup
    from otter.engine.lifecycle import start_detached
    eng = ctx.engine
    names = _targets(ctx, args.containers, args.all)
    if args.attach:
        if len(names) != 1:
            raise UsageError("you cannot start and attach multiple containers at once")
        from otter.engine.attach import start_attached
        raise ExitStatus(start_attached(eng, lookup(eng, names[0]), stdin=args.interactive))
    return _each(names, lambda n: start_detached(eng, lookup(eng, n)))


def cmd_stop(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Stop one or more containers")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    p.add_argument("-t", "--time", type=_int("--time"), help="Seconds to wait for stop before killing the container")
    p.add_bool("-a", "--all", help="Stop all running containers")
    p.add_bool("-i", "--ignore", help="Ignore errors when a specified container is missing")
    p.add_bool("-l", "--latest", help="Act on the latest container otter is aware of")
    args = parse(p, argv)
    from otter.engine.containers import lookup
    from otter.engine.lifecycle import stop
    from otter.errors import ContainerNotFound
    eng = ctx.engine

    def do(name: str) -> None:
        try:
            stop(eng, lookup(eng, name), args.time)
        except ContainerNotFound:
            if not args.ignore:
                raise
    return _each(_targets(ctx, args.containers, args.all, args.latest), do)


def cmd_restart(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Restart one or more containers")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    p.add_argument("-t", "--time", type=_int("--time"), help="Seconds to wait for stop before killing the container")
    p.add_bool("-a", "--all", help="Restart all non-running containers")
    args = parse(p, argv)
    from otter.engine.containers import lookup
    from otter.engine.lifecycle import restart
    eng = ctx.engine
    return _each(_targets(ctx, args.containers, args.all), lambda n: restart(eng, lookup(eng, n), args.time))


def cmd_kill(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Kill one or more running containers with a specific signal")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    p.add_argument("-s", "--signal", default="KILL", help="Signal to send to the container")
    p.add_bool("-a", "--all", help="Signal all running containers")
    args = parse(p, argv)
    from otter.core.units import parse_signal
    from otter.engine.containers import lookup
    from otter.engine.lifecycle import kill
    eng = ctx.engine
    sig = parse_signal(args.signal)
    names = _targets(ctx, args.containers, False)
    if args.all:
        from otter.engine.containers import container_list
        names = [c.id for c in container_list(eng) if c.is_active]
    return _each(names, lambda n: kill(eng, lookup(eng, n), sig))


def cmd_pause(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Pause all the processes in one or more containers")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    args = parse(p, argv)
    from otter.engine.containers import lookup
    from otter.engine.lifecycle import pause
    return _each(args.containers, lambda n: pause(ctx.engine, lookup(ctx.engine, n)))


def cmd_unpause(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Unpause the processes in one or more containers")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    args = parse(p, argv)
    from otter.engine.containers import lookup
    from otter.engine.lifecycle import unpause
    return _each(args.containers, lambda n: unpause(ctx.engine, lookup(ctx.engine, n)))


def cmd_wait(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Block on one or more containers")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.add_argument("--condition", action="append", default=[], help="Condition to wait on (stopped, exited)")
    p.add_argument("-i", "--interval", default="250ms", help="Time Interval to wait before polling for completion")
    args = parse(p, argv)
    from otter.engine.containers import lookup
    from otter.engine.lifecycle import wait
    return _each(args.containers, lambda n: wait(ctx.engine, lookup(ctx.engine, n)), echo=lambda name, code: code)


def cmd_cleanup(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Clean up network and mountpoints of one or more containers")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.add_bool("--rm", help="After cleanup, remove the container entirely")
    args = parse(p, argv)
    from otter.engine.containers import states
    from otter.engine.lifecycle import cleanup, remove_container
    eng = ctx.engine
    if not eng.has_store():
        return 0  # removed under the container: cleaning up must not create it again
    for name in args.containers:
        try:
            ctr = states(eng).find(name)
        except OtterError:
            continue  # already removed by whoever saw the exit first
        cur = cleanup(eng, ctr.id)
        if args.rm and cur is not None:
            remove_container(eng, cur, force=False, volumes=True)
    return 0


# -- rm / prune / rename / exists -----------------------------------------------------------------

def cmd_rm(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Remove one or more containers")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    p.add_bool("-f", "--force", help="Force removal of a running or unusable container")
    p.add_bool("-v", "--volumes", help="Remove anonymous volumes associated with the container")
    p.add_bool("-a", "--all", help="Remove all containers")
    p.add_bool("-i", "--ignore", help="Ignore errors when a specified container is missing")
    p.add_argument("-t", "--time", type=_int("--time"), help="Seconds to wait for stop before killing the container")
    args = parse(p, argv)
    if not args.containers and not args.all:
        raise UsageError("you must provide at least one name or id")
    from otter.engine.containers import container_remove
    report = container_remove(ctx.engine, args.containers, force=args.force, volumes=args.volumes,
                              all_containers=args.all, ignore=args.ignore)
    write("".join(n + "\n" for n in report.removed))
    for e in report.errors:
        print_error(str(e))
    if report.errors:
        raise ExitStatus(exit_code_for(report.errors[-1], rm_like=True))
    return 0


def cmd_prune(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Remove all non running containers")
    p.add_bool("-f", "--force", help="Do not prompt for confirmation")
    parse(p, argv)
    from otter.engine.containers import container_prune
    write("".join(i + "\n" for i in container_prune(ctx.engine)))
    return 0


def cmd_rename(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Rename an existing container")
    p.add_argument("container")
    p.add_argument("name")
    args = parse(p, argv)
    from otter.engine.containers import container_rename
    container_rename(ctx.engine, args.container, args.name)
    return 0


def cmd_exists(ctx, argv: list[str], prog: str) -> int:
    from otter.engine.containers import container_exists
    return exists_command(ctx, argv, prog, "container", container_exists)


def cmd_inspect(ctx, argv: list[str], prog: str) -> int:
    from otter.cli.inspect import inspect_command
    return inspect_command(ctx, argv, prog, kind="container")


# -- ps -------------------------------------------------------------------------------------

PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedHuman": "CREATED",
              "RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "State": "STATE",
              "CreatedAt": "CREATED AT", "Labels": "LABELS", "Mounts": "MOUNTS", "ExitCode": "EXIT CODE"}


def status_text(ctr, now: float) -> str:
    from otter.core.container import State
    rt = ctr.runtime
    if ctr.state == State.RUNNING:
        return "Up " + _duration(now - rt.started_at)
    if ctr.state == State.PAUSED:
        return "Paused"
    if ctr.state == State.EXITED:
        return f"Exited ({rt.exit_code}) {ago(rt.finished_at, now)}"
    return "Created"


def _duration(seconds: float) -> str:
    from otter.cli.output import human_duration
    return human_duration(seconds)


def _ps_fields(ctr, no_trunc: bool, now: float) -> dict:
    cfg, rt = ctr.config, ctr.runtime
    command = " ".join(cfg.command)
    if not no_trunc and len(command) > 17:
        command = command[:17] + "..."
    created = ago(cfg.created, now)
    return {
        "ID": ctr.id if no_trunc else ctr.id[:12], "Id": ctr.id, "Image": cfg.image_name, "ImageID": cfg.image_id,
        "Command": command, "CreatedHuman": created, "RunningFor": created, "Created": int(cfg.created),
        "CreatedAt": go_time_of(cfg.created), "Status": status_text(ctr, now), "State": ctr.state,
        "Ports": _ports_text(cfg.ports), "Names": ctr.name, "Labels": cfg.labels,
        "Mounts": [m["Destination"] for m in cfg.mounts],
        "ExitCode": rt.exit_code, "Exited": ctr.state == "exited", "Pid": rt.pid,
        "StartedAt": int(rt.started_at), "ExitedAt": int(rt.finished_at), "AutoRemove": cfg.auto_remove,
        "Pod": "", "PodName": "", "IsInfra": False, "Networks": [], "Size": None,
    }


def _ports_text(ports: list[dict]) -> str:
    if not ports:
        return ""
    from otter.network.ports import from_config, ps_text
    return ps_text(from_config(ports))


def _ps_json(ctr) -> dict:
    cfg, rt = ctr.config, ctr.runtime
    from otter.timefmt import rfc3339
    return {
        "AutoRemove": cfg.auto_remove, "Command": cfg.command, "CreatedAt": ago(cfg.created),
        "Exited": ctr.state == "exited", "ExitedAt": int(rt.finished_at), "ExitCode": rt.exit_code,
        "Id": ctr.id, "Image": cfg.image_name, "ImageID": cfg.image_id, "IsInfra": False, "Labels": cfg.labels or None,
        "Mounts": [m["Destination"] for m in cfg.mounts], "Names": [ctr.name], "Namespaces": {}, "Networks": [],
        "Pid": rt.pid, "Pod": "", "PodName": "", "Ports": cfg.ports or None, "Size": None, "StartedAt": int(rt.started_at),
        "State": ctr.state, "Status": "", "Created": int(cfg.created), "CreatedHuman": rfc3339(cfg.created),
    }


def cmd_ps(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "List containers")
    p.add_bool("-a", "--all", help="Show all the containers, default is only running containers")
    p.add_bool("-q", "--quiet", help="Print the numeric IDs of the containers only")
    p.add_argument("-n", "--last", type=_int("--last"), default=-1, help="Print the n last created containers (all states)")
    p.add_bool("-l", "--latest", help="Act on the latest container otter is aware of")
    p.add_bool("--no-trunc", help="Display the extended information")
    p.add_bool("--noheading", help="Do not print headers")
    p.add_bool("-s", "--size", help="Display the total file sizes")
    p.add_bool("--sync", help="Sync container state with OCI runtime")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions given")
    p.add_argument("--format", help="Pretty-print containers to JSON or using a Go template")
    args = parse(p, argv)
    from otter.engine.containers import container_list
    ctrs = container_list(ctx.engine, tuple(args.filter))
    if not (args.all or args.latest or args.last >= 0 or args.filter):
        ctrs = [c for c in ctrs if c.is_active]
    if args.latest:
        ctrs = ctrs[-1:]
    elif args.last >= 0:
        ctrs = ctrs[-args.last:] if args.last else []
    if args.quiet:
        write("".join((c.id if args.no_trunc else c.id[:12]) + "\n" for c in ctrs))
        return 0
    if args.format == "json":
        print_json([_ps_json(c) for c in ctrs])
        return 0
    now = time.time()
    rows = [_ps_fields(c, args.no_trunc, now) for c in ctrs]
    if args.format:
        write(render_format(args.format, rows, PS_HEADERS, args.noheading))
        return 0
    cols = ["ID", "Image", "Command", "CreatedHuman", "Status", "Ports", "Names"]
    table = [] if args.noheading else [[PS_HEADERS[c] for c in cols]]
    table += [[str(r[c]) for c in cols] for r in rows]
    write(tabulate(table))
    return 0


# -- exec / logs / attach ---------------------------------------------------------------------

def cmd_exec(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Run a process in a running container")
    p.add_bool("-i", "--interactive", help="Keep STDIN open even if not attached")
    p.add_bool("-t", "--tty", help="Allocate a pseudo-TTY. The default is false")
    p.add_bool("-d", "--detach", help="Run the exec session in detached mode (backgrounded)")
    p.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    p.add_argument("--env-file", action="append", default=[], help="Read in a file of environment variables")
    p.add_argument("-u", "--user", help="Sets the username or UID used and optionally the groupname or GID for the specified command")
    p.add_argument("-w", "--workdir", help="Working directory inside the container")
    p.add_bool("--privileged", help="Give the process extended Linux capabilities inside the container")
    p.add_argument("container", help="container name or ID")
    args, command = parse_with_command(p, argv, prog, required=2)
    from otter.engine.containers import _env_file
    from otter.engine.execute import ExecOptions, container_exec
    env = [e for path in args.env_file for e in _env_file(path)] + list(args.env)
    try:
        code, session = container_exec(ctx.engine, ExecOptions(
            args.container, tuple(command), tuple(env), args.user, args.workdir, args.tty, args.interactive,
            args.detach, args.privileged))
    except OtterError as e:
        from otter.errors import InvalidState
        if isinstance(e, InvalidState):
            print_error(str(e))
            raise ExitStatus(255) from None
        raise
    if args.detach:
        write(session + "\n")
        return 0
    raise ExitStatus(code)


def cmd_logs(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Fetch the logs of one or more containers")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    p.add_bool("-f", "--follow", help="Follow log output. The default is false")
    p.add_argument("--tail", type=_int("--tail"), default=-1, help="Output the specified number of LINES at the end of the logs. Defaults to -1, which prints all lines")
    p.add_argument("--since", help="Show logs since TIMESTAMP")
    p.add_argument("--until", help="Show logs until TIMESTAMP")
    p.add_bool("-t", "--timestamps", help="Output the timestamps in the log")
    p.add_bool("-n", "--names", help="Output the container name in the log")
    p.add_bool("-l", "--latest", help="Act on the latest container otter is aware of")
    args = parse(p, argv)
    from otter.engine import logs as logmod
    from otter.engine.containers import lookup
    from otter.engine.lifecycle import process_alive
    eng = ctx.engine
    names = _targets(ctx, args.containers, False, args.latest)
    since = logmod.parse_time(args.since) if args.since else None
    until = logmod.parse_time(args.until) if args.until else None
    ctrs = [lookup(eng, n) for n in names]
    prefix_names = args.names or len(ctrs) > 1

    def emit(ctr, line) -> None:
        prefix = (ctr.name + " " if args.names else ctr.id[:12] + " ") if prefix_names else ""
        stamp = line.stamp + " " if args.timestamps else ""
        out = sys.stdout.buffer if line.stream == "stdout" else sys.stderr.buffer
        out.write(prefix.encode() + stamp.encode() + line.data)
        out.flush()

    for ctr in ctrs:
        offset = logmod.log_size(eng, ctr.id)
        for line in logmod.read_logs(eng, ctr.id, args.tail, since, until):
            emit(ctr, line)
        if args.follow:
            def running(cid=ctr.id):
                from otter.engine.containers import states
                c = states(eng).get(cid)
                return c is not None and c.is_active and process_alive(c)
            for line in logmod.follow(eng, ctr.id, offset, running):
                if until is None or line.time <= until:
                    emit(ctr, line)
    return 0


def cmd_attach(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Attach to a running container")
    p.add_argument("container")
    p.add_bool("--no-stdin", help="Do not attach STDIN. The default is false")
    p.add_argument("--detach-keys", help="Select the key sequence for detaching a container")
    p.add_bool("--sig-proxy", default=True, help="Proxy received signals to the process")
    args = parse(p, argv)
    from otter.engine.attach import attach
    from otter.engine.containers import lookup
    raise ExitStatus(attach(ctx.engine, lookup(ctx.engine, args.container), stdin=not args.no_stdin))


def cmd_top(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "Display the running processes of a container")
    p.add_argument("container")
    p.add_argument("descriptors", nargs="*", help="format descriptors (only the default set is supported)")
    args = parse(p, argv)
    from otter.engine.top import HEADERS, container_top
    write(tabulate([HEADERS] + container_top(ctx.engine, args.container)))
    return 0


def cmd_port(ctx, argv: list[str], prog: str) -> int:
    p = Parser(prog, "List port mappings or a specific mapping for the container")
    p.add_argument("container", nargs="?")
    p.add_argument("port", nargs="?")
    p.add_bool("-a", "--all", help="Display port information for all containers")
    args = parse(p, argv)
    if args.all and args.container:
        raise UsageError("no arguments are needed with --all")
    if not args.all and not args.container:
        raise UsageError("you must supply a running container name or id")
    from otter.engine.containers import container_ports
    from otter.network.ports import find_published, parse_port_query, port_lines
    query = parse_port_query(args.port) if args.port else None
    lines = []
    for ctr, mappings in container_ports(ctx.engine, [args.container] if args.container else [], args.all):
        prefix = ctr.id[:12] + "\t" if args.all else ""
        if query is None:
            lines += [prefix + line for line in port_lines(mappings)]
            continue
        found = find_published(mappings, *query)
        if found is None and mappings:
            from otter.errors import InvalidArgument
            raise InvalidArgument(f"failed to find published port \"{args.port}\"")
        if found is not None:
            lines.append(prefix + found)
    write("".join(line + "\n" for line in lines))
    return 0
