"""TarWriter: writes tar archives (docker-archive, oci-archive) without buffering content.

File data is copied kernel-side (`os.sendfile`) from blob files whenever the output is a real
file descriptor, which makes `save` run at page-cache speed.
"""

from __future__ import annotations

import os
import tarfile

BLOCK = 512
COPY_CHUNK = 1 << 20


class TarWriter:
    def __init__(self, fd: int, mtime: float = 0):
        self._fd = fd
        self._mtime = mtime
        self._dirs: set[str] = set()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def _header(self, name: str, size: int, kind: bytes = tarfile.REGTYPE, mode: int = 0o644) -> None:
        info = tarfile.TarInfo(name)
        info.size = size if kind == tarfile.REGTYPE else 0
        info.type = kind
        info.mode = mode
        info.mtime = self._mtime
        self._write(info.tobuf(tarfile.PAX_FORMAT))

    def _pad(self, size: int) -> None:
        if size % BLOCK:
            self._write(b"\0" * (BLOCK - size % BLOCK))

    def add_dir(self, name: str) -> None:
        name = name.rstrip("/")
        if name in self._dirs:
            return
        parent = os.path.dirname(name)
        if parent:
            self.add_dir(parent)
        self._dirs.add(name)
        self._header(name + "/", 0, tarfile.DIRTYPE, 0o755)

    def add_bytes(self, name: str, data: bytes) -> None:
        self._ensure_parent(name)
        self._header(name, len(data))
        self._write(data)
        self._pad(len(data))

    def add_file(self, name: str, path: str) -> None:
        """Copy a file (a committed blob) into the archive."""
        self._ensure_parent(name)
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self._header(name, size)
            offset = 0
            while offset < size:
                try:
                    sent = os.sendfile(self._fd, f.fileno(), offset, size - offset)
                except OSError:
                    # Not every output (a terminal, some pipes) takes sendfile: plain copy.
                    f.seek(offset)
                    while chunk := f.read(COPY_CHUNK):
                        self._write(chunk)
                    sent = size - offset
                if sent == 0:
                    raise OSError(f"{path} shrank while being archived")
                offset += sent
        self._pad(size)

    def add_stream(self, name: str, reader, size: int) -> None:
        """Copy exactly `size` bytes from `reader` (e.g. a decompressing reader)."""
        self._ensure_parent(name)
        self._header(name, size)
        remaining = size
        while remaining:
            chunk = reader.read(min(COPY_CHUNK, remaining))
            if not chunk:
                raise OSError(f"stream for {name} ended {remaining} bytes early")
            self._write(chunk)
            remaining -= len(chunk)
        self._pad(size)

    def _ensure_parent(self, name: str) -> None:
        parent = os.path.dirname(name)
        if parent:
            self.add_dir(parent)

    def close(self) -> None:
        self._write(b"\0" * (BLOCK * 2))
