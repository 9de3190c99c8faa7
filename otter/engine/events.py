"""The events log: what happened to containers, images and volumes, kept as Podman's file
backend keeps it, for `otter events`.

Vocabulary:
  event      one line of `StorePaths.events_log`: a JSON object with Podman's fields `ID`,
             `Image`, `Name`, `Status`, `Time`, `Type`, `Attributes`, in Podman's order and with
             Go's `omitempty` (an empty `ID`, `Image` or `Name` is left out). `Time` is
             RFC3339Nano in local time. `Attributes` holds a container's labels (`{}` when it has
             none) and is `null` for images and volumes. A `died` (or `exec_died`) event carries
             the exit code as `ContainerExitCode`, first and left out when 0, as Podman 4.3.1
             writes it.
  type       what the event is about: `container`, `image` or `volume`.
  status     what happened, in Podman 4.3.1's words. Containers: create, init, start, attach,
             exec, exec_died, pause, unpause, kill, stop, died, cleanup, restart, rename, remove.
             Images: pull, push, save, loadfromarchive, import, tag, untag, remove (pruning
             removes). Volumes: create, remove, prune.
  stream     following the log: reading what is appended while the user waits.

Emitting sits on the hot path of `run`, so it costs one open, one write and one close and
imports nothing new (json is loaded by then). Each event is a single write(2) on a descriptor
opened with O_APPEND: the kernel serialises appends to a regular file, so lines of concurrent
otter processes never interleave and no lock is taken. A failed write is a warning, never the
failure of the verb that happened.
"""

from __future__ import annotations

import os
import time

from otter.record import record
from otter.timefmt import parse_rfc3339_nano, rfc3339_nano

# -f/--filter keys, as `otter events` accepts them ("status" is Podman's other name for "event").


@record
class Event:
    """One event, as written to or read back from the log."""

    type: str
    status: str
    time: int                        # nanoseconds since the epoch
    stamp: str                       # `Time` as written (RFC3339Nano)
    id: str = ""
    name: str = ""
    image: str = ""
    attributes: dict | None = None
    exit_code: int = 0               # ContainerExitCode

    def document(self) -> dict:
        """The event as Podman's JSON object (the log line, and `--format json`)."""
        doc: dict = {"ContainerExitCode": self.exit_code} if self.exit_code else {}
        for key, value in (("ID", self.id), ("Image", self.image), ("Name", self.name)):
            if value:
                doc[key] = value
        doc.update(Status=self.status, Time=self.stamp, Type=self.type, Attributes=self.attributes)
        return doc


# -- writing --------------------------------------------------------------------------------------

def emit(eng, type: str, status: str, id: str = "", name: str = "", image: str = "",
         attributes: dict | None = None, exit_code: int = 0) -> None:
    """Append one event to the store's events log."""
    from otter import jsoncodec
    ns = time.time_ns()
    line = jsoncodec.dumps(Event(type, status, ns, rfc3339_nano(ns), id, name, image, attributes, exit_code).document(),
                      separators=(",", ":"), ensure_ascii=False) + "\n"
    path = eng.paths.events_log
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    try:
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            # Only the first event after a boot (the runroot is volatile) makes the directory.
            eng.paths.ensure(os.path.dirname(path))
            fd = os.open(path, flags, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    except OSError as e:
        from otter import log
        log.warning(f"unable to write {type} event {status!r}: {e}")


def container_event(eng, ctr, status: str, exit_code: int = 0) -> None:
    """A container event: its ID, name, image (as the user named it) and labels."""
    emit(eng, "container", status, ctr.id, ctr.name, ctr.config.image_name, dict(ctr.config.labels), exit_code)


# -- reading --------------------------------------------------------------------------------------

def _event(line: bytes) -> Event | None:
    """One log line as an Event; None for a line that is not one (never written by us)."""
    from otter import jsoncodec
    try:
        doc = jsoncodec.loads(line)
        return Event(doc["Type"], doc["Status"], parse_rfc3339_nano(doc["Time"]), doc["Time"], doc.get("ID", ""),
                     doc.get("Name", ""), doc.get("Image", ""), doc.get("Attributes"),
                     doc.get("ContainerExitCode", 0))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _container_or_image(ev: "Event", v: str) -> bool:
    # An image's own events by name or ID, and the events of containers made from it.
    if ev.type == "image":
        return ev.name == v or (bool(v) and ev.id.startswith(v.removeprefix("sha256:")))
    return ev.image == v


def _keys():
    from otter.core import filters as f
    return {
        "container": (lambda ev, v: ev.type == "container" and (ev.name == v or (bool(v) and ev.id.startswith(v))),
                      None),
        "event": (lambda ev, v: ev.status == v, None),
        "status": (lambda ev, v: ev.status == v, None),
        "image": (_container_or_image, None),
        "label": (lambda ev, v: f.labels_match(ev.attributes, v), None),
        "type": (lambda ev, v: ev.type == v, None),
        "volume": (lambda ev, v: ev.type == "volume" and ev.name == v, None),
    }


def parse_filters(filters: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    """`-f KEY=VALUE` flags by key; values of one key are alternatives, keys must all match."""
    from otter.core import filters as f
    lowered = [key.lower() + sep + value for key, sep, value in (t.partition("=") for t in filters)]
    return f.parse(lowered, _keys(), "events")


def matches(ev: "Event", filters: dict[str, list[str]]) -> bool:
    from otter.core import filters as f
    return f.matches(ev, filters, _keys())


def _in_window(ev: Event, since: int | None, until: int | None) -> bool:
    return (since is None or ev.time >= since) and (until is None or ev.time <= until)


def read_events(eng, since: int | None = None, until: int | None = None,
                filters: dict[str, list[str]] | None = None) -> list[Event]:
    """The recorded events in log order (times in nanoseconds), narrowed by `parse_filters`'s result."""
    try:
        with open(eng.paths.events_log, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in raw.splitlines():
        ev = _event(line)
        if ev is not None and _in_window(ev, since, until) and matches(ev, filters or {}):
            out.append(ev)
    return out


def follow(eng, since: int | None = None, until: int | None = None, filters: dict[str, list[str]] | None = None,
           interval: float = 0.1):
    """Yield events as they are appended, polling the log every `interval` seconds: from the
    start of the log with `since` (Podman's "from start"), else only what comes after now. Ends
    once `until` has passed; otherwise runs until the caller stops (Ctrl-C)."""
    path = eng.paths.events_log
    offset = 0
    if since is None:
        try:
            offset = os.path.getsize(path)
        except FileNotFoundError:
            pass
    buf = b""
    while until is None or time.time_ns() <= until:
        try:
            with open(path, "rb") as f:
                if os.fstat(f.fileno()).st_size < offset:    # the log was removed and begun again
                    offset, buf = 0, b""
                f.seek(offset)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        if not chunk:
            time.sleep(interval)
            continue
        offset += len(chunk)
        complete, _, buf = (buf + chunk).rpartition(b"\n")
        for line in complete.splitlines():
            ev = _event(line)
            if ev is not None and _in_window(ev, since, until) and matches(ev, filters or {}):
                yield ev
