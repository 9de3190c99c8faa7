"""Progress of image copies (pull, push): the events the engine reports and the text Podman
prints for them.

Vocabulary:
  message  a step of the copy ("Trying to pull ...", "Copying config ...").
  blob     one blob being copied, named by its digest: `start` (with its size), `advance` by a
           number of bytes, `finish` with a note ("done", "skipped: already exists").

`Progress` ignores everything (`-q`). `TextProgress` writes to a stream (stderr): on a
terminal one line per blob redrawn in place with bytes and rate, like Podman's
"Copying blob 0a1b2c3d4e5f [====>-----] 12.0MiB / 40.0MiB | 85.2 MiB/s"; otherwise one
line per step, no bar. Events come from several worker threads: TextProgress serialises them.
"""

from __future__ import annotations

import threading
import time

REDRAW_INTERVAL_S = 0.1
BAR_WIDTH = 30


class Progress:
    """Receives progress events and shows nothing."""

    def message(self, text: str) -> None:
        pass

    def start(self, digest: str, size: int, kind: str = "blob") -> None:
        pass

    def advance(self, digest: str, n: int) -> None:
        pass

    def finish(self, digest: str, note: str = "done", kind: str = "blob") -> None:
        pass


def _size(n: float) -> str:
    if n < 1024:
        return f"{int(n)}B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024:
            break
    return f"{n:.1f}{unit}"


class _Blob:
    def __init__(self, digest: str, size: int, kind: str):
        self.digest = digest
        self.size = size
        self.kind = kind
        self.done = 0
        self.started = time.monotonic()
        self.note: str | None = None

    def line(self) -> str:
        short = self.digest.split(":", 1)[-1][:12]
        head = f"Copying {self.kind} {short}"
        if self.note is not None:
            return f"{head} {self.note}"
        fraction = min(self.done / self.size, 1.0) if self.size else 0.0
        filled = int(fraction * BAR_WIDTH)
        bar = "=" * filled + (">" if filled < BAR_WIDTH else "") + "-" * max(BAR_WIDTH - filled - 1, 0)
        rate = self.done / max(time.monotonic() - self.started, 1e-3)
        return f"{head} [{bar}] {_size(self.done)} / {_size(self.size)} | {_size(rate)}/s"


class TextProgress(Progress):
    def __init__(self, stream, tty: bool | None = None):
        self.stream = stream
        if tty is None:
            try:
                tty = stream.isatty()
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self._lock = threading.Lock()
        self._blobs: dict[str, _Blob] = {}
        self._block: list[_Blob] = []   # the blob lines on screen, in order (terminal only)
        self._drawn = 0                 # how many of them were drawn (cursor is below them)
        self._last_draw = 0.0

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def message(self, text: str) -> None:
        with self._lock:
            if self.tty:
                self._redraw()
                self._block, self._drawn = [], 0
            self._write(text + "\n")

    def start(self, digest: str, size: int, kind: str = "blob") -> None:
        with self._lock:
            blob = self._blobs[digest] = _Blob(digest, size, kind)
            if self.tty:
                self._block.append(blob)
                self._redraw()
            else:
                self._write(f"Copying {kind} {digest}\n")

    def advance(self, digest: str, n: int) -> None:
        with self._lock:
            blob = self._blobs.get(digest)
            if blob is None:
                return
            blob.done += n
            if self.tty and time.monotonic() - self._last_draw >= REDRAW_INTERVAL_S:
                self._redraw()

    def finish(self, digest: str, note: str = "done", kind: str = "blob") -> None:
        with self._lock:
            blob = self._blobs.get(digest)
            if self.tty:
                if blob is None:
                    blob = self._blobs[digest] = _Blob(digest, 0, kind)
                    self._block.append(blob)
                blob.note = note
                self._redraw()
            elif note != "done":
                self._write(f"Copying {kind} {digest.split(':', 1)[-1][:12]} {note}\n")

    def _redraw(self) -> None:
        out = [f"\x1b[{self._drawn}A"] if self._drawn else []
        out += [f"\r\x1b[2K{blob.line()}\n" for blob in self._block]
        self._drawn = len(self._block)
        self._last_draw = time.monotonic()
        self._write("".join(out))
