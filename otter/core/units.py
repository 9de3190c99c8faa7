"""Parsing of sizes (`512m`, `1g`) and signals (`SIGTERM`, `term`, `15`) as Podman accepts them."""

from __future__ import annotations

import re
import signal as _signal

from otter.errors import InvalidArgument

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)$", re.IGNORECASE)
_MULT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_size(text: str, flag: str = "size") -> int:
    """docker/go-units RAMInBytes: binary multiples, `b` suffix optional."""
    m = _SIZE_RE.match(text.strip())
    if not m:
        raise InvalidArgument(f"invalid argument {text!r} for {flag!r} flag: invalid size: {text!r}")
    return int(float(m.group(1)) * _MULT[m.group(2).lower()])


def parse_signal(text: str) -> int:
    value = text.strip().upper()
    if value.isdigit():
        num = int(value)
        if 0 < num < 65:
            return num
    else:
        name = value if value.startswith("SIG") else "SIG" + value
        sig = getattr(_signal.Signals, name, None) if name in _signal.Signals.__members__ else None
        if sig is not None:
            return int(sig)
        if name.startswith("SIGRTMIN") or name.startswith("SIGRTMAX"):
            base = _signal.SIGRTMIN if name.startswith("SIGRTMIN") else _signal.SIGRTMAX
            offset = name[8:]
            try:
                return int(base) + (int(offset) if offset else 0)
            except ValueError:
                pass
    raise InvalidArgument(f"invalid signal: {text}")
