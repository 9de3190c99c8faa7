"""The mount flags of `run`/`create`: `-v/--volume`, `--mount` and `--tmpfs`, parsed as Podman 4.3.1 does.

Vocabulary:
  request      a `MountRequest`: one thing the user asked to see at a destination in the
               container. Pure data: this module reads no files; the engine checks sources
               and creates volumes (`otter.engine.volumes.resolve_mounts`).
  bind         a host path mounted into the container. With `-v`, a source starting with `/`
               or `.` is a bind source (a `.`-relative one is made absolute against the current
               directory); any other source is a volume name.
  volume       a named volume (`name:/dst`), or an anonymous one when the source is "" (`-v /dst`,
               `--mount type=volume` without a source). Names match `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
  tmpfs        a fresh memory filesystem at the destination; its source is "".
  options      the option words the user gave (`ro`, `nocopy`, `rshared`, `size=64k`), checked and
               kept in the order given. `process_options` later appends Podman's defaults for
               everything left unsaid.
  propagation  whether mount events cross between host and container: [r]private, [r]shared,
               [r]slave, [r]unbindable. Podman's default is rprivate.
  inherited    the nosuid/nodev/noexec flags a mount takes from where it comes from when the user
               does not choose: a bind takes its source filesystem's; a volume or tmpfs gets
               nosuid and nodev (`NO_SOURCE_FLAGS`), as in Podman.
  engine option  an option the engine acts on itself (z/Z relabel, U chown, [no]copy copy-up,
               notmpcopyup): recorded, never passed to the OCI runtime (`runtime_options`).

Errors are `InvalidArgument` with Podman 4.3.1's wording, checked against podman on this machine:
`invalid container path "ctr", must be an absolute path`, `invalid option type "bogus"`,
`/data: duplicate mount destination`, ...
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable

from otter import jsoncodec
from otter.core.names import NAME_PATTERN, valid_name
from otter.errors import InvalidArgument
from otter.record import record

PROPAGATIONS = frozenset({"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"})
ENGINE_OPTIONS = frozenset({"z", "Z", "U", "copy", "nocopy", "notmpcopyup"})
NO_SOURCE_FLAGS = frozenset({"nosuid", "nodev"})
MOUNT_TYPES = ("bind", "volume", "tmpfs")

# -v options of which only one per group may be given, each group with Podman's name for it.
_VOLUME_OPTION_GROUPS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"noexec", "exec"}), "'noexec' or 'exec'"),
    (frozenset({"nodev", "dev"}), "'nodev' or 'dev'"),
    (frozenset({"nosuid", "suid"}), "'nosuid' or 'suid'"),
    (frozenset({"rw", "ro"}), "'rw' or 'ro'"),
    (PROPAGATIONS, "'[r]shared', '[r]private', '[r]slave' or '[r]unbindable'"),
    (frozenset({"bind", "rbind"}), "'[r]bind'"),
    (frozenset({"z", "Z"}), "'z', 'Z', or 'O'"),
    (frozenset({"U"}), "'U'"),
    (frozenset({"copy", "nocopy"}), "'copy' or 'nocopy'"),
)
# Docker's macOS-only options: accepted and dropped, as Docker and Podman do.
_DROPPED_VOLUME_OPTIONS = frozenset({"cached", "delegated"})
# Podman options otter does not implement: refused by name rather than called unknown.
_UNSUPPORTED_VOLUME_OPTIONS = frozenset({"O", "idmap"})

# tmpfs options (the part before any "=") of which only one per group may be given.
_TMPFS_OPTION_GROUPS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"exec", "noexec"}), "only one of 'noexec' and 'exec' can be used"),
    (frozenset({"suid", "nosuid"}), "only one of 'nosuid' and 'suid' can be used"),
    (frozenset({"dev", "nodev"}), "only one of 'nodev' and 'dev' can be used"),
    (frozenset({"rw", "ro"}), "only one of 'rw' and 'ro' can be used"),
    (frozenset({"private", "rprivate", "slave", "rslave", "shared", "rshared"}),
     "only one root propagation mode can be used"),
    (frozenset({"size"}), "only one tmpfs size can be specified"),
    (frozenset({"mode"}), "only one tmpfs mode can be specified"),
    (frozenset({"tmpcopyup", "notmpcopyup"}), "the 'tmpcopyup' or 'notmpcopyup' option can only be set once"),
)
_TMPFS_REFUSED = {
    **dict.fromkeys(("z", "Z"), "the 'z' and 'Z' options are not allowed with tmpfs mounts"),
    **dict.fromkeys(("bind", "rbind"), "the 'bind' and 'rbind' options are not allowed with tmpfs mounts"),
}

_VOLUME_FORMAT = "incorrect volume format, should be [host-dir:]ctr-dir[:option]"
_MOUNT_FORMAT = ("incorrect mount format: should be --mount type=<bind|tmpfs|volume>,"
                 "[src=<host-dir|volume-name>,]target=<ctr-dir>[,options]")
_NEEDS_ARGUMENT = "must provide an argument for option"
_BAD_OPTION = "invalid mount option"
_DUPLICATE_OPTION = "duplicate mount option passed"
VOLUME_NAME_ERROR = f"running volume create option: names must match {NAME_PATTERN}: invalid argument"


@record
class MountRequest:
    type: str                        # "bind" | "volume" | "tmpfs"
    source: str                      # host path (bind), volume name ("" = anonymous volume), "" for tmpfs
    destination: str                 # absolute, cleaned path in the container
    options: tuple[str, ...] = ()    # as given and checked, e.g. ("ro",), ("rshared",), ("size=65536k", "mode=1777")
    read_only: bool = False


def _quote(text: str) -> str:
    """Go's %q for the strings users type (printable text in double quotes)."""
    return jsoncodec.dumps(text, ensure_ascii=False)


def clean_destination(path: str) -> str:
    """Go's path.Clean, which Podman applies to destinations: normpath, but a leading `//` is `/`."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def check_destination(path: str) -> None:
    if not path:
        raise InvalidArgument("container directory cannot be empty")
    if not path.startswith("/"):
        raise InvalidArgument(f"invalid container path {_quote(path)}, must be an absolute path")


def check_volume_name(name: str) -> None:
    if not valid_name(name):
        raise InvalidArgument(VOLUME_NAME_ERROR)


def _named_volume(name: str) -> str:
    # Podman only meets a bad name when it tries to create the volume; the wording says so.
    if not valid_name(name):
        raise InvalidArgument(f"creating named volume {_quote(name)}: {VOLUME_NAME_ERROR}")
    return name


def _volume_options(options: list[str]) -> tuple[str, ...]:
    """Check bind and volume options as Podman's ValidateVolumeOpts does."""
    kept: list[str] = []
    seen: set[frozenset[str]] = set()
    for opt in options:
        if opt in _DROPPED_VOLUME_OPTIONS:
            continue
        if opt in _UNSUPPORTED_VOLUME_OPTIONS:
            raise InvalidArgument(f"the {_quote(opt)} volume option is not supported by otter")
        group = next((g for g in _VOLUME_OPTION_GROUPS if opt in g[0]), None)
        if group is None:
            raise InvalidArgument(f"invalid option type {_quote(opt)}")
        if group[0] in seen:
            raise InvalidArgument(f"invalid options {_quote(', '.join(options))}, can only specify 1 {group[1]} option")
        seen.add(group[0])
        kept.append(opt)
    return tuple(kept)


def _tmpfs_options(options: list[str]) -> tuple[str, ...]:
    """Check tmpfs options as Podman's ProcessOptions does for a tmpfs."""
    seen: set[frozenset[str]] = set()
    for opt in options:
        key = opt.split("=", 1)[0]
        if key in _TMPFS_REFUSED:
            raise InvalidArgument(f"{_TMPFS_REFUSED[key]}: {_BAD_OPTION}")
        group = next((g for g in _TMPFS_OPTION_GROUPS if key in g[0]), None)
        if group is None:
            raise InvalidArgument(f"unknown mount option {_quote(opt)}: {_BAD_OPTION}")
        if group[0] in seen:
            raise InvalidArgument(f"{group[1]}: {_DUPLICATE_OPTION}")
        seen.add(group[0])
    return tuple(options)


def _request(kind: str, source: str, destination: str, options: tuple[str, ...]) -> MountRequest:
    return MountRequest(kind, source, clean_destination(destination), options, "ro" in options)


# -- -v/--volume ------------------------------------------------------------------------------

def parse_volume_flag(text: str) -> MountRequest:
    """`-v SRC:DST[:OPTS]` or `-v DST`: a bind mount, a named volume or an anonymous volume."""
    parts = text.split(":")
    if len(parts) > 3:
        raise InvalidArgument(f"{text}: {_VOLUME_FORMAT}")
    options = _volume_options(parts[2].split(",")) if len(parts) > 2 else ()
    if len(parts) == 1:
        source, destination = "", parts[0]
    else:
        source, destination = parts[0], parts[1]
        if not source:
            raise InvalidArgument("host directory cannot be empty")
    check_destination(destination)
    if source.startswith(("/", ".")):
        return _request("bind", os.path.abspath(source) if source.startswith(".") else source, destination, options)
    return _request("volume", source and _named_volume(source), destination, options)


# -- --mount ----------------------------------------------------------------------------------

class _MountFields:
    """What the key=value fields of one --mount say, checked as they are read."""

    def __init__(self, kind: str):
        self.kind = kind
        self.source: str | None = None
        self.destination = ""
        self.options: list[str] = []
        self.given: set[str] = set()   # option groups already set, to refuse a second setting

    def once(self, group: str, what: str) -> None:
        if group in self.given:
            raise InvalidArgument(f"cannot pass {what} more than once: {_NEEDS_ARGUMENT}")
        self.given.add(group)

    def read(self, token: str) -> None:
        key, has_value, value = token.partition("=")
        kind = self.kind

        def needs_value() -> None:
            if not has_value:
                raise InvalidArgument(f"{key}: {_NEEDS_ARGUMENT}")

        def boolean(what: str) -> bool:
            if not has_value or value.lower() == "true":
                return True
            if value.lower() == "false":
                return False
            raise InvalidArgument(f"{what} must be set to true or false, instead received {_quote(value)}: "
                                  f"{_NEEDS_ARGUMENT}")

        if key in ("readonly", "ro", "rw"):
            self.once("rw", "'readonly', 'ro', or 'rw' options")
            name = "ro" if key == "readonly" else key
            if boolean("'readonly', 'ro', or 'rw'"):
                self.options.append(name)
            elif name == "rw":
                self.options.append("ro")   # rw=false; ro=false is the default, rw
        elif key in ("nosuid", "suid", "nodev", "dev", "noexec", "exec"):
            positive = key.removeprefix("no")
            self.once(positive, f"'no{positive}' and '{positive}' options")
            self.options.append(key)
        elif key in ("src", "source"):
            if kind == "tmpfs":
                raise InvalidArgument("source is not supported with tmpfs mounts")
            needs_value()
            if not value:
                raise InvalidArgument(f"host directory cannot be empty: {_NEEDS_ARGUMENT}")
            self.source = value
        elif key in ("target", "dst", "destination"):
            needs_value()
            check_destination(value)
            self.destination = value
        elif key == "consistency":
            pass    # macOS-only; Docker and Podman ignore it
        elif kind != "tmpfs" and key in ("U", "chown"):
            self.once("U", "'U' or 'chown' option")
            if boolean("'U' or 'chown'"):
                self.options.append("U")
        elif kind == "bind" and key == "bind-propagation":
            needs_value()
            self.options.append(value)
        elif kind == "bind" and key == "bind-nonrecursive":
            self.options.append("bind")
        elif kind == "bind" and key == "relabel":
            if value not in ("private", "shared"):
                raise InvalidArgument(f"relabel mount option must be 'private' or 'shared': {_BAD_OPTION}")
            self.options.append("Z" if value == "private" else "z")
        elif kind == "volume" and key == "volume-nocopy":
            if boolean("'volume-nocopy'"):
                self.options.append("nocopy")
        elif kind == "tmpfs" and key in ("tmpfs-size", "tmpfs-mode"):
            needs_value()
            self.options.append(f"{key.removeprefix('tmpfs-')}={value}")
        elif kind == "tmpfs" and key in ("tmpcopyup", "notmpcopyup"):
            self.once("tmpcopyup", "'tmpcopyup' and 'notmpcopyup' options")
            self.options.append(key)
        else:
            raise InvalidArgument(f"{key}: {_BAD_OPTION}")


def parse_mount_flag(text: str) -> MountRequest:
    """`--mount type=bind|volume|tmpfs,src=...,dst=...[,option...]`, one CSV record as in Podman."""
    import csv
    try:
        records = list(csv.reader([text]))
    except csv.Error:
        raise InvalidArgument(_MOUNT_FORMAT) from None
    tokens = records[0] if records else []
    kind = None
    rest = []
    for token in tokens:
        key, sep, value = token.partition("=")
        if kind is None and key == "type" and sep and "=" not in value:
            kind = value
        else:
            rest.append(token)
    if kind is None:
        raise InvalidArgument(_MOUNT_FORMAT)
    if kind not in MOUNT_TYPES:
        raise InvalidArgument(f"invalid filesystem type {_quote(kind)}")
    fields = _MountFields(kind)
    for token in rest:
        fields.read(token)
    if not fields.destination:
        raise InvalidArgument("must set volume destination")
    if kind == "tmpfs":
        return _request("tmpfs", "", fields.destination, _tmpfs_options(fields.options))
    options = _volume_options(fields.options)
    if kind == "volume":
        return _request("volume", _named_volume(fields.source) if fields.source else "", fields.destination, options)
    # A bind without a source mounts the same path from the host; a relative source is the cwd's.
    return _request("bind", os.path.abspath(fields.source or fields.destination), fields.destination, options)


# -- --tmpfs ------------------------------------------------------------------------------------

def parse_tmpfs_flag(text: str) -> MountRequest:
    """`--tmpfs /dst[:opts]`. Podman reads the part after the first ':' and ignores any further ones."""
    parts = text.split(":")
    check_destination(parts[0])
    options = _tmpfs_options(parts[1].split(",")) if len(parts) > 1 else ()
    return _request("tmpfs", "", parts[0], options)


# -- checks across requests, and the options the runtime gets ------------------------------------

def check_duplicates(requests: Iterable[MountRequest]) -> None:
    """Refuse two different mounts at one destination. The same request repeated is allowed (Podman
    drops the repeat), so callers skip a destination they have already handled."""
    seen: dict[str, MountRequest] = {}
    for req in requests:
        first = seen.setdefault(req.destination, req)
        if first != req:
            raise InvalidArgument(f"{req.destination}: duplicate mount destination")


def process_options(request: MountRequest, inherited: frozenset[str]) -> tuple[str, ...]:
    """The request's options followed by Podman's defaults for what they leave unsaid, in Podman's
    order: rw, rprivate, the `inherited` nosuid/nodev/noexec flags, then rbind (bind and volume)
    or tmpcopyup (tmpfs: copy the image's files at the destination into it). `notmpcopyup` only
    stops that default."""
    given = {opt.split("=", 1)[0] for opt in request.options}
    out = list(request.options)
    if not given & {"rw", "ro"}:
        out.append("rw")
    if not given & PROPAGATIONS:
        out.append("rprivate")
    for flag in ("noexec", "nosuid", "nodev"):
        if flag in inherited and not given & {flag, flag.removeprefix("no")}:
            out.append(flag)
    if request.type == "tmpfs":
        if not given & {"tmpcopyup", "notmpcopyup"}:
            out.append("tmpcopyup")
    elif not given & {"bind", "rbind"}:
        out.append("rbind")
    return tuple(out)


def runtime_options(processed: tuple[str, ...]) -> tuple[str, ...]:
    """What the OCI runtime gets: processed options without the engine's own."""
    return tuple(opt for opt in processed if opt not in ENGINE_OPTIONS)
