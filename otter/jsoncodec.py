"""JSON text in and out, byte for byte as the standard `json` package writes it, without its
import cost.

`import json` costs about 4 ms of every otter process, most of it `re` and `enum` (json's
decoder keeps its whitespace and number patterns as regular expressions). The scanner and the
compact encoder are C code in the `_json` extension that `json` itself drives; this module
drives them directly, and writes indented documents with a small encoder of its own that gives
the same text as `json.dumps(..., indent=N)`.

Vocabulary:
  * **compact** text: no indent. Separators default to `", "` and `": "` as in `json.dumps`;
    wire formats whose digest depends on the bytes pass `separators=(",", ":")`.
  * **indented** text: each member on its own line, `indent` spaces per level, `","` after
    members and `": "` after keys.
  * `ensure_ascii`: non-ASCII characters written as `\\uXXXX` escapes (the default, as in
    `json`), or as themselves.
"""

from __future__ import annotations

import _json

_WHITESPACE = " \t\n\r"
_INFINITY = float("inf")


class DecodeError(ValueError):
    """Text that is not one JSON value. The message ends as `json`'s does:
    `: line L column C (char N)`."""

    def __init__(self, msg: str, doc: str, pos: int):
        lineno = doc.count("\n", 0, pos) + 1
        colno = pos - doc.rfind("\n", 0, pos)
        super().__init__(f"{msg}: line {lineno} column {colno} (char {pos})")
        self.msg, self.doc, self.pos, self.lineno, self.colno = msg, doc, pos, lineno, colno


class _ScannerContext:
    """The attributes `_json.make_scanner` reads: `json.loads` with no hooks."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"NaN": float("nan"), "Infinity": _INFINITY, "-Infinity": -_INFINITY}[name]


_scan_once = _json.make_scanner(_ScannerContext())


def loads(text: str | bytes | bytearray) -> object:
    """One JSON value; bytes are UTF-8 (a byte-order mark is skipped)."""
    if not isinstance(text, str):
        # Not the "utf-8-sig" codec: its module is one more import.
        text = bytes(text).decode("utf-8").removeprefix("\ufeff")
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan_once(text, start)
    except StopIteration as e:
        raise DecodeError("Expecting value", text, e.value) from None
    except ValueError as e:
        # `_json` raises json.JSONDecodeError (a ValueError) for a malformed string or container.
        raise DecodeError(getattr(e, "msg", str(e)), text, getattr(e, "pos", start)) from None
    rest = len(text) - len(text[end:].lstrip(_WHITESPACE))
    if rest != len(text):
        raise DecodeError("Extra data", text, rest)
    return value


def load(f) -> object:
    return loads(f.read())


def _no_default(obj: object) -> object:
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _key(key: object) -> str:
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        return _float(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _indented(value: object, out: list[str], newline: str, step: str, string, sort_keys: bool) -> None:
    """Append `value`'s indented text to `out`; `newline` is "\\n" plus the current indent."""
    if isinstance(value, str):
        out.append(string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + step
        out.append("[")
        for i, item in enumerate(value):
            out.append(inner if i == 0 else "," + inner)
            _indented(item, out, inner, step, string, sort_keys)
        out.append(newline + "]")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + step
        out.append("{")
        items = sorted(value.items()) if sort_keys else value.items()
        for i, (key, item) in enumerate(items):
            out.append((inner if i == 0 else "," + inner) + string(_key(key)) + ": ")
            _indented(item, out, inner, step, string, sort_keys)
        out.append(newline + "}")
    else:
        _no_default(value)


def dumps(value: object, *, indent: int | None = None, separators: tuple[str, str] | None = None,
          ensure_ascii: bool = True, sort_keys: bool = False) -> str:
    """`json.dumps(value, indent=, separators=, ensure_ascii=, sort_keys=)`, the same text."""
    string = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
    if indent is not None:
        out: list[str] = []
        _indented(value, out, "\n", " " * indent, string, sort_keys)
        return "".join(out)
    item_sep, key_sep = separators or (", ", ": ")
    encode = _json.make_encoder({}, _no_default, string, None, key_sep, item_sep, sort_keys, False, True)
    return "".join(encode(value, 0))


def dump(value: object, f, **options) -> None:
    f.write(dumps(value, **options))
