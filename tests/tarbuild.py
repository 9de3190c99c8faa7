"""Hand-crafted layer tars for tests (hostile ones included)."""

from __future__ import annotations

import io
import tarfile


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", linkname: str = "", mode: int = 0o644,
          uid: int = 0, gid: int = 0, devmajor: int = 0, devminor: int = 0, pax: dict | None = None):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.linkname = linkname
    info.mtime = 1700000000
    info.devmajor, info.devminor = devmajor, devminor
    if pax:
        info.pax_headers = pax
    if kind == tarfile.REGTYPE:
        info.size = len(data)
    return info, data


def make_tar(*entries) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def file(name, data=b"x", **kw):
    return entry(name, tarfile.REGTYPE, data, **kw)


def directory(name, **kw):
    kw.setdefault("mode", 0o755)
    return entry(name, tarfile.DIRTYPE, **kw)


def symlink(name, target):
    return entry(name, tarfile.SYMTYPE, linkname=target, mode=0o777)


def hardlink(name, target):
    return entry(name, tarfile.LNKTYPE, linkname=target)
