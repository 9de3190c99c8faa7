#!/usr/bin/env python3
"""Build the benchmark image: a ~214 MB, 5-layer docker-archive, byte-for-byte deterministic.

    python3 bench/mkimage.py [OUTDIR]        # default OUTDIR: <repo>/build/bench

prints the path of the archive. The archive is cached as OUTDIR/bench-image-<VERSION>.tar and
is built only when missing; bump VERSION whenever the content below changes.

The payload mirrors the one behind the podman anchors (shared/reference/anchors.md: "load -i
docker-archive (214.5 MB, 5 layers)"): layers of incompressible random bytes, layers of base64
text (compressible, like real text content), and a few hundred small files spread over nested
directories so that per-file costs (tar headers, inode creation) show up too.

Everything is derived from one seed: the file contents come from `random.Random(seed)`, and the
tar headers are fixed (mtime, uid/gid 0, no user/group names), so two builds are identical and
the image ID (the config digest) is stable across machines.

Archive layout (what `docker save` / `podman save --format docker-archive` produce, minus the
legacy per-layer directories, which no reader needs):

    manifest.json           [{"Config": "<hex>.json", "RepoTags": ["localhost/bench:latest"],
                              "Layers": ["<hex>.tar", ...]}]
    <config-hex>.json       image config; rootfs.diff_ids = sha256 of each uncompressed layer tar
    <diffid-hex>.tar        one uncompressed layer tar per layer, named after its diff_id
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import sys
import tarfile
import tempfile

VERSION = "1"                   # bump when the generated content changes (it keys the cache)
SEED = 20261128
REPO_TAG = "localhost/bench:latest"
MTIME = 1764288000              # 2025-11-28T00:00:00Z: a fixed timestamp for every tar header
CREATED = "2025-11-28T00:00:00Z"
MiB = 1024 * 1024

# One entry per layer: (description, [(kind, count, size), ...]).
#   kind "random": files of incompressible random bytes
#   kind "b64":    files of base64 text (76-column lines)
#   kind "small":  small files (1-8 KiB, mixed random/text) spread over nested directories
LAYERS: list[tuple[str, list[tuple[str, int, int]]]] = [
    ("base: small files", [("small", 250, 0), ("random", 2, 2 * MiB)]),
    ("random blobs", [("random", 5, 16 * MiB)]),
    ("base64 text", [("b64", 5, 10 * MiB), ("small", 40, 0)]),
    ("random blobs 2", [("random", 3, 16 * MiB), ("small", 40, 0)]),
    ("base64 text 2", [("b64", 2, 10 * MiB), ("small", 70, 0)]),
]


def _dir_info(name: str) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    ti.mtime = MTIME
    return ti


def _file_info(name: str, size: int, mode: int = 0o644) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.mode = mode
    ti.mtime = MTIME
    return ti


def _b64_text(rng: random.Random, size: int) -> bytes:
    """`size` bytes of base64 text broken into 76-column lines (like `base64` output)."""
    raw = base64.encodebytes(rng.randbytes(size * 3 // 4 + 64))
    return raw[:size]


def _write_layer(path: str, index: int, plan: list[tuple[str, int, int]], rng: random.Random) -> None:
    """Write one uncompressed layer tar to `path`."""
    top = f"opt/bench/layer{index}"
    dirs_done: set[str] = set()

    def add_dirs(tf: tarfile.TarFile, name: str) -> None:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in dirs_done:
                dirs_done.add(d)
                tf.addfile(_dir_info(d))

    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        if index == 0:
            # A minimal root skeleton in the first layer.
            for d in ("bin", "etc", "tmp", "usr", "usr/share", "var"):
                dirs_done.add(d)
                tf.addfile(_dir_info(d))
            for name, data in (("etc/hostname", b"bench\n"), ("etc/os-release", b"NAME=otter-bench\nID=bench\n")):
                tf.addfile(_file_info(name, len(data)), io.BytesIO(data))
        serial = 0
        for kind, count, size in plan:
            for n in range(count):
                serial += 1
                if kind == "random":
                    name = f"{top}/blobs/blob-{serial:03d}.bin"
                    data = rng.randbytes(size)
                elif kind == "b64":
                    name = f"{top}/text/doc-{serial:03d}.txt"
                    data = _b64_text(rng, size)
                else:  # small files across a two-level directory tree
                    name = f"{top}/tree/d{serial % 7}/s{serial % 5}/f-{serial:04d}"
                    fsize = rng.randint(1024, 8192)
                    data = rng.randbytes(fsize) if serial % 2 else _b64_text(rng, fsize)
                    name += ".bin" if serial % 2 else ".txt"
                add_dirs(tf, name)
                tf.addfile(_file_info(name, len(data)), io.BytesIO(data))
                del data


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MiB):
            h.update(chunk)
    return h.hexdigest()


def build(out_path: str) -> None:
    """Build the archive into `out_path` (atomically: a temp file, then rename)."""
    outdir = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(outdir, exist_ok=True)
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix=".mkimage-", dir=outdir) as work:
        layer_files: list[tuple[str, str]] = []          # (diff_id hex, path)
        for i, (_, plan) in enumerate(LAYERS):
            path = os.path.join(work, f"layer{i}.tar")
            _write_layer(path, i, plan, rng)
            layer_files.append((_sha256_file(path), path))

        config = {
            "architecture": "amd64",
            "os": "linux",
            "created": CREATED,
            "author": "otter bench/mkimage.py",
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": ["/bin/sh"],
                "WorkingDir": "/",
                "Labels": {"org.opencontainers.image.title": "otter-bench", "bench.version": VERSION},
            },
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d, _ in layer_files]},
            "history": [{"created": CREATED, "created_by": f"/bin/sh -c #(nop) {desc}"} for desc, _ in LAYERS],
        }
        config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
        config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
        manifest = [{"Config": config_name, "RepoTags": [REPO_TAG], "Layers": [f"{d}.tar" for d, _ in layer_files]}]
        manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()

        tmp_out = os.path.join(work, "archive.tar")
        with tarfile.open(tmp_out, "w", format=tarfile.PAX_FORMAT) as tf:
            tf.addfile(_file_info(config_name, len(config_bytes)), io.BytesIO(config_bytes))
            for diff_id, path in layer_files:
                with open(path, "rb") as f:
                    tf.addfile(_file_info(f"{diff_id}.tar", os.path.getsize(path)), f)
            tf.addfile(_file_info("manifest.json", len(manifest_bytes)), io.BytesIO(manifest_bytes))
        os.replace(tmp_out, out_path)


def archive_path(outdir: str) -> str:
    return os.path.join(outdir, f"bench-image-{VERSION}.tar")


def ensure(outdir: str) -> str:
    """Return the path of the cached archive, building it first if it is missing."""
    path = archive_path(outdir)
    if not os.path.exists(path):
        build(path)
    return path


def main(argv: list[str]) -> int:
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    outdir = argv[1] if len(argv) > 1 else os.path.join(repo, "build", "bench")
    print(ensure(outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
