"""StorePaths: the one place that knows where otter keeps things on disk.

Vocabulary:
  root     the persistent store ("graph root"): database, blobs, layers, containers, volumes.
           `/var/lib/otter` for root, `~/.local/share/otter` for an ordinary user.
  runroot  volatile per-boot state: runtime state, pid files, exit files, locks.
           `/run/otter` for root, `$XDG_RUNTIME_DIR/otter` (or `/tmp/otter-UID`) otherwise.

No other module computes a store path: ask this class. Directories are created lazily by
the code that writes into them (`ensure`), so read-only commands never touch the disk.
"""

from __future__ import annotations

import os

from otter.record import record


def _owner() -> int:
    """The store owner's uid: the real user even inside the rootless namespace."""
    from otter.sys.userns import rootless_uid
    return rootless_uid() or 0


def default_root(uid: int | None = None) -> str:
    uid = _owner() if uid is None else uid
    if uid == 0:
        return "/var/lib/otter"
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data_home, "otter")


def default_runroot(uid: int | None = None) -> str:
    uid = _owner() if uid is None else uid
    if uid == 0:
        return "/run/otter"
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir and os.path.isdir(runtime_dir):
        return os.path.join(runtime_dir, "otter")
    return f"/tmp/otter-{uid}"


@record
class StorePaths:
    root: str
    runroot: str

    @classmethod
    def for_user(cls, root: str | None = None, runroot: str | None = None) -> "StorePaths":
        return cls(os.path.abspath(root or default_root()), os.path.abspath(runroot or default_runroot()))

    # -- database and locks -------------------------------------------------------------
    @property
    def database(self) -> str:
        return os.path.join(self.root, "otter.db")

    @property
    def database_lock(self) -> str:
        """flock(2) file that writers of the database queue on (`db.Database.transaction`)."""
        return os.path.join(self.root, "otter.db.lock")

    @property
    def store_lock(self) -> str:
        """flock(2) file serialising writers that change blobs or layers."""
        return os.path.join(self.root, "store.lock")

    # -- content store ------------------------------------------------------------------
    def blob(self, algorithm: str, hex_digest: str) -> str:
        return os.path.join(self.root, "blobs", algorithm, hex_digest)

    def blob_dir(self, algorithm: str) -> str:
        return os.path.join(self.root, "blobs", algorithm)

    @property
    def ingest(self) -> str:
        """In-flight blob writes; nothing here is ever visible as a committed blob."""
        return os.path.join(self.root, "ingest")

    @property
    def tmp(self) -> str:
        """Scratch space on the store's filesystem (spooled archives, staged layers)."""
        return os.path.join(self.root, "tmp")

    # -- layers -------------------------------------------------------------------------
    def layers(self, driver: str) -> str:
        return os.path.join(self.root, "layers", driver)

    def layer(self, driver: str, layer_id: str) -> str:
        return os.path.join(self.root, "layers", driver, layer_id)

    def staging(self, driver: str) -> str:
        """Layers being unpacked; renamed into place only when complete and verified."""
        return os.path.join(self.root, "layers", driver, "staging")

    def snapshot(self, driver: str, key: str) -> str:
        """An active (writable) snapshot: a container's root filesystem."""
        return os.path.join(self.root, "layers", driver, "active", key)

    def layer_links(self, driver: str) -> str:
        """Short symlinks to layer diff dirs, keeping overlay's lowerdir= under one page."""
        return os.path.join(self.root, "layers", driver, "l")

    def idmapped_layers(self, driver: str) -> str:
        """ID-shifted copies of layers (`storage.idmap`), one directory per ID mapping."""
        return os.path.join(self.root, "layers", driver, "mapped")

    @property
    def idmapped_layers_lock(self) -> str:
        """flock(2) file serialising the making and collecting of ID-shifted layers."""
        return os.path.join(self.runroot, "locks", "idmapped-layers.lock")

    @property
    def idmapped_lowers_probe(self) -> str:
        """Whether overlay takes idmapped lower layers here ("true"/"false"), probed once per boot."""
        return os.path.join(self.runroot, "idmapped-lowers")

    # -- containers and volumes -----------------------------------------------------------
    def container(self, container_id: str) -> str:
        return os.path.join(self.root, "containers", container_id)

    def container_userdata(self, container_id: str) -> str:
        """Persistent per-container files: the log, the cidfile-independent metadata."""
        return os.path.join(self.root, "containers", container_id, "userdata")

    def container_log(self, container_id: str) -> str:
        return os.path.join(self.root, "containers", container_id, "userdata", "ctr.log")

    def bundle(self, container_id: str) -> str:
        """Volatile per-container files: config.json, pid files, hosts, conmon's sockets."""
        return os.path.join(self.runroot, "containers", container_id)

    def exit_file(self, container_id: str) -> str:
        return os.path.join(self.runroot, "exits", container_id)

    # -- networking -----------------------------------------------------------------------
    def netns(self, container_id: str) -> str:
        """The file a container's own network namespace is pinned on (a bind mount of its
        nsfs file, as `ip netns add` makes); made before the container starts."""
        return os.path.join(self.runroot, "netns", container_id)

    def slirp4netns_socket(self, container_id: str) -> str:
        """slirp4netns' API socket (may exceed sun_path: see `otter.sys.unixsock`)."""
        return os.path.join(self.runroot, "containers", container_id, "slirp4netns.sock")

    def slirp4netns_log(self, container_id: str) -> str:
        return os.path.join(self.runroot, "containers", container_id, "slirp4netns.log")

    @property
    def volumes(self) -> str:
        return os.path.join(self.root, "volumes")

    def volume(self, name: str) -> str:
        return os.path.join(self.root, "volumes", name)

    @property
    def seccomp_cache(self) -> str:
        """Converted seccomp profiles (`spec.seccomp.load_default`), rebuilt after a reboot."""
        return os.path.join(self.runroot, "seccomp")

    @property
    def runtime_state(self) -> str:
        """`runc --root`: the OCI runtime's own state directory."""
        return os.path.join(self.runroot, "runtime")

    @property
    def exits(self) -> str:
        return os.path.join(self.runroot, "exits")

    @property
    def events_log(self) -> str:
        """The events log, one JSON line per event (Podman's file backend keeps it in its tmpdir)."""
        return os.path.join(self.runroot, "events", "events.log")

    def container_lock(self, container_id: str) -> str:
        return os.path.join(self.runroot, "locks", container_id + ".lock")

    @staticmethod
    def ensure(path: str, mode: int = 0o700) -> str:
        os.makedirs(path, mode=mode, exist_ok=True)
        return path
