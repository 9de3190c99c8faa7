"""Container records and their state machine.

Vocabulary:
  config    what the user asked for at create time (`ContainerConfig`): immutable except for
            the name (rename). Stored as JSON beside the key columns.
  runtime   what happened since (`RuntimeInfo`): pid, exit code, times, whether the root
            filesystem is mounted. Changes with every transition.
  state     one of the `State` values. Transitions are checked here, not by callers:

      created --start--> running --pause--> paused --unpause--> running
         ^                  |  \\______________ kill/stop/exit ____________/
         |                  v
         +---- (restart) -- exited --rm--> (gone)

  `created` means the record and its root filesystem snapshot exist but no OCI container
  does; `exited` means the process ended and the OCI container was deleted. A container
  whose process died while no otter was watching is found and moved to `exited` by the
  engine's reconciliation (`engine.lifecycle.sync`).
"""

from __future__ import annotations

from otter.errors import InvalidState
from otter.record import asdict, field, fields, record, replace


class State:
    """The states a container record can be in: plain strings, stored as they are in the
    database. (Not an `enum.Enum`: importing `enum` costs 2 ms of every `inspect`.)"""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    EXITED = "exited"
    REMOVING = "removing"


_ALLOWED = {
    ("start", State.CREATED), ("start", State.EXITED),
    ("pause", State.RUNNING), ("unpause", State.PAUSED),
    ("kill", State.RUNNING), ("kill", State.PAUSED),
    ("exec", State.RUNNING),
    ("exit", State.RUNNING), ("exit", State.PAUSED), ("exit", State.CREATED),
}


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def _known(cls: type, doc: dict) -> dict:
    """The keys of `doc` that are fields of `cls` (records written by an older or newer otter
    may carry others). `ps` decodes every container, so the name set is computed once."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in fields(cls))
    return doc if names.issuperset(doc) else {k: v for k, v in doc.items() if k in names}


@record
class ContainerConfig:
    """Everything decided at create time. JSON keys are the field names."""

    id: str
    name: str
    image_id: str                    # hex image ID ("" for none)
    image_name: str                  # what the user typed, resolved (e.g. localhost/busybox:latest)
    command: list[str]               # the full argv run in the container (entrypoint + cmd)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    workdir: str = "/"
    user: str = ""                   # as given: "name", "uid", "uid:gid"
    hostname: str = ""
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)
    tty: bool = False
    interactive: bool = False
    auto_remove: bool = False
    read_only: bool = False
    privileged: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    seccomp: str = "default"
    userns: str = ""                 # "" (host), "keep-id" or "private": core.userns
    uid_map: list[str] = field(default_factory=list)   # "CONTAINER:HOST:SIZE"; empty without a userns
    gid_map: list[str] = field(default_factory=list)
    no_new_privileges: bool = False
    init: bool = False
    stop_signal: int = 15
    stop_timeout: int = 10
    ulimits: list[str] = field(default_factory=list)
    shm_size: int = 64 * 1024 * 1024
    memory: int | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    network: str = "private"          # private | none | host | slirp4netns
    network_options: dict = field(default_factory=dict)   # slirp4netns: network.slirp.SlirpOptions.to_json()
    ports: list[dict] = field(default_factory=list)       # published: network.ports.PortMapping.to_json()
    mounts: list[dict] = field(default_factory=list)    # inspect-shaped mount records ("Mounts")
    runtime_mounts: list[dict] = field(default_factory=list)   # MountSpec fields for config.json
    exposed_ports: dict = field(default_factory=dict)
    create_command: list[str] = field(default_factory=list)
    created: float = 0.0
    log_driver: str = "k8s-file"

    def to_json(self) -> dict:
        doc = asdict(self)
        doc["Mounts"] = doc.pop("mounts")
        return doc

    @classmethod
    def from_json(cls, doc: dict) -> "ContainerConfig":
        doc = dict(doc)
        doc["mounts"] = doc.pop("Mounts", [])
        return cls(**_known(cls, doc))


@record
class RuntimeInfo:
    pid: int = 0
    pid_start: int = 0               # the pid's start time (/proc/PID/stat field 22): guards against pid reuse
    conmon_pid: int = 0              # the monitor: conmon, or the otter process running it in the foreground
    exit_code: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    oom_killed: bool = False
    error: str = ""
    mounted: bool = False            # the root filesystem is mounted on the snapshot mountpoint
    supervisor: str = ""             # "conmon" (detached) or "otter" (foreground run)
    restart_count: int = 0
    stopped_by_user: bool = False
    slirp4netns_pid: int = 0         # the container's slirp4netns, ended by pid at cleanup
    slirp4netns_pid_start: int = 0   # its start time, as pid_start

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict) -> "RuntimeInfo":
        return cls(**_known(cls, doc))


@record
class Container:
    config: ContainerConfig
    state: str                       # a State value
    runtime: RuntimeInfo

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def is_active(self) -> bool:
        """A process may exist: running or paused."""
        return self.state in (State.RUNNING, State.PAUSED)

    def check(self, action: str) -> None:
        """Raise InvalidState unless `action` is allowed in the current state."""
        if (action, self.state) not in _ALLOWED:
            raise InvalidState(f"container {self.id} is {self.state}: cannot {action}: container state improper")

    def with_state(self, state: str, **changes) -> "Container":
        return Container(self.config, state, replace(self.runtime, **changes))
