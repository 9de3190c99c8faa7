"""ContentStore: immutable blobs addressed by digest.

Vocabulary:
  blob     an immutable byte sequence (manifest, config, layer tar) stored under
           `blobs/<algorithm>/<hex>` and named by its digest.
  ingest   an in-flight write. Bytes go to a private file in the ingest area; `commit`
           checks the digest (and size, when known) and renames the file into place, so a
           partial or wrong blob is never visible. `abort` throws the write away.
  vouch    `copy_range` copies bytes kernel-side without hashing them, for a caller that
           hashes the very same bytes itself (a layer's diff ID is the digest of its
           uncompressed tar); it must then name that digest to `commit`.

Blobs are written once and never modified; removing one is the garbage collector's job
(`ImageStore`), done under the store lock.
"""

from __future__ import annotations

import os

from otter.errors import CorruptContent, NotFound
from otter.image.digest import Digest
from otter.paths import StorePaths


class Ingest:
    """A blob being written. Use as a context manager: an exception aborts the write."""

    def __init__(self, store: "ContentStore", expected: Digest | None = None, expected_size: int | None = None):
        import hashlib
        import tempfile
        self._store = store
        self.expected = expected
        self.expected_size = expected_size
        os.makedirs(store.paths.ingest, mode=0o700, exist_ok=True)
        fd, self.path = tempfile.mkstemp(dir=store.paths.ingest, prefix="blob-")
        self.file = os.fdopen(fd, "wb", buffering=1 << 20)
        self._hash = hashlib.sha256()
        self.size = 0
        self._done = False
        self._unhashed = False

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self.file.write(data)

    def copy_range(self, fd: int, offset: int, size: int) -> None:
        """Append `size` bytes of file `fd` from `offset`, copied by the kernel and not hashed."""
        self.file.flush()
        out = self.file.fileno()
        while size:
            n = os.copy_file_range(fd, out, size, offset)
            if n == 0:
                raise CorruptContent("the archive ended inside a layer")
            offset += n
            size -= n
            self.size += n
        self._unhashed = True

    @property
    def digest(self) -> Digest:
        return Digest("sha256", self._hash.hexdigest())

    def commit(self, vouched: Digest | None = None) -> Digest:
        """Verify the digest and size against what was expected, then publish atomically.
        `vouched` is the digest the caller computed over exactly these bytes (see `copy_range`)."""
        self.file.close()
        if self._unhashed and vouched is None:
            self.abort()
            raise ValueError("bytes copied with copy_range need a vouched digest")
        actual = vouched or self.digest
        if self.expected is not None and actual != self.expected:
            self.abort()
            raise CorruptContent(f"digest mismatch: expected {self.expected}, got {actual}")
        if self.expected_size is not None and self.size != self.expected_size:
            self.abort()
            raise CorruptContent(f"size mismatch for {actual}: expected {self.expected_size} bytes, got {self.size}")
        target = self._store.paths.blob(actual.algorithm, actual.hex)
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        os.chmod(self.path, 0o644)
        os.rename(self.path, target)
        self._done = True
        return actual

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        if not self.file.closed:
            self.file.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> "Ingest":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None or not self._done:
            self.abort()


class ContentStore:
    def __init__(self, paths: StorePaths):
        self.paths = paths

    def path(self, digest: Digest) -> str:
        return self.paths.blob(digest.algorithm, digest.hex)

    def exists(self, digest: Digest) -> bool:
        return os.path.exists(self.path(digest))

    def size(self, digest: Digest) -> int:
        try:
            return os.stat(self.path(digest)).st_size
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def read(self, digest: Digest) -> bytes:
        try:
            with open(self.path(digest), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def open(self, digest: Digest):
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def ingest(self, expected: Digest | None = None, expected_size: int | None = None) -> Ingest:
        return Ingest(self, expected, expected_size)

    def put(self, data: bytes, expected: Digest | None = None) -> Digest:
        digest = Digest.of_bytes(data)
        if expected is not None and digest != expected:
            raise CorruptContent(f"digest mismatch: expected {expected}, got {digest}")
        if self.exists(digest):
            return digest
        with self.ingest(expected) as w:
            w.write(data)
            return w.commit()

    def delete(self, digest: Digest) -> None:
        try:
            os.unlink(self.path(digest))
        except FileNotFoundError:
            pass

    def all(self) -> list[Digest]:
        d = self.paths.blob_dir("sha256")
        try:
            return [Digest("sha256", name) for name in os.listdir(d)]
        except FileNotFoundError:
            return []
