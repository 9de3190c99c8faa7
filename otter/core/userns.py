"""A container's user namespace: `--userns`, `--uidmap` and `--gidmap`, as Podman 4.3 reads them.

Vocabulary:
  host id      an id of the namespace otter runs in: a real host id as root; rootless an id
               of otter's pause namespace (engine.userns), where 0 is the user and 1..N are
               the user's subordinate ids. Rootless `--uidmap 0:1:1000` therefore maps
               container root to the user's first subordinate id, as Podman documents.
  available    the host ids otter may hand on: those its own namespace maps
               (/proc/self/uid_map, gid_map). Every host id of a mapping must be available.
  mode         `--userns`: `host` (or empty, the default): no namespace of the container's
               own; `keep-id[:uid=U,gid=G]` (rootless only): a namespace where the user keeps
               their uid and gid (or becomes U:G), container root is the first subordinate
               id, and the rest of the subordinate ids follow; explicit `--uidmap`/`--gidmap`:
               a namespace with exactly those maps. Inspect calls both `private`, as Podman.
  default user keep-id also runs the container as the user (`U:G`) unless `--user` or the
               image says otherwise, and gives the user an /etc/passwd and /etc/group entry.

One of `--uidmap`/`--gidmap` alone stands for both, as in Podman.
"""

from __future__ import annotations

from otter.errors import InvalidArgument
from otter.record import record
from otter.sys.idmap import IDMap, own_maps, to_host

MAX_ID = 2**32 - 2          # (uid_t)-1 is "no id"
USERNS_MODES = ("host", "keep-id", "auto", "nomap", "private", "ns", "container")


@record
class Userns:
    mode: str                              # "" (host), "keep-id" or "private"
    uid_maps: tuple[IDMap, ...] = ()
    gid_maps: tuple[IDMap, ...] = ()
    user: str = ""                         # keep-id's default process user, "UID:GID"

    @property
    def private(self) -> bool:
        return bool(self.uid_maps)


def parse_map(text: str, kind: str) -> IDMap:
    """`CONTAINER:HOST:SIZE`, three unsigned 32-bit integers; `kind` is "UID" or "GID"."""
    parts = text.split(":")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and int(p) <= 2**32 - 1 for p in parts):
        raise InvalidArgument(f'initializing ID mappings: {kind} setting is malformed expected '
                              f'["uint32:uint32:uint32"]: ["{text}"]')
    m = IDMap(*(int(p) for p in parts))
    if m.size == 0:
        raise InvalidArgument(f"invalid {kind} mapping {text}: the size must be at least 1")
    if m.container_id + m.size - 1 > MAX_ID or m.host_id + m.size - 1 > MAX_ID:
        raise InvalidArgument(f"invalid {kind} mapping {text}: it reaches beyond the largest ID {MAX_ID}")
    return m


def _overlap(a_start: int, a_size: int, b_start: int, b_size: int) -> bool:
    return a_start < b_start + b_size and b_start < a_start + a_size


def check_maps(maps: tuple[IDMap, ...], available: tuple[IDMap, ...], kind: str) -> None:
    """Refuse maps that overlap (on either side), leave container root unmapped, or use host
    ids otter's own namespace does not have."""
    for i, m in enumerate(maps):
        for other in maps[:i]:
            if _overlap(m.container_id, m.size, other.container_id, other.size) or \
                    _overlap(m.host_id, m.size, other.host_id, other.size):
                raise InvalidArgument(f"the specified UID and/or GID mapping {m} conflicts with other mappings: "
                                      "invalid mappings specified")
    if to_host(maps, 0) is None:
        raise InvalidArgument("container ID 0 cannot be mapped to a host ID")
    for m in maps:
        if not _covered(m.host_id, m.size, available):
            ranges = ", ".join(f"{a.container_id}-{a.container_id + a.size - 1}" for a in available)
            raise InvalidArgument(f"{kind} mapping {m} uses host IDs {m.host_id}-{m.host_id + m.size - 1}, "
                                  f"but only {ranges} are available")


def _covered(start: int, size: int, available: tuple[IDMap, ...]) -> bool:
    """Whether ids start..start+size-1 all lie in the inside ranges of `available`."""
    end = start + size
    for a in sorted(available, key=lambda a: a.container_id):
        if a.container_id <= start < a.container_id + a.size:
            start = a.container_id + a.size
            if start >= end:
                return True
    return False


def keep_id_maps(container_id: int, available: tuple[IDMap, ...]) -> tuple[IDMap, ...]:
    """keep-id for one kind of id: the user (otter's id 0) becomes `container_id`, container
    ids below it come from the subordinate ids 1.., and the subordinate ids above it keep
    their number (Podman's GetKeepIDMapping)."""
    subordinate = sum(a.size for a in available) - 1
    maps = []
    if subordinate > 0:
        maps.append(IDMap(0, 1, min(container_id, subordinate)))
    maps.append(IDMap(container_id, 0, 1))
    if subordinate > container_id:
        maps.append(IDMap(container_id + 1, container_id + 1, subordinate - container_id))
    return tuple(m for m in maps if m.size > 0)


def user_id(available: tuple[IDMap, ...]) -> int:
    """Rootless, otter's id 0 is the user: the real id it maps to is the user's uid (gid)."""
    return next(a.host_id for a in available if a.container_id == 0)


def _keep_id_options(text: str) -> dict[str, int]:
    options: dict[str, int] = {}
    for opt in filter(None, text.split(",")):
        key, sep, value = opt.partition("=")
        if key not in ("uid", "gid") or not sep or not value.isdigit() or int(value) > MAX_ID:
            raise InvalidArgument(f"unknown option specified: {opt!r}")
        options[key] = int(value)
    return options


def resolve(mode: str | None, uidmaps: tuple[str, ...], gidmaps: tuple[str, ...], rootless: bool) -> Userns:
    """The user namespace a container asks for; raises InvalidArgument for any bad value."""
    if mode is not None and (uidmaps or gidmaps):
        raise InvalidArgument("--userns and --uidmap/--gidmap/--subuidname/--subgidname are mutually exclusive")
    name, _, arg = (mode or "").partition(":")
    if name in ("", "host"):
        if not (uidmaps or gidmaps):
            return Userns("")
        uids = tuple(parse_map(t, "UID") for t in uidmaps)
        gids = tuple(parse_map(t, "GID") for t in gidmaps)
        uids, gids = uids or gids, gids or uids
        check_maps(uids, own_maps("uid"), "UID")
        check_maps(gids, own_maps("gid"), "GID")
        return Userns("private", uids, gids)
    if name == "keep-id":
        if not rootless:
            raise InvalidArgument("keep-id is only supported in rootless mode")
        options = _keep_id_options(arg)
        own_uids, own_gids = own_maps("uid"), own_maps("gid")
        uid, gid = options.get("uid", user_id(own_uids)), options.get("gid", user_id(own_gids))
        return Userns("keep-id", keep_id_maps(uid, own_uids), keep_id_maps(gid, own_gids), f"{uid}:{gid}")
    if name in USERNS_MODES:
        raise InvalidArgument(f"--userns={mode} is not supported yet: use host, keep-id or --uidmap/--gidmap")
    raise InvalidArgument(f"unrecognized namespace mode {mode} passed")


def from_strings(values: list[str]) -> tuple[IDMap, ...]:
    """Maps as a container record keeps them (`CONTAINER:HOST:SIZE` strings)."""
    return tuple(IDMap(*(int(v) for v in text.split(":"))) for text in values)
