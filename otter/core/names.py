"""Names the user gives to containers and volumes.

Podman accepts a name that matches `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$` (Go's regexp, so a trailing
newline does not match) and prints the pattern in its error.
"""

from __future__ import annotations

from otter.errors import InvalidArgument

NAME_PATTERN = "[a-zA-Z0-9][a-zA-Z0-9_.-]*"

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_REST = _ALNUM | frozenset("_.-")


def valid_name(name: str) -> bool:
    """Whether `name` matches NAME_PATTERN in full."""
    return bool(name) and name[0] in _ALNUM and all(c in _REST for c in name)


def check_container_name(name: str) -> None:
    if not valid_name(name):
        raise InvalidArgument(f"container name {name!r} is invalid: names must match {NAME_PATTERN}")
