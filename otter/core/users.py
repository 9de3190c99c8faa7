"""Resolving a `--user` value against the container's own /etc/passwd and /etc/group.

`user` is `name`, `uid`, `name:group`, `uid:gid` (or empty for root). Files are read
through `resolve_in_root`, so a symlinked /etc/passwd cannot point at the host's.
"""

from __future__ import annotations

from otter.errors import InvalidArgument
from otter.record import record
from otter.sys.safepath import resolve_in_root


@record
class ResolvedUser:
    uid: int
    gid: int
    additional_gids: tuple[int, ...]
    home: str


def _read(rootfs: str, path: str) -> list[list[str]]:
    try:
        with open(resolve_in_root(rootfs, path), encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n").split(":") for line in f if line.strip() and not line.startswith("#")]
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError):
        return []


def missing_entries(rootfs: str, name: str, uid: int, gid: int, gecos: str, home: str,
                    group: str) -> tuple[str, str]:
    """The /etc/passwd and /etc/group lines that make a host user and group known in the
    container, as Podman's keep-id writes them; "" where the file already has the user
    (by name or uid) or the group (by name or gid)."""
    passwd = [e for e in _read(rootfs, "/etc/passwd") if len(e) >= 3]
    groups = [e for e in _read(rootfs, "/etc/group") if len(e) >= 3]
    user_line = "" if any(e[0] == name or e[2] == str(uid) for e in passwd) \
        else f"{name}:*:{uid}:{gid}:{gecos}:{home}:/bin/sh\n"
    group_line = "" if any(e[0] == group or e[2] == str(gid) for e in groups) else f"{group}:x:{gid}:{name}\n"
    return user_line, group_line


def resolve_user(rootfs: str, user: str) -> ResolvedUser:
    name, _, group = (user or "0").partition(":")
    passwd = [e for e in _read(rootfs, "/etc/passwd") if len(e) >= 7]
    groups = [e for e in _read(rootfs, "/etc/group") if len(e) >= 3]
    entry = None
    if name.isdigit():
        uid = int(name)
        entry = next((e for e in passwd if e[2] == name), None)
    else:
        entry = next((e for e in passwd if e[0] == name), None)
        if entry is None:
            raise InvalidArgument(f"unable to find user {name}: no matching entries in passwd file")
        uid = int(entry[2])
    gid = int(entry[3]) if entry and entry[3].isdigit() else 0
    home = entry[5] if entry else "/"
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            g = next((e for e in groups if e[0] == group), None)
            if g is None:
                raise InvalidArgument(f"unable to find group {group}: no matching entries in group file")
            gid = int(g[2])
    username = entry[0] if entry else None
    extra = tuple(sorted({int(g[2]) for g in groups if username and username in g[3].split(",")
                          and g[2].isdigit() and int(g[2]) != gid}))
    return ResolvedUser(uid, gid, extra, home)
