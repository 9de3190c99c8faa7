"""`--filter KEY=VALUE`, shared by every listing (images, ps, volume ls, events).

Vocabulary:
  filter    one `KEY=VALUE` flag. Filters are grouped by key: the values of one key are
            alternatives (any may match) and different keys must all match, as Docker and
            Podman >= 4.4 do.
  key       a name the listing declares in its `Keys` table, with the predicate
            `(object, value) -> bool` that tests one value and an optional `check(key, value)`
            that refuses a malformed value up front (raising InvalidArgument).

Error messages are Podman's (`"bogus" is an invalid volume filter`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from otter.errors import InvalidArgument

Predicate = Callable[[object, str], bool]
Keys = dict[str, "tuple[Predicate, Callable[[str, str], None] | None]"]


def parse(filters: Iterable[str], keys: Keys, what: str) -> dict[str, list[str]]:
    """Group `filters` by key, refusing unknown keys and malformed values."""
    grouped: dict[str, list[str]] = {}
    for text in filters:
        key, sep, value = text.partition("=")
        if not sep:
            raise InvalidArgument(f"filter input must be in the form of filter=value: {text} is invalid")
        if key not in keys:
            raise InvalidArgument(f'"{key}" is an invalid {what} filter')
        check = keys[key][1]
        if check is not None:
            check(key, value)
        grouped.setdefault(key, []).append(value)
    return grouped


def matches(obj: object, grouped: dict[str, list[str]], keys: Keys) -> bool:
    return all(any(keys[key][0](obj, value) for value in values) for key, values in grouped.items())


def labels_match(labels: dict | None, spec: str) -> bool:
    """`label=KEY` (present) or `label=KEY=VALUE` (equal)."""
    key, has_value, value = spec.partition("=")
    labels = labels or {}
    return key in labels and (not has_value or labels[key] == value)


def one_of(*allowed: str) -> Callable[[str, str], None]:
    def check(key: str, value: str) -> None:
        if value not in allowed:
            raise InvalidArgument(f'"{value}" is not a valid value for the "{key}" filter - '
                                  f'must be {" or ".join(allowed)}')
    return check


def regex(key: str, value: str) -> None:
    import re
    try:
        re.compile(value)
    except re.error as e:
        raise InvalidArgument(f'invalid {key} filter "{value}": {e}') from None
