"""Reading container logs in the k8s-file format conmon (and foreground runs) write.

Each line is `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>`; `P` marks a partial
line whose content continues in the next record (conmon adds the newline itself).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import datetime

from otter.engine.context import Engine
from otter.errors import InvalidArgument
from otter.record import record

_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$")
_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


@record
class LogLine:
    time: float
    stamp: str           # as written
    stream: str          # "stdout" or "stderr"
    data: bytes          # with its newline when the record was a full line


def parse_time(text: str, now: float | None = None, ahead: bool = False) -> float:
    """`--since/--until`: RFC3339 (with or without zone), a Unix timestamp, or a Go duration ago
    (from now with `ahead`, as Podman reads `events --until 10s`: stream ten seconds more)."""
    m = _DURATION_RE.match(text)
    if m:
        span = float(m.group(1)) * _UNITS[m.group(2)]
        return (now or time.time()) + (span if ahead else -span)
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f"invalid time {text!r}: use RFC3339, a Unix timestamp or a duration like 10m") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.now().astimezone().tzinfo)
    return dt.timestamp()


def _stamp_time(stamp: bytes) -> float:
    text = stamp.decode()
    # Python takes at most 6 fractional digits.
    m = re.match(r"^(.*?\.\d{1,6})\d*(.*)$", text)
    if m:
        text = m.group(1) + m.group(2)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def parse_lines(raw: bytes) -> list[LogLine]:
    out = []
    for entry in raw.split(b"\n"):
        parts = entry.split(b" ", 3)
        if len(parts) < 3:
            continue
        stamp, stream, tag = parts[0], parts[1], parts[2]
        content = parts[3] if len(parts) == 4 else b""
        out.append(LogLine(_stamp_time(stamp), stamp.decode(), stream.decode(),
                           content + (b"\n" if tag == b"F" else b"")))
    return out


def _merge_partials(lines: list[LogLine]) -> list[LogLine]:
    """Join `P` records with the record that completes them, so --tail counts real lines."""
    merged: list[LogLine] = []
    pending: LogLine | None = None
    for line in lines:
        if pending is not None and pending.stream == line.stream:
            line = LogLine(pending.time, pending.stamp, line.stream, pending.data + line.data)
            pending = None
        if line.data.endswith(b"\n"):
            merged.append(line)
        else:
            if pending is not None:
                merged.append(pending)
            pending = line
    if pending is not None:
        merged.append(pending)
    return merged


def read_logs(eng: Engine, cid: str, tail: int = -1, since: float | None = None,
              until: float | None = None) -> list[LogLine]:
    try:
        with open(eng.paths.container_log(cid), "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return []
    lines = [ln for ln in _merge_partials(parse_lines(raw))
             if (since is None or ln.time >= since) and (until is None or ln.time <= until)]
    if tail < 0:
        return lines
    return lines[-tail:] if tail else []


def follow(eng: Engine, cid: str, offset: int, still_running, interval: float = 0.1) -> Iterator[LogLine]:
    """Yield records appended after byte `offset` until the container stops."""
    path = eng.paths.container_log(cid)
    buf = b""
    while True:
        running = still_running()
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            offset += len(chunk)
            buf += chunk
            complete, _, buf = buf.rpartition(b"\n")
            if complete:
                yield from parse_lines(complete)
        elif not running:
            return
        else:
            time.sleep(interval)


def log_size(eng: Engine, cid: str) -> int:
    try:
        return os.path.getsize(eng.paths.container_log(cid))
    except FileNotFoundError:
        return 0

