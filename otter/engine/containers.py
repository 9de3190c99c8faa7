"""Container verbs that work on records: create, list, inspect, rename, remove, prune, exists.

Lifecycle verbs (start, run, stop, kill, wait, pause, cleanup) are in `engine.lifecycle`.
Creating a container resolves the image and everything the user asked into a
`ContainerConfig`, prepares the root filesystem snapshot and the volumes, and records the
container as `created`; if any step fails, what the earlier steps made is removed again.
"""

from __future__ import annotations

import os
import time

from otter.core.container import Container, ContainerConfig, RuntimeInfo, State
from otter.core.names import check_container_name
from otter.core.state import ContainerState
from otter.engine.context import Engine
from otter.errors import AlreadyExists, ContainerNotFound, InvalidArgument, InvalidState, OtterError
from otter.record import field, record

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_ADJECTIVES = ("brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "kind", "lively", "nice", "proud",
               "quirky", "silly", "swift", "witty", "zealous", "bold", "clever", "daring", "keen")
_NOUNS = ("otter", "beaver", "heron", "pike", "trout", "newt", "mink", "vole", "kingfisher", "salmon", "eel",
          "frog", "duck", "swan", "carp", "perch", "loon", "crane", "stoat", "badger")


def states(eng: Engine) -> ContainerState:
    return ContainerState(eng.db)


@record
class CreateOptions:
    image: str
    command: tuple[str, ...] = ()
    name: str | None = None
    entrypoint: str | None = None          # None: the image's; "" resets it; a JSON array or a word
    env: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    workdir: str | None = None
    user: str | None = None
    hostname: str | None = None
    labels: tuple[str, ...] = ()
    tty: bool = False
    interactive: bool = False
    auto_remove: bool = False
    read_only: bool = False
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    security_opts: tuple[str, ...] = ()
    userns: str | None = None               # --userns, None when not given
    uidmap: tuple[str, ...] = ()
    gidmap: tuple[str, ...] = ()
    init: bool = False
    stop_signal: str | None = None
    stop_timeout: int | None = None
    ulimits: tuple[str, ...] = ()
    shm_size: str | None = None
    tmpfs: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    mounts: tuple[str, ...] = ()
    memory: str | None = None
    cpus: str | None = None
    pids_limit: int | None = None
    network: str | None = None
    publish: tuple[str, ...] = ()           # -p values
    publish_all: bool = False               # -P
    pull: str = "missing"
    replace: bool = False
    cidfile: str | None = None
    create_command: tuple[str, ...] = field(default_factory=tuple)


def _env_file(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except OSError as e:
        raise InvalidArgument(f"open {path}: {e.strerror.lower() if e.strerror else e}") from None
    return [line for line in lines if line and not line.startswith("#")]


def _merge_env(base: list[str], additions: list[str]) -> list[str]:
    env = {e.split("=", 1)[0]: e for e in base}
    for item in additions:
        key, sep, _ = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid environment variable {item!r}")
        if not sep:
            if key not in os.environ:
                continue
            item = f"{key}={os.environ[key]}"
        env.pop(key, None)
        env[key] = item
    return list(env.values())


def _entrypoint(value: str | None, image_ep: list[str]) -> list[str]:
    if value is None:
        return list(image_ep or [])
    if value == "":
        return []
    if value.startswith("["):
        from otter import jsoncodec
        try:
            parsed = jsoncodec.loads(value)
        except ValueError:
            raise InvalidArgument(f"invalid --entrypoint {value!r}: not a JSON array") from None
        return [str(x) for x in parsed]
    return [value]


_NO_PUBLISHING = {
    "private": "the default network of root containers has no connection to the host yet: "
               "use --network slirp4netns to publish ports",
    "none": "a container with --network none has no network to forward ports to: use --network slirp4netns",
    "host": "a container with --network host uses the host's ports directly: drop -p/--publish",
}


def _network(opts: CreateOptions, rootless: bool, exposed: dict) -> tuple[str, dict, list[dict]]:
    """The network mode, its options and the published ports, as the config stores them.

    `private` is an own network namespace with only loopback (root's default until otter has
    bridge networking); `none` the same; `host` the host's; `slirp4netns` an own namespace
    that slirp4netns connects to the host (the rootless default, as in Podman), the one mode
    that can publish ports."""
    value = opts.network
    if value in (None, "", "default"):
        value = "slirp4netns" if rootless else "private"
    kind, _, option_text = value.partition(":")
    mappings = []
    if opts.publish or opts.publish_all:
        from otter.network import ports
        mappings = ports.parse_publish(opts.publish)
        if opts.publish_all:
            mappings += ports.exposed_mappings(exposed)
    if value in ("private", "bridge", "none", "host"):
        mode = "private" if value == "bridge" else value
        if mappings:
            raise InvalidArgument(f"cannot publish ports: {_NO_PUBLISHING[mode]}")
        return mode, {}, []
    if kind != "slirp4netns":
        raise InvalidArgument(f"network {value!r} is not supported yet: use slirp4netns, none or host")
    from otter.network import ports, slirp
    options = slirp.parse_options(option_text)
    slirp.check_ports(mappings)
    ports.check_conflicts(mappings)
    if rootless and not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        raise InvalidArgument("slirp4netns (the default network of rootless containers) needs /dev/net/tun, which "
                              "this user cannot open on this host: use --network none (or --network host)")
    return kind, options.to_json(), [m.to_json() for m in ports.assign_host_ports(mappings)]


def _security(opts: tuple[str, ...]) -> tuple[str, bool]:
    seccomp, nnp = "default", False
    for opt in opts:
        key, sep, value = opt.partition("=")
        if key == "seccomp" and sep:
            if value != "unconfined" and not os.path.isfile(value):
                raise InvalidArgument(f"opening seccomp profile failed: open {value}: no such file or directory")
            seccomp = value
        elif key in ("no-new-privileges", "no_new_privileges") and value in ("", "true"):
            nnp = True
        elif key in ("label", "apparmor", "mask", "unmask", "proc-opts") or key.startswith("label"):
            continue
        else:
            raise InvalidArgument(f"invalid --security-opt 1: {opt!r}")
    return seccomp, nnp


def generate_name(st: ContainerState) -> str:
    """A random free `adjective_noun` name, with a numeric suffix once the pairs run out."""
    for attempt in range(64):
        a, n, k = os.urandom(3)
        name = f"{_ADJECTIVES[a % len(_ADJECTIVES)]}_{_NOUNS[n % len(_NOUNS)]}" + (f"{k}" if attempt > 16 else "")
        if not st.name_taken(name):
            return name
    return "otter_" + os.urandom(6).hex()


def container_create(eng: Engine, opts: CreateOptions) -> Container:
    from otter.core.mounts import check_duplicates, parse_mount_flag, parse_tmpfs_flag, parse_volume_flag
    from otter.core.units import parse_signal, parse_size
    from otter.spec.runtime import parse_ulimit

    st = states(eng)
    from otter.engine.pull_policy import image_for_container
    rec = image_for_container(eng, opts.image, opts.pull)
    image_cfg = eng.images.config_json(rec).get("config") or {}
    # Validate every flag before anything is made on disk.
    if opts.name is not None:
        check_container_name(opts.name)
    memory = parse_size(opts.memory, "-m, --memory") if opts.memory else None
    shm = parse_size(opts.shm_size, "--shm-size") if opts.shm_size else 64 * 1024 * 1024
    cpus = None
    if opts.cpus:
        try:
            cpus = float(opts.cpus)
        except ValueError:
            raise InvalidArgument(f"invalid argument {opts.cpus!r} for \"--cpus\" flag: strconv.ParseFloat: invalid syntax") from None
        if cpus <= 0:
            raise InvalidArgument("--cpus must be greater than zero")
    for u in opts.ulimits:
        parse_ulimit(u)
    seccomp, nnp = _security(opts.security_opts)
    userns = None
    if opts.userns is not None or opts.uidmap or opts.gidmap:
        from otter.core.userns import resolve
        userns = resolve(opts.userns, opts.uidmap, opts.gidmap, eng.rootless)
    network, network_options, published = _network(opts, eng.rootless, image_cfg.get("ExposedPorts") or {})
    stop_signal = parse_signal(opts.stop_signal or image_cfg.get("StopSignal") or "SIGTERM")
    requests = [parse_volume_flag(v) for v in opts.volumes] + [parse_mount_flag(m) for m in opts.mounts] + \
               [parse_tmpfs_flag(t) for t in opts.tmpfs]
    check_duplicates(requests)
    if opts.cidfile and os.path.exists(opts.cidfile):
        raise InvalidArgument(f"container id file exists. Ensure another container is not using it or delete {opts.cidfile}")
    entrypoint = _entrypoint(opts.entrypoint, image_cfg.get("Entrypoint") or [])
    cmd = list(opts.command) if opts.command else ([] if opts.entrypoint is not None else list(image_cfg.get("Cmd") or []))
    command = entrypoint + cmd
    if not command:
        raise InvalidArgument("no command or entrypoint provided, and no CMD or ENTRYPOINT from image")
    env = list(image_cfg.get("Env") or [])
    if not any(e.startswith("PATH=") for e in env):
        env.insert(0, DEFAULT_PATH)
    env = _merge_env(env, ["container=otter", "TERM=xterm"] if opts.tty else ["container=otter"])
    for path in opts.env_files:
        env = _merge_env(env, _env_file(path))
    env = _merge_env(env, list(opts.env))
    labels = dict(image_cfg.get("Labels") or {})
    for item in opts.labels:
        key, _, value = item.partition("=")
        labels[key] = value

    if opts.replace and opts.name:
        try:
            old = st.find(opts.name)
            if old.name == opts.name:
                from otter.engine.lifecycle import remove_container
                remove_container(eng, old, force=True, volumes=False)
        except ContainerNotFound:
            pass

    if (opts.memory or opts.cpus or opts.pids_limit) and eng.rootless:
        from otter.spec.runtime import cgroup_limits_supported
        if not cgroup_limits_supported(True):
            from otter import log
            log.warning("Resource limits are not supported and ignored on cgroups V1 rootless systems")
    cid = os.urandom(32).hex()
    name = opts.name or generate_name(st)
    if st.name_taken(name):
        raise st._name_taken(name)
    made_snapshot = False
    mount_records: list[dict] = []
    try:
        image_volumes = list((image_cfg.get("Volumes") or {}).keys())
        runtime_mounts: list = []
        if requests or image_volumes:
            from otter.engine.volumes import resolve_mounts
            runtime_mounts, mount_records = resolve_mounts(eng, requests, image_volumes)
        eng.snapshotter.prepare(cid, eng.layers.chain_keys(rec.top_layer))
        made_snapshot = True
        if userns is not None and userns.private:
            from otter.storage.idmap import owner_shift, shift_snapshot
            shift_snapshot(eng.snapshotter, cid, owner_shift(userns.uid_maps, userns.gid_maps))
        config = ContainerConfig(
            id=cid, name=name, image_id=rec.id, image_name=rec.names[0] if rec.names else rec.id,
            command=command, entrypoint=entrypoint, cmd=cmd, env=env,
            workdir=opts.workdir or image_cfg.get("WorkingDir") or "/",
            user=opts.user if opts.user is not None else (image_cfg.get("User") or (userns.user if userns else "")),
            hostname=opts.hostname or cid[:12], labels=labels, tty=opts.tty, interactive=opts.interactive,
            auto_remove=opts.auto_remove, read_only=opts.read_only, privileged=opts.privileged,
            cap_add=list(opts.cap_add), cap_drop=list(opts.cap_drop), seccomp=seccomp, no_new_privileges=nnp,
            userns=userns.mode if userns else "", uid_map=[str(m) for m in userns.uid_maps] if userns else [],
            gid_map=[str(m) for m in userns.gid_maps] if userns else [],
            init=opts.init, stop_signal=stop_signal,
            stop_timeout=opts.stop_timeout if opts.stop_timeout is not None else 10,
            ulimits=list(opts.ulimits), shm_size=shm, memory=memory, cpus=cpus, pids_limit=opts.pids_limit,
            network=network, network_options=network_options, ports=published, mounts=mount_records,
            runtime_mounts=[{"destination": m.destination, "type": m.type, "source": m.source,
                             "options": list(m.options)} for m in runtime_mounts],
            exposed_ports=dict(image_cfg.get("ExposedPorts") or {}), create_command=list(opts.create_command),
            created=time.time())
        ctr = Container(config, State.CREATED, RuntimeInfo())
        st.add(ctr)
    except BaseException:
        if made_snapshot:
            eng.snapshotter.remove(cid)
        anonymous = [m["Name"] for m in mount_records if m.get("Anonymous")]
        if anonymous:
            from otter.engine.volumes import remove_anonymous
            remove_anonymous(eng, anonymous)
        raise
    if opts.cidfile:
        with open(opts.cidfile, "x") as f:
            f.write(cid)
    from otter.engine.events import container_event
    container_event(eng, ctr, "create")
    return ctr


# -- reading ---------------------------------------------------------------------------

def lookup(eng: Engine, text: str) -> Container:
    ctr = states(eng).find(text)
    if not ctr.is_active:
        return ctr
    from otter.engine.lifecycle import sync
    return sync(eng, ctr)


_STATUSES = ("created", "running", "paused", "exited", "stopped", "removing", "unknown", "configured")


def _ancestor(ctr: Container, value: str) -> bool:
    if ctr.config.image_id.startswith(value.removeprefix("sha256:")):
        return True
    name = ctr.config.image_name
    repo = name.rsplit(":", 1)[0]
    return value in (name, repo, repo.rsplit("/", 1)[-1], name.rsplit("/", 1)[-1])


def _exit_code(key: str, value: str) -> None:
    if not value.lstrip("-").isdigit():
        raise InvalidArgument(f"exited code out of range {value!r}")


def _container_keys():
    """`ps --filter` keys."""
    import re

    from otter.core import filters as f
    return {
        "name": (lambda c, v: re.search(v, c.name) is not None, f.regex),
        "id": (lambda c, v: c.id.startswith(v), None),
        "status": (lambda c, v: c.state == ("exited" if v == "stopped" else v), f.one_of(*_STATUSES)),
        "label": (lambda c, v: f.labels_match(c.config.labels, v), None),
        "ancestor": (_ancestor, None),
        "exited": (lambda c, v: c.state == State.EXITED and c.runtime.exit_code == int(v), _exit_code),
    }


def container_list(eng: Engine, filters: tuple[str, ...] = ()) -> list[Container]:
    """Every container (matching `filters`), reconciled with reality (processes that died are
    marked exited)."""
    if filters:
        from otter.core import filters as f
        keys = _container_keys()
        grouped = f.parse(filters, keys, "container")
        return [c for c in container_list(eng) if f.matches(c, grouped, keys)]
    if not eng.has_store():
        return []
    from otter.engine.lifecycle import sync
    return [sync(eng, c) for c in states(eng).list()]


def container_exists(eng: Engine, text: str) -> bool:
    if not eng.has_store():
        return False
    try:
        states(eng).find(text)
        return True
    except (ContainerNotFound, InvalidArgument):
        return False


def container_ports(eng: Engine, names: list[str], all_containers: bool = False) -> list[tuple[Container, list]]:
    """`port`: each running container (every one with `all_containers`, else those named) with
    its published `PortMapping`s; as in Podman, a container that is not running has none."""
    from otter.network.ports import from_config
    ctrs = [c for c in container_list(eng) if c.is_active] if all_containers else [lookup(eng, n) for n in names]
    return [(c, from_config(c.config.ports) if c.state == State.RUNNING else []) for c in ctrs]


def container_rename(eng: Engine, text: str, new_name: str) -> None:
    check_container_name(new_name)
    ctr = states(eng).find(text)
    states(eng).rename(ctr.id, new_name)
    from otter.engine.events import emit
    emit(eng, "container", "rename", ctr.id, new_name, ctr.config.image_name, dict(ctr.config.labels))


# -- removing ---------------------------------------------------------------------------

@record(frozen=False)
class RmReport:
    removed: list[str] = field(default_factory=list)       # as the user typed them
    errors: list[OtterError] = field(default_factory=list)


def container_remove(eng: Engine, names: list[str], force: bool = False, volumes: bool = False,
                     all_containers: bool = False, ignore: bool = False) -> RmReport:
    from otter.engine.lifecycle import remove_container
    report = RmReport()
    st = states(eng)
    targets: list[tuple[str, Container | None]] = []
    if all_containers:
        targets = [(c.id, c) for c in st.list()]
    for text in names:
        try:
            targets.append((text, st.find(text)))
        except ContainerNotFound as e:
            if not ignore:
                report.errors.append(e)
    for text, ctr in targets:
        try:
            remove_container(eng, ctr, force=force, volumes=volumes)
            report.removed.append(text)
        except OtterError as e:
            report.errors.append(e)
    return report


def remove_containers(eng: Engine, ids: list[str], force: bool = True, volumes: bool = False) -> None:
    """Remove containers by ID (used by `rmi -f` and `volume rm -f`)."""
    from otter.engine.lifecycle import remove_container
    for cid in ids:
        ctr = states(eng).get(cid)
        if ctr is not None:
            remove_container(eng, ctr, force=force, volumes=volumes)


def remove_for_image(eng: Engine, ids: list[str]) -> None:
    remove_containers(eng, ids, force=True)


def container_prune(eng: Engine) -> list[str]:
    from otter.engine.lifecycle import remove_container
    removed = []
    for ctr in container_list(eng):
        if ctr.state in (State.EXITED, State.CREATED):
            try:
                remove_container(eng, ctr, force=False, volumes=False)
                removed.append(ctr.id)
            except (InvalidState, AlreadyExists):
                continue
    return removed


def remove_storage(eng: Engine, cid: str) -> None:
    """Delete a container's snapshot and files (its rootfs must be unmounted)."""
    eng.snapshotter.remove(cid)
    from otter.sys.tree import remove_tree
    remove_tree(eng.paths.container(cid))
    remove_tree(eng.paths.bundle(cid))
    try:
        os.unlink(eng.paths.exit_file(cid))
    except FileNotFoundError:
        pass



# -- inspect -----------------------------------------------------------------------------

_STATUS = {State.CREATED: "created", State.RUNNING: "running", State.PAUSED: "paused", State.EXITED: "exited",
           State.REMOVING: "removing"}


def _image_digest(eng: Engine, image_id: str) -> str:
    rec = eng.images.get(image_id)
    return rec.digest if rec else ""


def container_inspect(eng: Engine, text: str) -> dict:
    """The `podman container inspect` document (Podman 4.3 CLI shape)."""
    from otter.timefmt import rfc3339
    ctr = lookup(eng, text)
    cfg, rt = ctr.config, ctr.runtime
    if ctr.is_active and not rt.pid:
        from otter.engine.lifecycle import _fresh
        rt = _fresh(eng, ctr).runtime
    bundle = eng.paths.bundle(ctr.id)
    upper = eng.snapshotter.upper_dir(ctr.id)
    slirp = cfg.network == "slirp4netns"
    ports, bindings = {}, {}
    if cfg.ports or cfg.exposed_ports:
        from otter.network.ports import from_config, inspect_bindings, inspect_ports
        mappings = from_config(cfg.ports)
        ports, bindings = inspect_ports(mappings, cfg.exposed_ports), inspect_bindings(mappings)
    return {
        "Id": ctr.id,
        "Created": rfc3339(cfg.created),
        "Path": cfg.command[0] if cfg.command else "",
        "Args": cfg.command[1:],
        "State": {
            "OciVersion": "1.0.2-dev", "Status": _STATUS[ctr.state], "Running": ctr.state == State.RUNNING,
            "Paused": ctr.state == State.PAUSED, "Restarting": False, "OOMKilled": rt.oom_killed, "Dead": False,
            "Pid": rt.pid, "ConmonPid": rt.conmon_pid, "ExitCode": rt.exit_code, "Error": rt.error,
            "StartedAt": rfc3339(rt.started_at), "FinishedAt": rfc3339(rt.finished_at),
            "Health": {"Status": "", "FailingStreak": 0, "Log": None},
            "CheckpointedAt": "0001-01-01T00:00:00Z", "RestoredAt": "0001-01-01T00:00:00Z",
            "StoppedByUser": rt.stopped_by_user,
            "CgroupPath": "" if eng.rootless else f"/otter-{ctr.id}",
        },
        "Image": cfg.image_id,
        "ImageDigest": _image_digest(eng, cfg.image_id),
        "ImageName": cfg.image_name,
        "Rootfs": "",
        "Pod": "",
        "ResolvConfPath": os.path.join(bundle, "resolv.conf") if slirp else "",
        "HostnamePath": os.path.join(bundle, "hostname"),
        "HostsPath": os.path.join(bundle, "hosts") if cfg.network != "host" else "/etc/hosts",
        "StaticDir": eng.paths.container_userdata(ctr.id),
        "OCIConfigPath": os.path.join(bundle, "config.json"),
        "OCIRuntime": eng.runtime_name,
        "ConmonPidFile": os.path.join(bundle, "conmon.pid"),
        "PidFile": os.path.join(bundle, "pidfile"),
        "Name": ctr.name,
        "RestartCount": rt.restart_count,
        "Driver": eng.driver,
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "EffectiveCaps": None,
        "BoundingCaps": None,
        "ExecIDs": [],
        "GraphDriver": {"Name": eng.driver, "Data": {
            "UpperDir": upper, "WorkDir": os.path.join(os.path.dirname(upper), "work"),
            "MergedDir": eng.snapshotter.mountpoint(ctr.id)}},
        "Mounts": [{k: v for k, v in m.items() if k != "Anonymous"} for m in cfg.mounts],
        "Dependencies": [],
        "NetworkSettings": {
            "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": "", "Bridge": "", "SandboxID": "",
            "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "Ports": ports,
            "SandboxKey": eng.paths.netns(ctr.id) if slirp and ctr.is_active else "", "Networks": {},
        },
        "Namespace": "",
        "IsInfra": False,
        "IsService": False,
        "Config": {
            "Hostname": cfg.hostname, "Domainname": "", "User": cfg.user, "AttachStdin": cfg.interactive,
            "AttachStdout": False, "AttachStderr": False, "Tty": cfg.tty, "OpenStdin": cfg.interactive,
            "StdinOnce": False, "Env": cfg.env, "Cmd": cfg.cmd, "Image": cfg.image_name, "Volumes": None,
            "WorkingDir": cfg.workdir, "Entrypoint": " ".join(cfg.entrypoint), "OnBuild": None,
            "Labels": cfg.labels or None, "Annotations": cfg.annotations or {},
            "StopSignal": cfg.stop_signal, "CreateCommand": cfg.create_command, "Umask": "0022",
            "Timeout": 0, "StopTimeout": cfg.stop_timeout, "ExposedPorts": cfg.exposed_ports or None,
            "Passwd": True, "sdNotifyMode": "container", "HealthcheckOnFailureAction": "none",
        },
        "HostConfig": {
            "Binds": [f"{m.get('Name') or m['Source']}:{m['Destination']}:{','.join(m.get('Options') or [])}"
                      for m in cfg.mounts if m.get("Type") in ("bind", "volume")],
            "CgroupManager": "cgroupfs", "CgroupMode": "host", "ContainerIDFile": "",
            "LogConfig": {"Type": cfg.log_driver, "Config": None, "Path": eng.paths.container_log(ctr.id),
                          "Tag": "", "Size": "0B"},
            "NetworkMode": cfg.network,
            "PortBindings": bindings, "RestartPolicy": {"Name": "", "MaximumRetryCount": 0},
            "AutoRemove": cfg.auto_remove, "VolumeDriver": "", "VolumesFrom": None,
            "CapAdd": cfg.cap_add, "CapDrop": cfg.cap_drop, "Dns": [], "DnsOptions": [], "DnsSearch": [],
            "ExtraHosts": [], "GroupAdd": [], "IpcMode": "shareable", "Cgroup": "", "Cgroups": "default",
            "Links": None, "OomScoreAdj": 0, "PidMode": "private", "Privileged": cfg.privileged,
            "PublishAllPorts": False, "ReadonlyRootfs": cfg.read_only,
            "SecurityOpt": ([f"seccomp={cfg.seccomp}"] if cfg.seccomp != "default" else [])
            + (["no-new-privileges"] if cfg.no_new_privileges else []),
            "Tmpfs": {m["Destination"]: ",".join(m.get("Options") or []) for m in cfg.mounts if m.get("Type") == "tmpfs"},
            "UTSMode": "private", "UsernsMode": "private" if cfg.uid_map else "",
            **({"IDMappings": {"UidMap": cfg.uid_map, "GidMap": cfg.gid_map}} if cfg.uid_map else {}),
            "ShmSize": cfg.shm_size, "Runtime": "oci",
            "ConsoleSize": [0, 0], "Isolation": "", "CpuShares": 0, "Memory": cfg.memory or 0,
            "NanoCpus": int((cfg.cpus or 0) * 1e9), "CgroupParent": "", "BlkioWeight": 0,
            "CpuPeriod": 100000 if cfg.cpus else 0, "CpuQuota": int(cfg.cpus * 100000) if cfg.cpus else 0,
            "Devices": [], "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": 0, "OomKillDisable": False,
            "PidsLimit": cfg.pids_limit or 0,
            "Ulimits": [{"Name": u.split("=", 1)[0], "Soft": 0, "Hard": 0} for u in cfg.ulimits],
            "CgroupConf": None, "Init": cfg.init,
        },
    }
