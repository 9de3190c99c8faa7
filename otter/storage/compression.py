"""Layer compression: detection by magic bytes and streaming decompression.

gzip goes through `isal` when it is installed (2.5x zlib here) and stdlib zlib otherwise;
zstd needs the optional `zstandard` module. Readers expose `read(n)` only, which is all the
streaming tar loop needs.
"""

from __future__ import annotations

from otter.errors import CorruptContent

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 1 << 18


class PeekReader:
    """A reader that can show its first bytes without consuming them."""

    def __init__(self, source):
        self._source = source
        self._head = b""

    def peek(self, n: int) -> bytes:
        while len(self._head) < n:
            more = self._source.read(n - len(self._head))
            if not more:
                break
            self._head += more
        return self._head[:n]

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0:
                data, self._head = self._head + self._source.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            return data
        return self._source.read(n)


def detect(reader: PeekReader) -> str:
    head = reader.peek(4)
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


def _zlib():
    try:
        from isal import isal_zlib
        return isal_zlib
    except ImportError:
        import zlib
        return zlib


class GzipReader:
    """Decompresses a gzip stream (several concatenated members allowed) as it is read.

    `read(n)` may return fewer than n bytes; only b"" means end of stream.
    """

    def __init__(self, source):
        self._zlib = _zlib()
        self._source = source
        self._d = self._zlib.decompressobj(31)
        self._buf = b""
        self._pos = 0

    def _fill(self) -> bytes:
        while True:
            chunk = self._source.read(CHUNK)
            if not chunk:
                if not self._d.eof:
                    raise CorruptContent("unexpected end of gzip stream: the layer is truncated")
                return b""
            try:
                out = self._d.decompress(chunk)
                while self._d.eof and self._d.unused_data:
                    rest = self._d.unused_data
                    self._d = self._zlib.decompressobj(31)
                    out += self._d.decompress(rest)
            except self._zlib.error as e:
                raise CorruptContent(f"corrupt gzip stream: {e}") from None
            if out:
                return out

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            parts = [self._buf[self._pos:]]
            while chunk := self._fill():
                parts.append(chunk)
            self._buf, self._pos = b"", 0
            return b"".join(parts)
        if self._pos >= len(self._buf):
            self._buf, self._pos = self._fill(), 0
        data = self._buf[self._pos:self._pos + n]
        self._pos += len(data)
        return data


class ZstdReader:
    def __init__(self, source):
        try:
            import zstandard
        except ImportError:
            raise CorruptContent("zstd-compressed layer, but the Python 'zstandard' module is not installed") from None
        self._reader = zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True)
        self._zstd_error = zstandard.ZstdError

    def read(self, n: int = -1) -> bytes:
        try:
            return self._reader.read(n)
        except self._zstd_error as e:
            raise CorruptContent(f"corrupt zstd stream: {e}") from None


def decompressing_reader(source) -> tuple[str, object]:
    """Return (compression name, reader yielding uncompressed bytes) for `source`."""
    peek = PeekReader(source)
    kind = detect(peek)
    if kind == "gzip":
        return kind, GzipReader(peek)
    if kind == "zstd":
        return kind, ZstdReader(peek)
    return kind, peek
