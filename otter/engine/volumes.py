"""Volume verbs (create, list, inspect, remove, prune, exists) and what containers need from volumes.

Vocabulary:
  volume      a directory owned by the store that outlives containers: its mountpoint is
              `<root>/volumes/<name>/_data`. Named by the user, or by 64 random hex digits.
  driver      how a volume is provided; only "local" (a plain directory) exists.
  anonymous   made for one container rather than by name: `-v /dst`, `--mount type=volume`
              without a source, and an image's VOLUME paths. `rm -v` and `--rm` remove anonymous
              volumes with their container (`remove_anonymous`); a named volume stays.
  users       the containers, running or not, whose config mounts a volume
              (`Engine.volume_users`). A volume with users is "in use": it is not removed
              without force and never pruned. A volume without users is "dangling".
  copy-up     Podman's first-use rule: the first container to mount a new volume copies the
              image's content at the mount destination into it, if the volume is still empty
              (`copy_up`). Later containers see whatever the volume holds.

Records live in the `volumes` table of the store database; a volume's files exist exactly when
its record does (created in the same transaction, removed right after it).
"""

from __future__ import annotations

import os
import re
import secrets
import time

from otter import jsoncodec, log
from otter.core.mounts import (
    NO_SOURCE_FLAGS,
    PROPAGATIONS,
    MountRequest,
    check_duplicates,
    check_volume_name,
    clean_destination,
    process_options,
    runtime_options,
)
from otter.db import Connection, IntegrityError, Row
from otter.engine.context import Engine
from otter.engine.events import emit
from otter.errors import AlreadyExists, InUse, InvalidArgument, OtterError, VolumeNotFound
from otter.record import field, record
from otter.spec.runtime import MountSpec
from otter.sys.tree import remove_tree
from otter.timefmt import rfc3339_local

SCHEMA = """
CREATE TABLE IF NOT EXISTS volumes (
    name          TEXT PRIMARY KEY,
    driver        TEXT NOT NULL,
    created       REAL NOT NULL,      -- seconds since the epoch
    labels        TEXT NOT NULL,      -- JSON object
    options       TEXT NOT NULL,      -- JSON object: the driver options (`volume create -o`)
    anonymous     INTEGER NOT NULL,
    needs_copy_up INTEGER NOT NULL
);
"""

# The local driver's option keys, as Podman validates them. Most ask for a mount (type, device,
# o), a quota (size, inodes) or an ownership change (uid, gid) otter does not do yet; it says so
# instead of recording a volume that would not behave as asked.
_LOCAL_OPTIONS = frozenset({"device", "o", "type", "uid", "gid", "size", "inodes", "noquota", "copy", "nocopy"})
_UNSUPPORTED_OPTIONS = frozenset({"device", "o", "type", "uid", "gid", "size", "inodes"})



@record
class Volume:
    name: str
    mountpoint: str
    driver: str = "local"
    created: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False
    needs_copy_up: bool = True


def _has_store(eng: Engine) -> bool:
    return eng.has_store()


def _conn(eng: Engine) -> Connection:
    eng.db.ensure_schema("volumes", SCHEMA)
    return eng.db.connection()


def _mountpoint(eng: Engine, name: str) -> str:
    return os.path.join(eng.paths.volume(name), "_data")


def _volume(eng: Engine, row: Row) -> Volume:
    return Volume(name=row["name"], mountpoint=_mountpoint(eng, row["name"]), driver=row["driver"],
                  created=row["created"], labels=jsoncodec.loads(row["labels"]), options=jsoncodec.loads(row["options"]),
                  anonymous=bool(row["anonymous"]), needs_copy_up=bool(row["needs_copy_up"]))


def _lookup(eng: Engine, name: str) -> Volume | None:
    if not _has_store(eng):
        return None
    row = _conn(eng).execute("SELECT * FROM volumes WHERE name=?", (name,)).fetchone()
    return _volume(eng, row) if row else None


def _all(eng: Engine) -> list[Volume]:
    if not _has_store(eng):
        return []
    return [_volume(eng, row) for row in _conn(eng).execute("SELECT * FROM volumes ORDER BY name")]


def get_volume(eng: Engine, name: str) -> Volume:
    vol = _lookup(eng, name)
    if vol is None:
        raise VolumeNotFound(f"no volume with name \"{name}\" found: no such volume")
    return vol


def volume_exists(eng: Engine, name: str) -> bool:
    return _lookup(eng, name) is not None


def _create(eng: Engine, name: str, labels: dict[str, str], options: dict[str, str], anonymous: bool,
            needs_copy_up: bool) -> Volume:
    vol = Volume(name=name, mountpoint=_mountpoint(eng, name), created=time.time(), labels=dict(labels),
                 options=dict(options), anonymous=anonymous, needs_copy_up=needs_copy_up)
    conn = _conn(eng)
    try:
        with eng.db.transaction():
            conn.execute("INSERT INTO volumes(name, driver, created, labels, options, anonymous, needs_copy_up) "
                         "VALUES (?,?,?,?,?,?,?)",
                         (name, vol.driver, vol.created, jsoncodec.dumps(vol.labels), jsoncodec.dumps(vol.options),
                          int(anonymous), int(needs_copy_up)))
            # Inside the transaction: if the directory cannot be made, the record is rolled back.
            _make_directory(eng, name)
    except IntegrityError:
        raise AlreadyExists(f"volume with name {name} already exists: volume already exists") from None
    emit(eng, "volume", "create", name=name)
    return vol


def _make_directory(eng: Engine, name: str) -> None:
    base = eng.paths.volume(name)
    eng.paths.ensure(eng.paths.volumes)
    # No record owns a directory found here (a removal that failed half-way left it): start empty.
    remove_tree(base)
    try:
        os.mkdir(base, 0o700)
        os.mkdir(os.path.join(base, "_data"))
        # Explicitly, not through mkdir's umask-narrowed mode: processes running as any user in the
        # container must be able to enter the volume, as with Podman's.
        os.chmod(os.path.join(base, "_data"), 0o755)
    except BaseException:
        remove_tree(base)
        raise


def _delete(eng: Engine, name: str) -> None:
    with eng.db.transaction() as conn:
        conn.execute("DELETE FROM volumes WHERE name=?", (name,))
    emit(eng, "volume", "remove", name=name)

    def report(_func, path, exc_info) -> None:
        if not isinstance(exc_info[1], FileNotFoundError):
            log.warning(f"removing volume {name}: {path}: {exc_info[1]}")

    # After the record is gone: leftovers are unreachable and cleared if the name is used again.
    import shutil
    shutil.rmtree(eng.paths.volume(name), onerror=report)


# -- create -------------------------------------------------------------------------------------

@record
class VolumeCreateOptions:
    name: str | None = None            # None: 64 random hex digits
    driver: str = "local"
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    ignore_if_exists: bool = False     # return the existing volume instead of failing


def volume_create(eng: Engine, opts: VolumeCreateOptions = VolumeCreateOptions()) -> Volume:
    name = opts.name or secrets.token_hex(32)
    check_volume_name(name)
    if opts.driver != "local":
        raise InvalidArgument(f"volume {name} uses volume plugin {opts.driver} but it could not be retrieved: "
                              f"no volume plugin with name {opts.driver} available: required plugin missing")
    for key in opts.options:
        if key.lower() not in _LOCAL_OPTIONS:
            raise InvalidArgument(f"invalid mount option {key} for driver 'local': invalid argument")
        if key.lower() in _UNSUPPORTED_OPTIONS:
            raise InvalidArgument(f"volume option {key} is not supported by otter yet")
    try:
        return _create(eng, name, opts.labels, opts.options, anonymous=False, needs_copy_up=True)
    except AlreadyExists:
        if opts.ignore_if_exists:
            return get_volume(eng, name)
        raise


# -- list / inspect -------------------------------------------------------------------------------

def _volume_keys(users: dict[str, list[str]]):
    """`volume ls --filter` keys; `users` maps a volume to the containers using it."""

    from otter.core import filters as f
    return {
        "name": (lambda vol, v: re.search(v, vol.name) is not None, f.regex),   # Go's MatchString: unanchored
        "label": (lambda vol, v: f.labels_match(vol.labels, v), None),
        "driver": (lambda vol, v: vol.driver == v, None),
        "dangling": (lambda vol, v: (vol.name not in users) == (v == "true"), f.one_of("true", "false")),
    }


def volume_list(eng: Engine, filters: tuple[str, ...] = ()) -> list[Volume]:
    """Volumes sorted by name, those matching `filters` (name=REGEX, label=KEY[=VALUE],
    driver=NAME, dangling=true|false)."""
    from otter.core import filters as f
    users: dict[str, list[str]] = {}
    keys = _volume_keys(users)
    grouped = f.parse(filters, keys, "volume")
    vols = _all(eng)
    if "dangling" in grouped and vols:
        users.update(eng.volume_users())
    return [v for v in vols if f.matches(v, grouped, keys)]


def volume_document(vol: Volume) -> dict:
    """The `podman volume inspect` document (Podman 4.3.1 keys and order)."""
    doc = {"Name": vol.name, "Driver": vol.driver, "Mountpoint": vol.mountpoint,
           "CreatedAt": rfc3339_local(vol.created), "Labels": dict(vol.labels), "Scope": "local",
           "Options": dict(vol.options)}
    if vol.anonymous:
        doc["Anonymous"] = True     # Podman omits the key for named volumes
    # Podman chowns a new volume to the container's root user at first use, as it copies up;
    # both needs end together, so one flag stands for both.
    doc.update(MountCount=0, NeedsCopyUp=vol.needs_copy_up, NeedsChown=vol.needs_copy_up)
    return doc


def volume_inspect(eng: Engine, name: str) -> dict:
    vol = _lookup(eng, name)
    if vol is None:
        raise VolumeNotFound(f"inspecting object: no such volume {name}")
    return volume_document(vol)


# -- remove / prune -------------------------------------------------------------------------------

@record(frozen=False)
class VolumeRmReport:
    removed: list[str] = field(default_factory=list)
    errors: list[OtterError] = field(default_factory=list)


def volume_remove(eng: Engine, names: list[str], force: bool = False, all: bool = False) -> VolumeRmReport:
    """Remove volumes by name, or every volume (`all`). `force` removes the containers using a
    volume first, and ignores names that do not exist."""
    report = VolumeRmReport()
    targets = [v.name for v in _all(eng)] if all else list(names)
    users = eng.volume_users() if _has_store(eng) else {}
    for name in targets:
        if _lookup(eng, name) is None:
            if not force:
                report.errors.append(VolumeNotFound(f"no volume with name \"{name}\" found: no such volume"))
            continue
        ids = list(dict.fromkeys(users.get(name, ())))
        if ids:
            if not force:
                report.errors.append(InUse(f"volume {name} is being used by the following container(s): "
                                           f"{', '.join(ids)}: volume is being used"))
                continue
            from otter.engine.containers import remove_containers
            remove_containers(eng, ids, force=True, volumes=False)
            users = eng.volume_users()
        _delete(eng, name)
        report.removed.append(name)
    return report


def volume_prune(eng: Engine) -> list[str]:
    """Remove every volume no container uses; return their names."""
    vols = _all(eng)
    users = eng.volume_users() if vols else {}
    removed = []
    for vol in vols:
        if vol.name not in users:
            _delete(eng, vol.name)
            emit(eng, "volume", "prune", name=vol.name)
            removed.append(vol.name)
    return removed


def remove_anonymous(eng: Engine, names: list[str]) -> None:
    """Remove those of `names` that are anonymous volumes no container uses any more (`rm -v`,
    `--rm`: the container's record is already gone). Named volumes are never removed here."""
    if not names or not _has_store(eng):
        return
    users = eng.volume_users()
    for name in names:
        vol = _lookup(eng, name)
        if vol is not None and vol.anonymous and name not in users:
            _delete(eng, name)


# -- what containers need ------------------------------------------------------------------------

def _source_flags(path: str) -> frozenset[str]:
    """The nosuid/nodev/noexec flags of the filesystem holding a bind source, which the bind
    inherits unless the user chooses (Podman's statfs check, and its error)."""
    try:
        flags = os.statvfs(path).f_flag
    except OSError as e:
        raise InvalidArgument(f"statfs {path}: {(e.strerror or str(e)).lower()}") from None
    if not os.access(path, os.R_OK):
        # Rootless, host root's private files are not the user's to share with a container.
        raise InvalidArgument(f"{path}: permission denied: the bind mount source must be readable")
    return frozenset(name for name, bit in (("noexec", os.ST_NOEXEC), ("nosuid", os.ST_NOSUID),
                                            ("nodev", os.ST_NODEV)) if flags & bit)


def _record(req: MountRequest, processed: tuple[str, ...], source: str, vol: Volume | None) -> dict:
    """The inspect-shaped `Mounts` entry, as Podman 4.3.1 shows it: read-only-ness, propagation and
    relabelling have their own keys and leave `Options`. `Name`, `Driver` and `Anonymous` are a
    volume's; `Anonymous` (not in Podman's output) tells container removal which volumes go with it."""
    rec: dict = {"Type": req.type}
    if vol is not None:
        rec["Name"] = vol.name
    rec.update(Source=source, Destination=req.destination, Driver="local" if vol is not None else "",
               Mode="".join(opt for opt in processed if opt in ("z", "Z")),
               Options=[opt for opt in processed if opt not in ("rw", "ro", "z", "Z") and opt not in PROPAGATIONS],
               RW="ro" not in processed, Propagation=next(opt for opt in processed if opt in PROPAGATIONS))
    if vol is not None:
        rec["Anonymous"] = vol.anonymous
    return rec


def resolve_mounts(eng: Engine, requests: list[MountRequest],
                   image_volumes: list[str]) -> tuple[list[MountSpec], list[dict]]:
    """Turn a container's mount requests into runtime mounts and inspect records.

    Named volumes that do not exist are created; anonymous volumes are created for `-v /dst`
    requests and for the image's VOLUME paths no request covers. Tmpfs mounts have no record
    (Podman lists them under HostConfig.Tmpfs, not Mounts). Everything is checked before anything
    is created, and volumes created here are removed again if a later step fails.
    """
    check_duplicates(requests)
    covered = {req.destination for req in requests}
    wanted = list(requests) + [MountRequest("volume", "", dest)
                               for dest in dict.fromkeys(clean_destination(p) for p in image_volumes)
                               if dest not in covered]
    # Check first: bind sources exist (and what they pass on), named volumes are usable.
    inherited: dict[str, frozenset[str]] = {}
    for req in wanted:
        if req.type == "bind" and req.source not in inherited:
            inherited[req.source] = _source_flags(req.source)
    specs: list[MountSpec] = []
    records: list[dict] = []
    created: list[str] = []
    done: set[str] = set()
    try:
        for req in wanted:
            if req.destination in done:
                continue        # the same request repeated (check_duplicates allowed it)
            done.add(req.destination)
            if req.type == "tmpfs":
                specs.append(MountSpec(req.destination, "tmpfs", "tmpfs",
                                       runtime_options(process_options(req, NO_SOURCE_FLAGS))))
                continue
            if req.type == "bind":
                processed = process_options(req, inherited[req.source])
                specs.append(MountSpec(req.destination, "bind", req.source, runtime_options(processed)))
                records.append(_record(req, processed, req.source, None))
                continue
            vol = _lookup(eng, req.source) if req.source else None
            if vol is None:
                try:
                    # A volume made for a `nocopy` mount is not filled from the image later either.
                    vol = _create(eng, req.source or secrets.token_hex(32), {}, {}, anonymous=not req.source,
                                  needs_copy_up="nocopy" not in req.options)
                    created.append(vol.name)
                except AlreadyExists:
                    vol = get_volume(eng, req.source)   # another otter process created it meanwhile
            processed = process_options(req, NO_SOURCE_FLAGS)
            specs.append(MountSpec(req.destination, "bind", vol.mountpoint, runtime_options(processed)))
            records.append(_record(req, processed, vol.mountpoint, vol))
    except BaseException:
        for name in created:
            _delete(eng, name)
        raise
    return specs, records


def copy_up(eng: Engine, volume_name: str, image_rootfs: str, destination: str,
            root_owner: tuple[int, int] | None = None) -> None:
    """On a volume's first use, copy the image's content at `destination` into it if it is empty,
    preserving ownership, modes, times and symlinks; the volume directory takes the ownership and
    mode of the image's directory. Only the first use tries, whatever it finds (Podman's rule): the
    flag is cleared before copying, so a failed copy is not retried over what it left.

    `root_owner`: the on-disk ids of the container's root when it has its own user namespace.
    A volume the image has no directory for is given to it then, as Podman does, or the
    container's root could not write to it."""
    from otter.storage.vfs import copy_tree
    from otter.sys.safepath import resolve_in_root

    vol = get_volume(eng, volume_name)
    if not vol.needs_copy_up:
        return
    # One statement, so atomic: of two containers starting at once, one claims the copy.
    claimed = _conn(eng).execute("UPDATE volumes SET needs_copy_up=0 WHERE name=? AND needs_copy_up=1",
                                 (volume_name,)).rowcount == 1
    if not claimed or "nocopy" in vol.options:
        return
    source = resolve_in_root(image_rootfs, destination)
    if os.path.isdir(source) and not os.listdir(vol.mountpoint):
        copy_tree(source, vol.mountpoint)
    elif root_owner is not None and not os.listdir(vol.mountpoint):
        os.chown(vol.mountpoint, *root_owner)
