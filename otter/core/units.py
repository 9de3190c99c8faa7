"""Parsing of sizes (`512m`, `1g`) and signals (`SIGTERM`, `term`, `15`) as Podman accepts them."""

from __future__ import annotations

import _signal

from otter.errors import InvalidArgument

_MULT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_DIGITS = frozenset("0123456789")


def _leading_digits(text: str, start: int) -> int:
    end = start
    while end < len(text) and text[end] in _DIGITS:
        end += 1
    return end


def parse_size(text: str, flag: str = "size") -> int:
    """docker/go-units RAMInBytes: `<number>[.<digits>][ ][kmgtp][i][b]`, any case, binary
    multiples."""
    s = text.strip()
    end = _leading_digits(s, 0)
    if end and end < len(s) and s[end] == ".":
        fraction_end = _leading_digits(s, end + 1)
        end = fraction_end if fraction_end > end + 1 else 0    # a "." needs digits after it
    suffix = s[end:].lstrip().lower()
    unit = suffix[:1] if suffix[:1] in ("k", "m", "g", "t", "p") else ""
    if not end or suffix[len(unit):] not in ("", "i", "b", "ib"):
        raise InvalidArgument(f"invalid argument {text!r} for {flag!r} flag: invalid size: {text!r}")
    return int(float(s[:end]) * _MULT[unit])


def parse_signal(text: str) -> int:
    value = text.strip().upper()
    if value.isdigit():
        num = int(value)
        if 0 < num < 65:
            return num
    else:
        name = value if value.startswith("SIG") else "SIG" + value
        # `_signal`, not `signal`: the latter's Signals enum costs 2 ms to import. Its
        # constants are the same ints; the SIG_DFL-style names are not signals.
        sig = getattr(_signal, name, None) if "_" not in name else None
        if isinstance(sig, int):
            return sig
        if name.startswith("SIGRTMIN") or name.startswith("SIGRTMAX"):
            base = _signal.SIGRTMIN if name.startswith("SIGRTMIN") else _signal.SIGRTMAX
            offset = name[8:]
            try:
                return int(base) + (int(offset) if offset else 0)
            except ValueError:
                pass
    raise InvalidArgument(f"invalid signal: {text}")
