"""Content digests (`sha256:<64 hex>`) and readers that hash what flows through them."""

from __future__ import annotations

from otter.errors import InvalidArgument
from otter.record import record

# The digests otter verifies: algorithm -> length of its lowercase hex encoding.
_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
_LOWER_HEX = frozenset("0123456789abcdef")


@record
class Digest:
    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> "Digest":
        algorithm, _, hex_part = text.partition(":")
        if len(hex_part) != _HEX_LENGTHS.get(algorithm) or not _LOWER_HEX.issuperset(hex_part):
            raise InvalidArgument(f"invalid digest {text!r}")
        return cls(algorithm, hex_part)

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
