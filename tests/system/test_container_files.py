"""`cp`, `diff`, `commit` and `export` through the real CLI, on real runc, each test on its own store."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import tarfile

import pytest

from tests.conftest import ROOTLESS, Engine, mounts_under

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def box(bb):
    """The busybox store; afterwards every container is removed and nothing stays mounted."""
    yield bb
    bb.run("rm", "-f", "-a")
    assert mounts_under(bb.root) == []


@pytest.fixture(params=["overlay", "vfs"])
def any_driver(request, tmp_path):
    """A busybox store on each snapshotter (their diffs are computed differently)."""
    engine = Engine(str(tmp_path / "root"), str(tmp_path / "run"), request.param)
    engine.load_busybox()
    yield engine
    engine.run("rm", "-f", "-a")
    assert mounts_under(engine.root) == []


def tar_members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


# Owner of the host file as the container sees it: uid 1000 as root; rootless the user's own
# files (it cannot chown) appear as root inside its namespace.
HOST_OWNER = (0, 0) if ROOTLESS else (1000, 1000)


def host_tree(tmp_path):
    """A host file owned by HOST_OWNER and a directory with a subdirectory."""
    src = tmp_path / "src"
    (src / "dir/sub").mkdir(parents=True)
    (src / "file").write_text("hello\n")
    if not ROOTLESS:
        os.chown(src / "file", *HOST_OWNER)
    (src / "dir/sub/g").write_text("deep\n")
    os.chmod(src / "dir/sub/g", 0o640)
    return src


# -- cp -----------------------------------------------------------------------------------------

def test_cp_into_and_out_of_stopped_container(box, tmp_path):
    src = host_tree(tmp_path)
    box.run("run", "--name", "c", "busybox", "true")
    box.run("cp", str(src / "file"), "c:/tmp/")                   # into an existing directory
    box.run("cp", str(src / "file"), "c:/tmp/renamed")            # to a new name
    box.run("cp", str(src / "dir"), "c:/tmp/copy")                # a directory, created
    box.run("cp", str(src / "dir"), "c:/tmp/copy")                # again: now inside the existing one
    box.run("cp", str(src / "dir") + "/.", "c:/etc")              # the contents only
    box.run("cp", "--archive=false", str(src / "file"), "c:/kept-owner")
    listing = tar_members(box.run("cp", "c:/tmp", "-").stdout)
    assert {"tmp/file", "tmp/renamed", "tmp/copy/sub/g", "tmp/copy/dir/sub/g"} <= set(listing)
    assert (listing["tmp/file"].uid, listing["tmp/file"].gid) == (0, 0)      # --archive: the container's user
    assert listing["tmp/copy/sub/g"].mode == 0o640
    kept = tar_members(box.run("cp", "c:/kept-owner", "-").stdout)["kept-owner"]
    assert (kept.uid, kept.gid) == HOST_OWNER

    out = tmp_path / "out"
    out.mkdir()
    box.run("cp", "c:/etc/sub/g", str(out))                       # a file into a directory
    box.run("cp", "c:/tmp/copy", str(out / "tree"))               # a directory to a new name
    box.run("cp", "c:/etc/passwd", str(out / "pw"))
    assert (out / "g").read_text() == "deep\n"
    assert (out / "tree/sub/g").read_text() == "deep\n"
    assert os.stat(out / "tree/sub/g").st_mode & 0o777 == 0o640
    assert (out / "pw").read_text().startswith("root:")
    box.run("cp", "c:/etc/passwd", str(out / "pw"))                # an existing file is overwritten


def test_cp_running_container(box, tmp_path):
    src = host_tree(tmp_path)
    box.run("run", "-d", "--name", "r", "busybox", "sleep", "1000")
    box.run("cp", str(src / "file"), "r:/root/")
    assert box.run("exec", "r", "cat", "/root/file").out == "hello\n"
    box.run("exec", "r", "sh", "-c", "echo made-inside > /tmp/inside")
    box.run("cp", "r:/tmp/inside", str(tmp_path / "inside"))
    assert (tmp_path / "inside").read_text() == "made-inside\n"
    assert box.run("inspect", "--format", "{{.State.Status}}", "r").out == "running\n"


def test_cp_tar_on_stdin_and_stdout(box):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("a.txt", b"alpha"), ("nested/b.txt", b"beta")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    box.run("run", "--name", "c", "busybox", "true")
    box.run("cp", "-", "c:/tmp", input=buf.getvalue())
    box.run("cp", "-", "c:/root", input=gzip.compress(buf.getvalue()))
    out = box.run("cp", "c:/tmp/nested", "-").stdout
    members = tar_members(out)
    assert set(members) == {"nested", "nested/b.txt"}
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        assert tar.extractfile("nested/b.txt").read() == b"beta"
    assert "root/a.txt" in tar_members(box.run("cp", "c:/root", "-").stdout)
    err = box.run("cp", "-", "c:/tmp", input=b"not a tar archive" * 100, expect=125).err
    assert "source must be a (compressed) tar archive when copying from stdin" in err
    err = box.run("cp", "-", "c:/etc/passwd", input=buf.getvalue(), expect=125).err
    assert err == "Error: destination must be a directory when copying from stdin\n"


def test_cp_cannot_escape_through_container_symlinks(box, tmp_path):
    probe = f"otter-cp-probe-{os.getpid()}-{os.urandom(4).hex()}"
    (tmp_path / probe).write_text("probe\n")
    box.run("run", "--name", "c", "busybox", "sh", "-c",
            "ln -s /etc /x && ln -s ../../../../../../../etc /y && ln -s /etc/passwd /pw")
    box.run("cp", str(tmp_path / probe), "c:/x/")
    box.run("cp", str(tmp_path / probe), "c:/y/second")
    assert not os.path.exists(f"/etc/{probe}") and not os.path.exists("/etc/second")
    listing = tar_members(box.run("cp", "c:/etc", "-").stdout)
    assert f"etc/{probe}" in listing and "etc/second" in listing
    # Reading follows the link inside the container: its own passwd, not the host's.
    box.run("cp", "c:/pw", str(tmp_path / "pw"))
    assert (tmp_path / "pw").read_text() == tar_extract(box.run("cp", "c:/etc/passwd", "-").stdout, "passwd")
    with open("/etc/passwd") as host_passwd:
        assert (tmp_path / "pw").read_text() != host_passwd.read()


def tar_extract(data: bytes, name: str) -> str:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.extractfile(name).read().decode()


def test_cp_errors(box, tmp_path):
    src = host_tree(tmp_path)
    box.run("run", "--name", "c", "busybox", "mkdir", "/tmp/taken")
    err = box.run("cp", "c:/nonexist", str(tmp_path), expect=125).err
    assert err == "Error: \"/nonexist\" could not be found on container c: no such file or directory\n"
    err = box.run("cp", str(tmp_path / "nope"), "c:/tmp", expect=125).err
    assert err == f"Error: \"{tmp_path / 'nope'}\" could not be found on the host: no such file or directory\n"
    err = box.run("cp", str(src / "file"), "c:/no/such/dir/file", expect=125).err
    assert err == "Error: \"/no/such/dir\" could not be found on container c: no such file or directory\n"
    err = box.run("cp", "c:/etc/passwd", str(tmp_path / "missing" / "file"), expect=125).err
    assert "could not be found on the host" in err
    assert "you must use just one container" in box.run("cp", str(src), str(tmp_path / "x"), expect=125).err
    assert "you must use just one container" in box.run("cp", "c:/etc", "c:/tmp", expect=125).err
    err = box.run("cp", str(src / "dir"), "c:/etc/passwd", expect=125).err
    assert err == "Error: destination must be a directory when copying a directory\n"
    # A file does not replace a directory unless asked to.
    (tmp_path / "taken").write_text("file now\n")
    err = box.run("cp", str(tmp_path / "taken"), "c:/tmp/", expect=125).err
    assert "cannot overwrite directory \"/tmp/taken\" with non-directory" in err
    box.run("cp", "--overwrite", str(tmp_path / "taken"), "c:/tmp/")
    assert tar_members(box.run("cp", "c:/tmp/taken", "-").stdout)["taken"].isreg()
    box.run("cp", "nosuchcontainer:/etc", str(tmp_path), expect=125)


# -- diff ---------------------------------------------------------------------------------------

def test_diff_lists_added_changed_deleted(any_driver):
    eng = any_driver
    eng.run("run", "--name", "fresh", "busybox", "true")
    assert eng.run("diff", "fresh").out == ""          # the mount points otter makes are not changes
    eng.run("run", "--name", "c", "busybox", "sh", "-c", "echo a > /added; echo extra >> /etc/passwd; rm /bin/ls")
    assert eng.run("diff", "c").out.splitlines() == ["A /added", "C /bin", "D /bin/ls", "C /etc", "C /etc/passwd"]
    assert json.loads(eng.run("diff", "--format", "json", "c").out) == {
        "changed": ["/bin", "/etc", "/etc/passwd"], "added": ["/added"], "deleted": ["/bin/ls"]}
    assert eng.run("container", "diff", "c").out == eng.run("diff", "c").out
    assert "A /bin/busybox" in eng.run("diff", "busybox").out.splitlines()
    assert eng.run("diff", "--format", "{{.Path}}", "c", expect=125).err == \
        "Error: only supported value for '--format' is 'json'\n"
    eng.run("diff", "nothing-called-this", expect=125)


def test_diff_of_deleted_and_recreated_directory(box):
    box.run("run", "--name", "c", "busybox", "sh", "-c", "rm -rf /home; mkdir /home; touch /home/new")
    assert box.run("diff", "c").out.splitlines() == ["C /home", "D /home/user", "A /home/new"]


# -- commit ---------------------------------------------------------------------------------------

def test_commit_then_run_the_image(any_driver):
    eng = any_driver
    eng.run("run", "--name", "c", "busybox", "sh", "-c", "echo committed > /hello; rm /etc/group")
    iid = eng.run("commit", "c", "snap").out.strip()
    assert HEX64.match(iid)
    assert eng.run("run", "--rm", "snap", "cat", "/hello").out == "committed\n"
    assert eng.run("run", "--rm", "snap", "ls", "/etc/group", expect=1).returncode == 1
    assert eng.run("diff", "snap").out.splitlines() == ["C /etc", "D /etc/group", "A /hello"]
    info = json.loads(eng.run("image", "inspect", "snap").out)[0]
    assert info["Id"] == iid and info["RepoTags"] == ["localhost/snap:latest"]
    assert info["Config"]["Cmd"] == ["sh", "-c", "echo committed > /hello; rm /etc/group"]
    assert len(info["RootFS"]["Layers"]) == 2 and len(info["History"]) == 2


def test_commit_options(box):
    box.run("run", "--name", "c", "-e", "FOO=bar", "busybox", "sh", "-c", "echo x > /x")
    iid = box.run("commit", "-q", "-c", 'CMD=["echo", "from-change"]', "-c", "LABEL stage=test",
                  "-m", "a message", "-a", "Someone <s@example.com>", "c", "changed:v1").out.strip()
    assert HEX64.match(iid)
    assert box.run("run", "--rm", "changed:v1").out == "from-change\n"
    info = json.loads(box.run("image", "inspect", "changed:v1").out)[0]
    assert info["Author"] == "Someone <s@example.com>" and info["Comment"] == "a message"
    assert info["Labels"] == {"stage": "test"} and "FOO=bar" in info["Config"]["Env"]
    assert info["ManifestType"] == "application/vnd.oci.image.manifest.v1+json"
    docker = box.run("commit", "--format", "docker", "c", "as-docker").out.strip()
    assert json.loads(box.run("image", "inspect", docker).out)[0]["ManifestType"] == \
        "application/vnd.docker.distribution.manifest.v2+json"
    assert box.run("run", "--rm", "as-docker", "cat", "/x").out == "x\n"
    box.run("commit", "--format", "tarball", "c", expect=125)
    box.run("commit", "-c", "BOGUS x", "c", expect=125)


def test_commit_without_changes_adds_no_layer(box):
    box.run("run", "--name", "c", "busybox", "true")
    dangling = box.run("commit", "c").out.strip()
    base = json.loads(box.run("image", "inspect", "busybox").out)[0]
    info = json.loads(box.run("image", "inspect", dangling).out)[0]
    assert info["RootFS"]["Layers"] == base["RootFS"]["Layers"]
    assert info["History"][-1]["empty_layer"] is True and info["RepoTags"] == []


def test_commit_running_container_pauses_and_resumes(box):
    box.run("run", "-d", "--name", "r", "busybox", "sh", "-c", "echo live > /live; sleep 1000")
    box.run("exec", "r", "true")   # the write above has happened once exec can run
    box.run("commit", "r", "live")
    assert box.run("inspect", "--format", "{{.State.Status}}", "r").out == "running\n"
    assert box.run("run", "--rm", "live", "cat", "/live").out == "live\n"
    box.run("commit", "--pause=false", "r", "live2")


# -- export ---------------------------------------------------------------------------------------

def test_export(box, tmp_path):
    box.run("run", "--name", "c", "busybox", "sh", "-c", "echo e > /exported")
    target = tmp_path / "c.tar"
    box.run("export", "-o", str(target), "c")
    with tarfile.open(target) as tar:
        names = set(tar.getnames())
        assert tar.extractfile("exported").read() == b"e\n"
    assert {"bin/busybox", "etc/passwd", "exported"} <= names
    with open(tmp_path / "stdout.tar", "wb") as f:
        subprocess.run(box.base + ["export", "c"], stdout=f, check=True)
    with tarfile.open(tmp_path / "stdout.tar") as tar:
        assert "bin/busybox" in tar.getnames()
    box.run("export", "-o", str(tmp_path / "none.tar"), "nosuch", expect=125)
    assert not os.path.exists(tmp_path / "none.tar")


def test_export_refuses_a_terminal(box):
    box.run("run", "--name", "c", "busybox", "true")
    primary, secondary = os.openpty()
    try:
        proc = subprocess.run(box.base + ["export", "c"], stdout=secondary, stderr=subprocess.PIPE, timeout=60,
                              check=False)
    finally:
        os.close(primary)
        os.close(secondary)
    assert proc.returncode == 125
    assert proc.stderr.decode() == "Error: refusing to export to terminal. Use -o flag or redirect\n"
