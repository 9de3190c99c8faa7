"""Containers with a user namespace of their own (`--uidmap`, `--gidmap`, `--userns=keep-id`):
what the engine adds when it starts and removes them.

Vocabulary (`core.userns` defines the mappings, `storage.idmap` the shifted layers):
  mapped root   the host id that container root maps to. It owns the snapshot's own
                directories (shifted at create) and the files otter binds into the container
                from the bundle (hosts, hostname, ...), which it could not read otherwise.
  keep-id user  the rootless user, made known in the container's /etc/passwd and /etc/group
                as Podman does: lines appended to the container's own files, or, for a
                read-only root filesystem, to copies in the bundle bound over them.
"""

from __future__ import annotations

import os

from otter.core.container import Container, ContainerConfig
from otter.core.userns import from_strings, user_id
from otter.engine.containers import states
from otter.engine.context import Engine
from otter.errors import InvalidArgument
from otter.record import TYPE_CHECKING
from otter.storage.idmap import ShiftedLayers, mapping_key
from otter.storage.idmap import mounts as idmapped_mounts
from otter.sys.idmap import IDMap, own_maps, to_container, to_host

if TYPE_CHECKING:
    from otter.core.users import ResolvedUser
    from otter.spec.runtime import MountSpec
    from otter.storage.snapshot import Mount


def maps(cfg: ContainerConfig) -> tuple[tuple[IDMap, ...], tuple[IDMap, ...]]:
    return from_strings(cfg.uid_map), from_strings(cfg.gid_map)


# The kernel's overflow id: what an id outside the mapping is seen as inside the container.
OVERFLOW_ID = 65534


def archive_ids(cfg: ContainerConfig):
    """For archives of the container's files (`commit`, `export`, `diff`, `cp` to a tar): on-disk
    (uid, gid) -> the ids the container sees, as `storage.diff.TarStream` takes them."""
    uids, gids = maps(cfg)

    def translate(uid: int, gid: int) -> tuple[int, int]:
        inside_uid, inside_gid = to_container(uids, uid), to_container(gids, gid)
        return (OVERFLOW_ID if inside_uid is None else inside_uid, OVERFLOW_ID if inside_gid is None else inside_gid)
    return translate


def host_owner(cfg: ContainerConfig, uid: int, gid: int) -> tuple[int, int]:
    """The on-disk ids of a file the container sees as owned by uid:gid (`cp` into it)."""
    uids, gids = maps(cfg)
    host_uid, host_gid = to_host(uids, uid), to_host(gids, gid)
    if host_uid is None or host_gid is None:
        raise InvalidArgument(f"{uid}:{gid} is not mapped in the container's user namespace")
    return host_uid, host_gid


def rootfs_mounts(eng: Engine, ctr: Container, chain: list[str]) -> "list[Mount]":
    """The mounts of the container's root filesystem, its layers seen through its mapping."""
    uids, gids = maps(ctr.config)
    return idmapped_mounts(eng.snapshotter, ctr.id, chain, uids, gids, eng.rootless)


def add_keep_id_user(cfg: ContainerConfig, rootfs: str, bundle: str) -> "list[MountSpec]":
    """Give the keep-id user and group entries in the container (see "keep-id user"); return
    the bind mounts that carry them when the root filesystem is read-only."""
    import grp
    import pwd

    from otter.core.users import missing_entries
    from otter.spec.runtime import MountSpec
    from otter.sys.safepath import resolve_in_root
    from otter.sys.userns import rootless_uid
    uids, gids = maps(cfg)
    real_uid, real_gid = rootless_uid() or 0, user_id(own_maps("gid"))
    pw = pwd.getpwuid(real_uid)
    try:
        group = grp.getgrgid(real_gid).gr_name
    except KeyError:
        group = pw.pw_name
    # Podman: the user's home when it is mounted into the container, else the working directory.
    mounted = {m["destination"] for m in cfg.runtime_mounts}
    home = pw.pw_dir if pw.pw_dir in mounted else cfg.workdir or "/"
    lines = missing_entries(rootfs, pw.pw_name, to_container(uids, 0), to_container(gids, 0),
                            pw.pw_gecos, home, group)
    binds = []
    for path, line in zip(("/etc/passwd", "/etc/group"), lines):
        if not line:
            continue
        target = resolve_in_root(rootfs, path)
        if cfg.read_only:
            try:
                with open(target) as f:
                    line = f.read() + line
            except FileNotFoundError:
                pass
            target = os.path.join(bundle, os.path.basename(path))
            binds.append(MountSpec(path, "bind", target, ("bind", "rprivate")))
        with open(target, "w" if cfg.read_only else "a") as f:
            f.write(line)
    return binds


def hand_over(cfg: ContainerConfig, rootfs: str, bundle: str, mounts: "list[MountSpec]",
              user: "ResolvedUser") -> None:
    """Refuse a process user the mapping lacks (runc would fail less clearly); let mapped
    root reach the root filesystem and the bundle, and give it the bundle and the files
    bound from there, as Podman does with its userdata directory.

    runc mounts the root filesystem and the bind mounts from inside the new user namespace,
    where host root's directories are "other": they need search permission."""
    uids, gids = maps(cfg)
    if to_host(uids, user.uid) is None:
        raise InvalidArgument(f"container uses ID mappings ({', '.join(cfg.uid_map)}), but doesn't map UID {user.uid}")
    if to_host(gids, user.gid) is None:
        raise InvalidArgument(f"container uses ID mappings ({', '.join(cfg.gid_map)}), but doesn't map GID {user.gid}")
    root = (to_host(uids, 0), to_host(gids, 0))
    os.chown(bundle, *root)
    for m in mounts:
        if m.type == "bind" and os.path.dirname(m.source) == bundle:
            os.chown(m.source, *root)
    _make_searchable(os.path.dirname(rootfs), uids, gids)
    _make_searchable(os.path.dirname(bundle), uids, gids)


def _make_searchable(path: str, uids: tuple[IDMap, ...], gids: tuple[IDMap, ...]) -> None:
    """Let container root search `path` and the directories above it (Podman's
    makeAccessible, narrowed): add o+x where it lacks it, except to directories whose owner
    and group the container maps (its root's capabilities then cover them). A directory we
    may not change is left as it is: runc then reports what it could not reach."""
    while path != "/":
        st = os.stat(path)
        mapped = to_container(uids, st.st_uid) is not None and to_container(gids, st.st_gid) is not None
        if not mapped and not st.st_mode & 0o001:
            try:
                os.chmod(path, (st.st_mode & 0o7777) | 0o001)
            except PermissionError:
                pass
        path = os.path.dirname(path)


def collect(eng: Engine) -> None:
    """Remove the shifted layers no container needs any more (after a container or an image
    went). The container records are read under the shifted layers' lock, so a container
    being started, which makes its layers under that lock, is always counted."""
    shifted = ShiftedLayers(eng.snapshotter, eng.paths)
    if not os.path.isdir(shifted.root):
        return
    with shifted.lock():
        needed: set[str] = set()
        for ctr in states(eng).list():
            if ctr.config.uid_map:
                rec = eng.images.get(ctr.config.image_id)
                key = mapping_key(*maps(ctr.config))
                needed.update(shifted.layer_id(key, layer)
                              for layer in eng.layers.chain_keys(rec.top_layer if rec else None))
        shifted.collect(needed)
