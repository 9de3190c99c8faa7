#!/usr/bin/env python3
"""Build the bundled test image `localhost/busybox:latest` from the host's busybox-static.

Writes two files into the output directory (default `build/`):
  busybox-rootfs.tar   the root filesystem: /bin/busybox, a symlink for every applet
                       (`busybox --list-full`), /etc/passwd and /etc/group with root,
                       a user 1000 and nobody 65534, /tmp (1777), /root, /home/user.
  busybox.tar          a docker-archive of `localhost/busybox:latest` (CMD ["sh"]), made by
                       importing the rootfs with otter into a scratch store and saving it.

The tar is deterministic (sorted entries, fixed mtime), so the image ID only changes when
the host's busybox does. Tests and the demo `otter load -i build/busybox.tar`.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile

BUSYBOX = "/bin/busybox"
MTIME = 1700000000
PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "user:x:1000:1000:user:/home/user:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
GROUP = "root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n"


def rootfs_tar(path: str) -> None:
    applets = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True, text=True).stdout.split()
    entries: dict[str, tarfile.TarInfo] = {}
    data: dict[str, bytes] = {}

    def add_dir(name: str, mode: int = 0o755, uid: int = 0) -> None:
        if not name:
            return
        parts = name.split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in entries:
                info = tarfile.TarInfo(d)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
                entries[d] = info
        entries[name].mode, entries[name].uid, entries[name].gid = mode, uid, uid

    def add_file(name: str, content: bytes, mode: int = 0o644) -> None:
        add_dir(os.path.dirname(name))
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(content), mode, MTIME
        entries[name], data[name] = info, content

    with open(BUSYBOX, "rb") as f:
        add_file("bin/busybox", f.read(), 0o755)
    for applet in applets:
        applet = applet.lstrip("/")
        if applet == "bin/busybox" or applet in entries:
            continue
        add_dir(os.path.dirname(applet))
        info = tarfile.TarInfo(applet)
        info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, "/bin/busybox", 0o777, MTIME
        entries[applet] = info
    add_file("etc/passwd", PASSWD.encode())
    add_file("etc/group", GROUP.encode())
    add_dir("tmp", 0o1777)
    add_dir("root", 0o700)
    add_dir("home/user", 0o755, 1000)
    for d in ("proc", "sys", "dev", "run", "var/tmp"):
        add_dir(d)
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(entries):
            info = entries[name]
            tar.addfile(info, io.BytesIO(data[name]) if name in data else None)


def main() -> int:
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    os.makedirs(out, exist_ok=True)
    rootfs = os.path.join(out, "busybox-rootfs.tar")
    archive = os.path.join(out, "busybox.tar")
    rootfs_tar(rootfs + ".tmp")
    os.replace(rootfs + ".tmp", rootfs)
    with tempfile.TemporaryDirectory(prefix="otter-mkbusybox-") as scratch:
        otter = [sys.executable, "-m", "otter", "--root", os.path.join(scratch, "root"),
                 "--runroot", os.path.join(scratch, "run"), "--storage-driver", "vfs"]
        subprocess.run(otter + ["import", "-q", "--change", 'CMD ["sh"]', rootfs, "localhost/busybox:latest"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(otter + ["save", "-o", archive, "localhost/busybox:latest"], check=True)
    print(f"built {archive}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
