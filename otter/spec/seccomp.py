"""Convert a moby-style seccomp profile into the OCI `linux.seccomp` object runc expects.

Vocabulary:
  profile      the moby-style JSON that containers-common installs as
               `/usr/share/containers/seccomp.json` (and that `--security-opt seccomp=FILE`
               names): `defaultAction`, `defaultErrnoRet`, `archMap` or `architectures`, and
               `syscalls`, a list of *groups*.
  group        one entry of `syscalls`: `names` (or a single `name`), `action`, optional
               `errnoRet` and `args`, plus `includes` / `excludes` filters, each holding
               `arches` and `caps`.
  arch         an architecture as libseccomp names it ("amd64", "x86", "arm64", ...). These
               are the spellings the filters' `arches` lists use.
  bounding     the container's capability bounding set, as `CAP_*` names. The caps filters
               are evaluated against it, so the profile follows `--cap-add/--cap-drop`.
  rule         one entry of the resulting OCI `syscalls` list.

The conversion reproduces what Podman 4.3.1 does (containers/common v0.50.1 `setupSeccomp`),
so the result is byte-for-byte what Podman hands to runc once serialised with `json.dumps`:

* `architectures` is the `archMap` entry of the native arch followed by its sub-arches, or the
  profile's own `architectures` list; except that SCMP_ARCH_X32 is left out when the kernel has
  no x32 ABI (see `_without_dead_arches`);
* a group is dropped when its `excludes.arches` holds the arch, its `excludes.caps` meets the
  bounding set, its non-empty `includes.arches` lacks the arch, or one of its `includes.caps`
  is missing from the bounding set;
* each kept group becomes `{names, action, [errnoRet], [args]}`, an arg's `valueTwo` only
  when non-zero (the OCI field is `omitempty`). `minKernel`, `comment` and the symbolic
  `errno` are ignored, as in Podman.

Deliberate differences: a profile without `defaultAction` is rejected instead of being treated
as "seccomp disabled" (disabling is spelled `seccomp=unconfined`), and a group without any
syscall name is rejected instead of being skipped. Both are malformed profiles.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable

from otter import jsoncodec
from otter.errors import InvalidArgument
from otter.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

DEFAULT_PROFILE = "/usr/share/containers/seccomp.json"

# `uname -m` -> libseccomp's name for the native arch (the spelling used in profile filters).
_MACHINE_TO_ARCH = {
    "x86_64": "amd64",
    "i386": "x86",
    "i686": "x86",
    "aarch64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "mips64": "mips64",
}

# libseccomp arch name -> the SCMP_ARCH_* key that `archMap` entries are indexed by.
_ARCH_TO_SCMP = {
    "amd64": "SCMP_ARCH_X86_64",
    "x86": "SCMP_ARCH_X86",
    "arm64": "SCMP_ARCH_AARCH64",
    "arm": "SCMP_ARCH_ARM",
    "ppc64le": "SCMP_ARCH_PPC64LE",
    "s390x": "SCMP_ARCH_S390X",
    "riscv64": "SCMP_ARCH_RISCV64",
    "mips64": "SCMP_ARCH_MIPS64",
    "mips64n32": "SCMP_ARCH_MIPS64N32",
    "mipsel64": "SCMP_ARCH_MIPSEL64",
    "mipsel64n32": "SCMP_ARCH_MIPSEL64N32",
}


class InvalidProfile(InvalidArgument, ValueError):
    """A seccomp profile that cannot be read or converted."""


def native_arch() -> str:
    """The running kernel's arch in libseccomp spelling ("amd64" on x86_64)."""
    machine = os.uname().machine
    return _MACHINE_TO_ARCH.get(machine, machine)


def convert_profile(profile: dict[str, Any], bounding_caps: Iterable[str],
                    arch: str | None = None) -> dict[str, Any]:
    """Return the OCI `linux.seccomp` object for `profile` and the container's bounding set.

    `arch` defaults to the native arch; tests pass it to exercise the arch filters.
    """
    if not isinstance(profile, dict):
        raise InvalidProfile("seccomp profile must be a JSON object")
    default_action = profile.get("defaultAction")
    if not default_action:
        raise InvalidProfile("seccomp profile has no defaultAction")
    arch = arch or native_arch()
    bounding = set(bounding_caps)

    # Key order follows the runtime-spec Go struct so json.dumps matches Podman's output.
    result: dict[str, Any] = {"defaultAction": default_action}
    if profile.get("defaultErrnoRet") is not None:
        result["defaultErrnoRet"] = profile["defaultErrnoRet"]
    architectures = _architectures(profile, arch)
    if architectures:
        result["architectures"] = architectures
    rules = [_rule(group) for group in profile.get("syscalls") or [] if _applies(group, arch, bounding)]
    if rules:
        result["syscalls"] = rules
    return result


def load_profile(path: str) -> dict[str, Any]:
    """Read and parse the moby-style profile at `path`."""
    try:
        with open(path, encoding="utf-8") as f:
            return jsoncodec.load(f)
    except OSError as exc:
        raise InvalidProfile(f"cannot read seccomp profile {path}: {exc.strerror}") from exc
    except jsoncodec.DecodeError as exc:
        raise InvalidProfile(f"seccomp profile {path} is not valid JSON: {exc}") from exc


@functools.lru_cache(maxsize=1)
def _default_profile() -> dict[str, Any]:
    # Parsed once per process: every container built by one CLI invocation shares it, and
    # the converted result is not cached because it depends on the bounding set.
    return load_profile(DEFAULT_PROFILE)


def load_default(bounding_caps: Iterable[str], cache_dir: str | None = None) -> dict[str, Any]:
    """`linux.seccomp` from containers-common's default profile for this bounding set.

    With `cache_dir`, a conversion is kept there and reused while the profile file, the
    kernel and the bounding set are the same: parsing and converting the 20 kB profile took
    about 3 ms of every container start, reading the result back 0.2 ms."""
    caps = sorted(set(bounding_caps))
    if cache_dir is None:
        return convert_profile(_default_profile(), caps)
    import zlib
    try:
        st = os.stat(DEFAULT_PROFILE)
    except OSError:
        return convert_profile(_default_profile(), caps)   # which reports the missing file
    key = f"{st.st_mtime_ns}:{st.st_size}:{os.uname().release}:{native_arch()}:{','.join(caps)}"
    path = os.path.join(cache_dir, f"default-{zlib.crc32(key.encode()):08x}.json")
    try:
        with open(path, encoding="utf-8") as f:
            cached = jsoncodec.load(f)
        if cached.get("key") == key:
            return cached["seccomp"]
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    result = convert_profile(_default_profile(), caps)
    os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        jsoncodec.dump({"key": key, "seccomp": result}, f)
    os.rename(tmp, path)
    return result


def _architectures(profile: dict[str, Any], arch: str) -> list[str]:
    explicit = profile.get("architectures") or []
    arch_map = profile.get("archMap") or []
    if explicit and arch_map:
        raise InvalidProfile("seccomp profile specifies both 'architectures' and 'archMap'")
    if explicit:
        return _without_dead_arches(explicit)
    scmp_arch = _ARCH_TO_SCMP.get(arch)
    for entry in arch_map:
        if scmp_arch is not None and entry.get("architecture") == scmp_arch:
            return _without_dead_arches([scmp_arch, *(entry.get("subArchitectures") or [])])
    # No entry for this arch: leave the list empty and let libseccomp use the native arch.
    return []


def _without_dead_arches(architectures: list[str]) -> list[str]:
    """Drop SCMP_ARCH_X32 when the kernel has no x32 ABI (Debian's and this host's kernels).

    Why: every extra arch makes runc compile the whole filter once more; x32 costs about 8 ms
    of each container start here. What changes: nothing a container can observe, beyond the
    errno. An x32 system call already fails with ENOSYS on such a kernel, and without the
    arch in the filter it meets the filter's bad-arch action instead. Podman passes the list
    unchanged.
    """
    if "SCMP_ARCH_X32" not in architectures:
        return list(architectures)
    from otter.sys.kernel import x32_abi_enabled
    if x32_abi_enabled():
        return list(architectures)
    return [a for a in architectures if a != "SCMP_ARCH_X32"]


def _applies(group: dict[str, Any], arch: str, bounding: set[str]) -> bool:
    includes = group.get("includes") or {}
    excludes = group.get("excludes") or {}
    if arch in (excludes.get("arches") or []):
        return False
    if bounding.intersection(excludes.get("caps") or []):
        return False
    include_arches = includes.get("arches") or []
    if include_arches and arch not in include_arches:
        return False
    return all(cap in bounding for cap in includes.get("caps") or [])


def _rule(group: dict[str, Any]) -> dict[str, Any]:
    name = group.get("name")
    names = group.get("names") or []
    if name and names:
        raise InvalidProfile("seccomp profile group specifies both 'name' and 'names'")
    if not name and not names:
        raise InvalidProfile("seccomp profile group has no syscall names")
    rule: dict[str, Any] = {"names": [name] if name else list(names), "action": group.get("action")}
    if group.get("errnoRet") is not None:
        rule["errnoRet"] = group["errnoRet"]
    args = [_arg(arg) for arg in group.get("args") or []]
    if args:
        rule["args"] = args
    return rule


def _arg(arg: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {"index": arg.get("index", 0), "value": arg.get("value", 0)}
    if arg.get("valueTwo"):
        converted["valueTwo"] = arg["valueTwo"]
    converted["op"] = arg.get("op")
    return converted
