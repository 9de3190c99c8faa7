"""Image commands through the real CLI, each test on its own store."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import BUSYBOX_ARCHIVE, BUSYBOX_ROOTFS, store_files

HEX12 = re.compile(r"^[0-9a-f]{12}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def image_id(engine, name="localhost/busybox:latest") -> str:
    return engine.run("image", "inspect", "--format", "{{.Id}}", name).out.strip()


def test_load_and_list(bb):
    out = bb.run("images").out.splitlines()
    assert out[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert re.match(r"^REPOSITORY\s{2,}TAG\s{2,}IMAGE ID\s{2,}CREATED\s{2,}SIZE$", out[0])
    cols = re.split(r"\s{2,}", out[1])
    assert cols[0] == "localhost/busybox" and cols[1] == "latest" and HEX12.match(cols[2])
    assert cols[3].endswith("ago") and re.match(r"^[\d.]+ [kMG]?B$", cols[4])


def test_images_flags(bb):
    iid = image_id(bb)
    assert HEX64.match(iid)
    assert bb.run("images", "-q").out.split() == [iid[:12]]
    assert bb.run("images", "-q", "--no-trunc").out.split() == ["sha256:" + iid]
    digests = bb.run("images", "--digests").out.splitlines()
    assert "DIGEST" in digests[0] and "sha256:" in digests[1]
    assert bb.run("images", "--noheading").out.count("\n") == 1
    assert bb.run("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").out == f"localhost/busybox:latest {iid[:12]}\n"
    listed = json.loads(bb.run("images", "--format", "json").out)
    assert listed[0]["Id"] == iid and listed[0]["Names"] == ["localhost/busybox:latest"]


def test_images_filters(bb):
    bb.run("import", "--change", "LABEL team=core", BUSYBOX_ROOTFS, "labelled")
    bb.run("import", BUSYBOX_ROOTFS)  # dangling
    names = lambda *f: sorted(bb.run("images", "--format", "{{.Repository}}:{{.Tag}}", *f).out.split())
    assert names("--filter", "label=team=core") == ["localhost/labelled:latest"]
    assert names("--filter", "label=team") == ["localhost/labelled:latest"]
    assert names("--filter", "reference=busybox") == ["localhost/busybox:latest"]
    assert names("--filter", "reference=localhost/lab*") == ["localhost/labelled:latest"]
    assert names("--filter", "dangling=true") == ["<none>:<none>"]
    assert "<none>:<none>" not in names("--filter", "dangling=false")
    bad = bb.run("images", "--filter", "bogus=1", expect=125)
    assert bad.err.startswith("Error: ") and bad.err.count("\n") == 1


def test_import_from_file_and_stdin(otter):
    out = otter.run("import", "--change", 'CMD ["/bin/sh", "-c", "echo hi"]', "--change", "ENV A=1",
                    "-m", "my message", BUSYBOX_ROOTFS, "imported:v1").out.strip()
    assert HEX64.match(out)
    doc = json.loads(otter.run("image", "inspect", "imported:v1").out)[0]
    assert doc["Id"] == out
    assert doc["RepoTags"] == ["localhost/imported:v1"]
    assert doc["Config"]["Cmd"] == ["/bin/sh", "-c", "echo hi"] and doc["Config"]["Env"] == ["A=1"]
    assert doc["Comment"] == "my message"
    with open(BUSYBOX_ROOTFS, "rb") as f:
        data = f.read()
    otter.run("import", "-", "fromstdin", input=gzip.compress(data, 1))
    doc2 = json.loads(otter.run("image", "inspect", "fromstdin").out)[0]
    assert doc2["RootFS"]["Layers"] == doc["RootFS"]["Layers"]
    assert "Comment" in doc2 and doc2["Size"] == doc["Size"]


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_save_load_roundtrip(bb, tmp_path, fmt):
    iid = image_id(bb)
    archive = str(tmp_path / "out.tar")
    bb.run("save", "--format", fmt, "-o", archive, "busybox")
    bb.run("rmi", "busybox")
    assert bb.run("images", "-q").out == ""
    out = bb.run("load", "-i", archive).out
    assert "localhost/busybox:latest" in out
    assert image_id(bb) == iid


def test_save_oci_dir_and_stdout(bb, tmp_path):
    bb.run("save", "--format", "oci-dir", "-o", str(tmp_path / "layout"), "busybox")
    index = json.load(open(tmp_path / "layout" / "index.json"))
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "localhost/busybox:latest"
    assert os.path.exists(tmp_path / "layout" / "oci-layout")
    with open(tmp_path / "stdout.tar", "wb") as f:
        subprocess.run(bb.base + ["save", "busybox"], stdout=f, check=True)
    with tarfile.open(tmp_path / "stdout.tar") as t:
        assert "manifest.json" in t.getnames()


def test_multi_image_docker_archive(bb, tmp_path):
    bb.run("import", BUSYBOX_ROOTFS, "second:1")
    archive = str(tmp_path / "multi.tar")
    bb.run("save", "-m", "-o", archive, "busybox", "second:1")
    with tarfile.open(archive) as t:
        manifest = json.load(t.extractfile("manifest.json"))
    assert sorted(m["RepoTags"][0] for m in manifest) == ["localhost/busybox:latest", "localhost/second:1"]
    bb.run("rmi", "busybox", "second:1")
    out = bb.run("load", "-i", archive).out
    assert "localhost/busybox:latest" in out and "localhost/second:1" in out


def test_load_gzip_and_stdin(otter, tmp_path):
    with open(BUSYBOX_ARCHIVE, "rb") as f:
        data = f.read()
    gz = tmp_path / "bb.tar.gz"
    gz.write_bytes(gzip.compress(data, 1))
    otter.run("load", "-i", str(gz))
    otter.run("rmi", "busybox")
    otter.run("load", input=data)
    assert otter.run("image", "exists", "busybox").returncode == 0


def test_tag_untag_and_short_names(bb):
    bb.run("tag", "busybox", "mine:1", "quay.io/x/y:2")
    names = sorted(json.loads(bb.run("image", "inspect", "busybox").out)[0]["RepoTags"])
    assert names == ["localhost/busybox:latest", "localhost/mine:1", "quay.io/x/y:2"]
    assert image_id(bb, "mine:1") == image_id(bb, "quay.io/x/y:2") == image_id(bb)
    bb.run("untag", "busybox", "mine:1")
    assert bb.run("image", "exists", "mine:1", expect=1).returncode == 1
    iid = image_id(bb)
    assert image_id(bb, iid[:8]) == iid
    assert image_id(bb, "sha256:" + iid) == iid


def test_rmi_untags_then_deletes(bb):
    bb.run("tag", "busybox", "other")
    out = bb.run("rmi", "other").out
    assert out == "Untagged: localhost/other:latest\n"
    iid = image_id(bb)
    out = bb.run("rmi", "busybox").out
    assert out == f"Untagged: localhost/busybox:latest\nDeleted: {iid}\n"
    assert store_files(bb.root) == set()


def test_rmi_missing_exit_1_and_ignore(bb):
    proc = bb.run("rmi", "nope", expect=1)
    assert proc.err == "Error: nope: image not known\n"
    bb.run("rmi", "--ignore", "nope")


def test_image_exists(bb):
    assert bb.run("image", "exists", "busybox").returncode == 0
    bb.run("image", "exists", "nothere", expect=1)


def test_prune_removes_dangling(bb):
    dangling = bb.run("import", BUSYBOX_ROOTFS).out.strip()
    pruned = bb.run("image", "prune", "-f").out.split()
    assert pruned == [dangling]
    iid = image_id(bb)
    assert bb.run("image", "prune", "-f").out == ""
    assert bb.run("image", "prune", "-a", "-f").out.split() == [iid]
    assert store_files(bb.root) == set()


def test_history(bb):
    out = bb.run("history", "busybox").out.splitlines()
    assert re.split(r"\s{2,}", out[0]) == ["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    assert HEX12.match(out[1].split()[0])
    assert bb.run("history", "-q", "--no-trunc", "busybox").out.split() == [image_id(bb)]


def test_inspect_shape(bb):
    doc = json.loads(bb.run("inspect", "busybox").out)[0]
    for key in ("Id", "Digest", "RepoTags", "RepoDigests", "Created", "Config", "Architecture", "Os", "Size",
                "RootFS", "GraphDriver", "History"):
        assert key in doc
    assert doc["Config"]["Cmd"] == ["sh"]
    assert doc["RootFS"]["Type"] == "layers" and doc["RootFS"]["Layers"][0].startswith("sha256:")
    assert bb.run("inspect", "--format", "{{.Os}}/{{.Architecture}}", "busybox").out.startswith("linux/")
    missing = bb.run("inspect", "nope", expect=125)
    assert missing.err.startswith("Error: ")


# -- bad input ---------------------------------------------------------------------------

def assert_store_unchanged(engine, before):
    assert engine.run("images", "-q").out == before[0]
    assert store_files(engine.root) == before[1]


def snapshot(engine):
    engine.run("images", "-q")
    return engine.run("images", "-q").out, store_files(engine.root)


@pytest.mark.parametrize("kind", ["garbage", "truncated", "empty-tar"])
def test_corrupt_archives(bb, tmp_path, kind):
    before = snapshot(bb)
    data = open(BUSYBOX_ARCHIVE, "rb").read()
    bad = tmp_path / "bad.tar"
    if kind == "garbage":
        bad.write_bytes(b"\x00garbage" * 1000)
    elif kind == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    else:
        bad.write_bytes(b"\0" * 10240)
    proc = bb.run("load", "-i", str(bad), expect=125)
    assert proc.err.startswith("Error: ") and proc.err.count("\n") == 1
    assert_store_unchanged(bb, before)


def tamper_layer(src: str, dst: str) -> None:
    """Copy a docker-archive, flipping one byte inside its layer's file data."""
    with tarfile.open(src) as t:
        members = [(m, t.extractfile(m).read() if m.isreg() else None) for m in t.getmembers()]
    with tarfile.open(dst, "w") as out:
        for m, data in members:
            if m.name.endswith(".tar"):
                inner = bytearray(data)
                inner[len(inner) // 2] ^= 0xFF
                data = bytes(inner)
            out.addfile(m, io.BytesIO(data) if data is not None else None)


def test_layer_digest_mismatch_leaves_nothing(otter, tmp_path):
    before = snapshot(otter)
    tampered = str(tmp_path / "tampered.tar")
    tamper_layer(BUSYBOX_ARCHIVE, tampered)
    proc = otter.run("load", "-i", tampered, expect=125)
    assert "does not match" in proc.err and proc.err.count("\n") == 1
    assert_store_unchanged(otter, before)


@pytest.mark.parametrize("ref", ["UPPER/case", "a:b:c", "bad name"])
def test_invalid_references(bb, ref):
    proc = bb.run("tag", "busybox", ref, expect=125)
    assert proc.err.startswith("Error: ") and "invalid reference format" in proc.err
    proc = bb.run("import", BUSYBOX_ROOTFS, ref, expect=125)
    assert bb.run("images", "-q").out.count("\n") == 1


def test_unknown_image(otter):
    proc = otter.run("save", "-o", "/dev/null", "nope", expect=125)
    assert proc.err == "Error: nope: image not known\n"
    otter.run("history", "nope", expect=125)


def test_unknown_flag_and_command(otter):
    proc = otter.run("images", "--bogus", expect=125)
    assert proc.err.startswith("Error: unknown flag: --bogus")
    proc = otter.run("frobnicate", expect=125)
    assert "unrecognized command" in proc.err


def test_failed_save_leaves_no_file(bb, tmp_path):
    target = tmp_path / "out.tar"
    bb.run("save", "-o", str(target), "busybox", "missing", expect=125)
    assert os.listdir(tmp_path) == [p for p in os.listdir(tmp_path) if not p.startswith(".otter-save")]
    assert not target.exists()


def test_concurrent_writers_do_not_corrupt_the_store(bb):
    def work(i):
        return bb.run("tag", "busybox", f"t{i}", expect=None).returncode, \
            bb.run("import", BUSYBOX_ROOTFS, f"imp{i}", expect=None).returncode
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(work, range(10)))
    assert all(r == (0, 0) for r in results)
    names = bb.run("images", "--format", "{{.Repository}}").out.split()
    assert sorted(n for n in names if "/t" in n) == sorted(f"localhost/t{i}" for i in range(10))
    assert sum(1 for n in names if "/imp" in n) == 10


# -- interop -------------------------------------------------------------------------------

skopeo = pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed")


@skopeo
@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_skopeo_reads_our_archives(bb, tmp_path, fmt):
    archive = str(tmp_path / "ours.tar")
    bb.run("save", "--format", fmt, "-o", archive, "busybox")
    info = json.loads(subprocess.run(["skopeo", "inspect", f"{fmt}:{archive}"], check=True,
                                     capture_output=True).stdout)
    ours = json.loads(bb.run("image", "inspect", "busybox").out)[0]
    assert info["Layers"] == ours["RootFS"]["Layers"] if fmt == "docker-archive" else len(info["Layers"]) == 1
    diff_ids = json.loads(subprocess.run(["skopeo", "inspect", "--config", f"{fmt}:{archive}"], check=True,
                                         capture_output=True).stdout)["rootfs"]["diff_ids"]
    assert diff_ids == ours["RootFS"]["Layers"]


@skopeo
@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_we_load_skopeo_archives(bb, tmp_path, fmt):
    ours = str(tmp_path / "ours.tar")
    theirs = str(tmp_path / "theirs.tar")
    bb.run("save", "-o", ours, "busybox")
    dest = f"{fmt}:{theirs}:" + ("docker.io/library/fromskopeo:1" if fmt == "docker-archive" else "localhost/fromskopeo:1")
    subprocess.run(["skopeo", "copy", "-q", f"docker-archive:{ours}", dest], check=True, capture_output=True)
    want = json.loads(bb.run("image", "inspect", "busybox").out)[0]
    bb.run("rmi", "busybox")
    out = bb.run("load", "-i", theirs).out
    name = "docker.io/library/fromskopeo:1" if fmt == "docker-archive" else "localhost/fromskopeo:1"
    assert name in out
    got = json.loads(bb.run("image", "inspect", name).out)[0]
    assert got["RootFS"]["Layers"] == want["RootFS"]["Layers"]
    assert got["Id"] == want["Id"]
