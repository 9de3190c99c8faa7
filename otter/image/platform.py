"""The host's OCI platform and matching of index entries against a wanted platform."""

from __future__ import annotations

import os

from otter.record import TYPE_CHECKING

if TYPE_CHECKING:
    from otter.spec.image import Platform

_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm", "i686": "386",
           "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def go_arch(machine: str | None = None) -> str:
    """`uname -m` -> Go's GOARCH, the architecture names OCI and Podman use."""
    machine = machine or os.uname().machine
    return _GOARCH.get(machine, machine)


def host_platform() -> "Platform":
    from otter.spec.image import Platform
    machine = os.uname().machine
    variant = {"armv7l": "v7", "armv6l": "v6"}.get(machine)
    return Platform(architecture=go_arch(machine), os="linux", variant=variant)


def matches(candidate: Platform, want: Platform) -> bool:
    if candidate.os != want.os or candidate.architecture != want.architecture:
        return False
    return want.variant is None or candidate.variant in (None, want.variant)
