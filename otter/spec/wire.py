"""Encoding records (`otter.record`) to and from JSON with explicit JSON names.

A wire type declares each field's JSON name with `jfield("mediaType")`. `to_json` drops
fields whose value is None (and, with `omitempty=True` in the field, empty collections),
as Go's `omitempty` does; `from_json` ignores unknown keys so newer documents still load.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from otter.record import field, fields, is_record


def jfield(name: str, default: Any = None, omitempty: bool = True, **kw) -> Any:
    if isinstance(default, (list, dict)):
        factory = list if isinstance(default, list) else dict
        return field(default_factory=factory, metadata={"json": name, "omitempty": omitempty}, **kw)
    return field(default=default, metadata={"json": name, "omitempty": omitempty}, **kw)


def to_json(obj: Any) -> Any:
    if is_record(obj):
        out: dict[str, Any] = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            if value is None or (f.metadata.get("omitempty") and isinstance(value, (list, tuple, dict)) and not value):
                continue
            out[f.metadata.get("json", f.name)] = to_json(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_json(v) for k, v in obj.items()}
    return obj


def from_json(cls: type, data: Any) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in fields(cls):
        key = f.metadata.get("json", f.name)
        if key not in data:
            continue
        kwargs[f.name] = _decode(hints[f.name], data[key])
    return cls(**kwargs)


def _decode(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        inner = [a for a in args if a is not type(None)]
        return _decode(inner[0], value) if len(inner) == 1 else value
    if origin in (tuple, list) and args:
        return tuple(_decode(args[0], v) for v in value)
    if is_record(tp):
        return from_json(tp, value)
    return value


def load_json(data: bytes, what: str) -> Any:
    """Parse a JSON document read from outside (an archive, a registry); malformed input is
    CorruptContent naming `what`."""
    from otter import jsoncodec
    from otter.errors import CorruptContent
    try:
        return jsoncodec.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise CorruptContent(f"{what} is not valid JSON") from None


def load_object(data: bytes, what: str) -> dict:
    """`load_json` for a document that must be a JSON object."""
    from otter.errors import CorruptContent
    doc = load_json(data, what)
    if not isinstance(doc, dict):
        raise CorruptContent(f"{what} is not a JSON object")
    return doc


def decode(cls: type, data: bytes, what: str) -> Any:
    """Decode a wire record from outside bytes; malformed input is CorruptContent."""
    from otter.errors import CorruptContent
    doc = load_object(data, what)
    try:
        return from_json(cls, doc)
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        raise CorruptContent(f"{what} is malformed: {e}") from None
