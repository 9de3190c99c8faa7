"""Content digests (`sha256:<64 hex>`) and readers that hash what flows through them."""

from __future__ import annotations

import re

from otter.errors import InvalidArgument
from otter.record import record

_DIGEST_RE = re.compile(r"^(sha256):([a-f0-9]{64})$|^(sha512):([a-f0-9]{128})$")


@record
class Digest:
    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> "Digest":
        m = _DIGEST_RE.match(text)
        if not m:
            raise InvalidArgument(f"invalid digest {text!r}")
        algo = m.group(1) or m.group(3)
        return cls(algo, m.group(2) or m.group(4))

    @classmethod
    def of_bytes(cls, data: bytes) -> "Digest":
        import hashlib
        return cls("sha256", hashlib.sha256(data).hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


class HashingReader:
    """Wraps a binary stream; every byte read is hashed and counted."""

    def __init__(self, source, algorithm: str = "sha256"):
        import hashlib
        self._source = source
        self._hash = hashlib.new(algorithm)
        self.algorithm = algorithm
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(n)
        if data:
            self._hash.update(data)
            self.size += len(data)
        return data

    def drain(self, chunk: int = 1 << 20) -> None:
        """Read to end of stream, so the digest covers everything (tar padding included)."""
        while self.read(chunk):
            pass

    @property
    def digest(self) -> Digest:
        return Digest(self.algorithm, self._hash.hexdigest())


class TeeReader:
    """Wraps a binary stream; every byte read is also written to `sink` (e.g. an `Ingest`)."""

    def __init__(self, source, sink):
        self._source = source
        self._sink = sink

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(n)
        if data:
            self._sink.write(data)
        return data
