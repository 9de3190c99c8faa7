"""Times as Podman prints them, with `time` alone (`datetime` costs a millisecond to import).

Vocabulary (Go's layouts, which Podman's JSON and tables use):
  * **RFC3339Nano**: `2026-12-03T08:19:19.1394025Z`: the fraction to the nanosecond with its
    trailing zeros dropped (none at all for a whole second), then `Z` for a zero UTC offset or
    `+01:00`. Inspect documents use it in UTC (containers, images) or in local time (volumes,
    events).
  * **Go time string** (`time.Time.String()`): `2026-12-03 08:19:19.1394025 +0000 UTC`, local
    time, as `ps`, `images` and `volume ls` print CreatedAt.
  * The **zero time** `0001-01-01T00:00:00Z` stands for "never" (a container not yet started).

Timestamps come as float seconds (records keep them so; their fraction is taken to the
microsecond, as `datetime` did) or as integer nanoseconds (events).
"""

from __future__ import annotations

import time

ZERO_TIME = "0001-01-01T00:00:00Z"


def _ns(ts: float) -> int:
    return round(ts * 1_000_000) * 1000


def _fraction(ns: int) -> str:
    digits = f"{ns % 1_000_000_000:09d}".rstrip("0")
    return "." + digits if digits else ""


def rfc3339_nano(ns: int, utc: bool = False) -> str:
    """RFC3339Nano of `ns` nanoseconds since the epoch, in local time unless `utc`."""
    t = time.gmtime(ns // 1_000_000_000) if utc else time.localtime(ns // 1_000_000_000)
    offset = 0 if utc else t.tm_gmtoff
    zone = "Z" if not offset else f"{'-' if offset < 0 else '+'}{abs(offset) // 3600:02d}:{abs(offset) % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + _fraction(ns) + zone


def rfc3339(ts: float) -> str:
    """RFC3339Nano in UTC; the zero time for 0 (never)."""
    return rfc3339_nano(_ns(ts), utc=True) if ts else ZERO_TIME


def rfc3339_local(ts: float) -> str:
    """RFC3339Nano in local time."""
    return rfc3339_nano(_ns(ts))


def go_time(ns: int) -> str:
    """Go's time.Time.String() of `ns` nanoseconds since the epoch, in local time."""
    t = time.localtime(ns // 1_000_000_000)
    return time.strftime("%Y-%m-%d %H:%M:%S", t) + _fraction(ns) + time.strftime(" %z %Z", t)


def go_time_of(ts: float) -> str:
    """go_time of float seconds."""
    return go_time(_ns(ts))


def parse_rfc3339_nano(text: str) -> int:
    """Nanoseconds since the epoch of an RFC3339(Nano) time. `datetime` keeps only
    microseconds, so the fraction is read separately."""
    from datetime import datetime
    head, dot, rest = text.partition(".")
    frac = ""
    if dot:
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        frac, zone = rest[:i], rest[i:]
    else:
        head, zone = text[:19], text[19:]
    whole = datetime.fromisoformat(head + (zone or "Z"))
    return int(whole.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9])
